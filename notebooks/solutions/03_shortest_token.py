# Solution: Vonage accepts a token whose exp is at least 30 s after its iat.
now = int(time.time())
short = jwt.encode({"application_id": tut.settings.application_id, "iat": now, "jti": str(uuid.uuid4()),
                    "exp": now + 30},
                   load_private_key(tut.settings.private_key_path), algorithm="RS256")
tutorial.try_request(tut, tut.client.request_for("send_workflow", {}), what="Dispatch with the short token",
                     bearer=short)
