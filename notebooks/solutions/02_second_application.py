# Solution: the status URL is the receiver's, so Vonage's status webhooks reach this notebook.
staging = tut.client.create_application(application_body(
    "FB failover staging",
    inbound_url=tut.receiver.inbound_url,
    status_url=tut.receiver.status_url,
))
staging["name"], staging["capabilities"]["messages"]["webhooks"]["status_url"]
