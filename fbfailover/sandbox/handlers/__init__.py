"""Request handlers, one module per API: dispatch, messages, applications, account, and the sandbox's own
control, inspection and OpenAPI endpoints under ``/_sandbox/``."""
