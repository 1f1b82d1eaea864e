# Solution: one path pattern, for Dispatch only; the Messages API now answers 403.
acl = {"paths": {"/*/dispatch/**": {}}}
narrow = tutorial.mint_token(tut, acl=acl)
tutorial.try_request(tut, tut.client.request_for("send_message_v01", {}),
                     what="Messages with the narrow token", bearer=narrow["token"])
