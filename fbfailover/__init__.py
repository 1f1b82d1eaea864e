"""fbfailover: send a Facebook Messenger message that fails over to SMS, with Vonage's Dispatch API.

The public names below are imported on first use, so ``import fbfailover`` stays quick, does no I/O and
loads neither the HTTP stack nor the crypto library until they are needed. The sandbox, the webhook
receiver and the widgets are subpackages: ``fbfailover.sandbox``, ``fbfailover.webhooks``,
``fbfailover.widgets``.
"""

# Private aliases only: every public name of this module is listed in __all__ (a test checks it).
import importlib as _importlib
import typing as _typing

from .errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    EncryptedKeyError,
    FbfailoverError,
    ForbiddenError,
    KeyExistsError,
    KeyFileError,
    KeyNotFoundError,
    MethodNotAllowedError,
    NotAKeyError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    SandboxError,
    ServerError,
    SignatureError,
    TokenError,
    TransportError,
    UncertainOutcomeError,
    UncertainServerError,
    UncertainTransportError,
    UnprocessableEntityError,
    UnsignedWebhookError,
    UnsupportedMediaTypeError,
    ValidationError,
    WaitTimeout,
    error_for_status,
)

__version__ = "0.1.0"

# public name -> module that defines it (imported lazily by __getattr__)
_LAZY = {
    "DEFAULT_RECEIVER_PORT": "config", "ENV_NAMES": "config", "Settings": "config", "data_dir": "config",
    "describe_api_url": "config", "find_env_file": "config",
    "is_loopback_url": "config", "is_setting": "config", "load_settings": "config", "project_dir": "config",
    "update_env_file": "config", "MAX_ATTENDEE_NAME": "config", "check_attendee_name": "config",
    "display_name": "config", "LINE_SEPARATORS": "config", "check_env_update": "config",
    "env_value_problem": "config",
    "generate_private_key": "keys", "load_private_key": "keys", "private_pem": "keys", "public_pem": "keys",
    "save_private_key": "keys",
    "MAX_TTL": "tokens", "MIN_TTL": "tokens", "basic_auth_header": "tokens", "decode_for_display": "tokens",
    "mint_application_jwt": "tokens", "verify_application_jwt": "tokens",
    "CONDITION_STATUSES": "validation", "DISPATCH_CHANNELS": "validation", "TEXT_LIMITS": "validation",
    "V1_CHANNELS": "validation", "validate_message_v1": "validation", "validate_phone_number": "validation",
    "validate_workflow": "validation",
    "DEFAULT_TEXT_MESSENGER": "payloads", "DEFAULT_TEXT_SMS": "payloads", "Request": "payloads",
    "WEBHOOK_VERSION": "payloads",
    "account_settings_body": "payloads", "application_body": "payloads", "failover_condition": "payloads",
    "failover_workflow": "payloads", "message_v01": "payloads", "message_v1": "payloads",
    "messenger_item": "payloads", "sms_item": "payloads", "to_curl": "payloads",
    "tutorial_workflow": "payloads",
    "RETRY_STATUSES": "client", "VonageClient": "client",
}

__all__ = [
    "CONDITION_STATUSES",
    "DEFAULT_RECEIVER_PORT",
    "DEFAULT_TEXT_MESSENGER",
    "DEFAULT_TEXT_SMS",
    "DISPATCH_CHANNELS",
    "ENV_NAMES",
    "LINE_SEPARATORS",
    "MAX_ATTENDEE_NAME",
    "MAX_TTL",
    "MIN_TTL",
    "RETRY_STATUSES",
    "TEXT_LIMITS",
    "V1_CHANNELS",
    "WEBHOOK_VERSION",
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "EncryptedKeyError",
    "FbfailoverError",
    "ForbiddenError",
    "KeyExistsError",
    "KeyFileError",
    "KeyNotFoundError",
    "MethodNotAllowedError",
    "NotAKeyError",
    "NotFoundError",
    "PaymentRequiredError",
    "RateLimitError",
    "Request",
    "SandboxError",
    "ServerError",
    "Settings",
    "SignatureError",
    "TokenError",
    "TransportError",
    "UncertainOutcomeError",
    "UncertainServerError",
    "UncertainTransportError",
    "UnprocessableEntityError",
    "UnsignedWebhookError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "VonageClient",
    "WaitTimeout",
    "__version__",
    "account_settings_body",
    "application_body",
    "basic_auth_header",
    "check_attendee_name",
    "check_env_update",
    "data_dir",
    "decode_for_display",
    "describe_api_url",
    "display_name",
    "env_value_problem",
    "error_for_status",
    "failover_condition",
    "failover_workflow",
    "find_env_file",
    "generate_private_key",
    "is_loopback_url",
    "is_setting",
    "load_private_key",
    "load_settings",
    "message_v01",
    "message_v1",
    "messenger_item",
    "mint_application_jwt",
    "private_pem",
    "project_dir",
    "public_pem",
    "save_private_key",
    "sms_item",
    "to_curl",
    "tutorial_workflow",
    "update_env_file",
    "validate_message_v1",
    "validate_phone_number",
    "validate_workflow",
    "verify_application_jwt",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fbfailover' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if _typing.TYPE_CHECKING:  # let type checkers and IDEs see the lazy names
    from .client import RETRY_STATUSES, VonageClient
    from .config import (
        DEFAULT_RECEIVER_PORT,
        ENV_NAMES,
        LINE_SEPARATORS,
        MAX_ATTENDEE_NAME,
        Settings,
        check_attendee_name,
        check_env_update,
        data_dir,
        describe_api_url,
        display_name,
        env_value_problem,
        find_env_file,
        is_loopback_url,
        is_setting,
        load_settings,
        project_dir,
        update_env_file,
    )
    from .keys import generate_private_key, load_private_key, private_pem, public_pem, save_private_key
    from .payloads import (
        DEFAULT_TEXT_MESSENGER,
        DEFAULT_TEXT_SMS,
        WEBHOOK_VERSION,
        Request,
        account_settings_body,
        application_body,
        failover_condition,
        failover_workflow,
        message_v01,
        message_v1,
        messenger_item,
        sms_item,
        to_curl,
        tutorial_workflow,
    )
    from .tokens import (
        MAX_TTL,
        MIN_TTL,
        basic_auth_header,
        decode_for_display,
        mint_application_jwt,
        verify_application_jwt,
    )
    from .validation import (
        CONDITION_STATUSES,
        DISPATCH_CHANNELS,
        TEXT_LIMITS,
        V1_CHANNELS,
        validate_message_v1,
        validate_phone_number,
        validate_workflow,
    )
