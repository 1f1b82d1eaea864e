# Solution: only a failed *last* message ends a workflow in error.
tut.sandbox.set_recipient("sms", "447700900001", "undeliverable")
tut.send("POST", "/v0.1/dispatch", body).final_report["status"]
