# Solution: the first message's expiry_time decides when the SMS follows.
body_30 = failover_workflow([
    messenger_item(tut.settings.fb_sender_id, tut.settings.fb_recipient_id, "Hello again on Messenger.",
                   failover=failover_condition(expiry_time=30, condition_status="read")),
    sms_item("447700900000", "447700900001", "Hello again by SMS."),
])
tut.send("POST", "/v0.1/dispatch", body_30).submissions()
