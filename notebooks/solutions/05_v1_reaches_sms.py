# Solution: v1 fails over only when a message is rejected (not when it is undeliverable).
tut.sandbox.set_recipient("messenger", tut.settings.fb_recipient_id, "rejected")
tut.send("POST", "/v1/messages", body).submissions()
