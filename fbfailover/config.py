"""Settings: read once from the environment and a ``.env`` file, then passed around as a value.

Precedence, highest first: the process environment, then the ``.env`` file; within one source the
``VONAGE_*`` name wins over its seed-era ``NEXMO_*`` twin. Empty values count as unset. The ``.env``
file is ``FBFAILOVER_ENV_FILE`` when that is set, otherwise the first ``.env`` found walking up from
the current folder (a kernel starts in ``notebooks/`` and still finds the project's file).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .errors import ConfigError

__all__ = [
    "DEFAULT_RECEIVER_PORT",
    "ENV_NAMES",
    "LINE_SEPARATORS",
    "MAX_ATTENDEE_NAME",
    "Settings",
    "check_attendee_name",
    "check_env_update",
    "data_dir",
    "describe_api_url",
    "display_name",
    "env_value_problem",
    "find_env_file",
    "is_loopback_url",
    "is_setting",
    "load_settings",
    "project_dir",
    "update_env_file",
]

DEFAULT_API_URL = "https://api.nexmo.com"
DEFAULT_REST_URL = "https://rest.nexmo.com"
#: The port of the live-mode receiver: the one the Vonage tutorials tunnel to (``ngrok http 3000``).
DEFAULT_RECEIVER_PORT = 3000
# The hosts of Vonage's own APIs (and of their seed-era nexmo names).
_VONAGE_DOMAINS = ("nexmo.com", "vonage.com")

#: Settings field -> environment names, the preferred name first.
ENV_NAMES: dict[str, tuple[str, ...]] = {
    "api_key": ("VONAGE_API_KEY", "NEXMO_API_KEY"),
    "api_secret": ("VONAGE_API_SECRET", "NEXMO_API_SECRET"),
    "application_id": ("VONAGE_APPLICATION_ID", "NEXMO_APPLICATION_ID"),
    "private_key_path": ("VONAGE_PRIVATE_KEY_PATH", "NEXMO_PRIVATE_KEY_PATH"),
    "signature_secret": ("VONAGE_SIGNATURE_SECRET", "NEXMO_SIGNATURE_SECRET"),
    "from_number": ("FROM_NUMBER",),
    "to_number": ("TO_NUMBER",),
    "fb_sender_id": ("FB_SENDER_ID",),
    "fb_recipient_id": ("FB_RECIPIENT_ID",),
    "api_url": ("VONAGE_API_URL",),
    "rest_url": ("VONAGE_REST_URL",),
    "sandbox_url": ("FBFAILOVER_SANDBOX_URL",),
    "workshop_token": ("FBFAILOVER_WORKSHOP_TOKEN",),
    "public_url": ("FBFAILOVER_PUBLIC_URL",),
    "receiver_port": ("FBFAILOVER_RECEIVER_PORT",),
    "attendee_name": ("FBFAILOVER_ATTENDEE_NAME",),
}
_SECRETS = ("api_secret", "signature_secret", "workshop_token")
_ALL_NAMES = frozenset(name for names in ENV_NAMES.values() for name in names)


def is_setting(name: str) -> bool:
    """True for every environment name fbfailover reads (``ENV_NAMES`` and the ``FBFAILOVER_*`` paths).

    Used to run something with none of the caller's settings (tests, the notebooks' clean runs).
    """
    return name in _ALL_NAMES or name.startswith("FBFAILOVER_")
# A project root ends the upward search so a stray ~/.env of another project is never picked up.
_ROOT_MARKERS = ("pyproject.toml", ".git")


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything fbfailover needs to talk to Vonage or to the sandbox; immutable, so it travels safely."""

    api_key: str | None = None
    api_secret: str | None = None
    application_id: str | None = None
    private_key_path: str | None = None
    signature_secret: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    fb_sender_id: str | None = None
    fb_recipient_id: str | None = None
    api_url: str = DEFAULT_API_URL
    rest_url: str = DEFAULT_REST_URL
    sandbox_url: str | None = None
    workshop_token: str | None = None
    public_url: str | None = None
    receiver_port: int = DEFAULT_RECEIVER_PORT
    #: The name a workshop's dashboard shows for this learner (shown to a room: checked by ``_check_name``).
    attendee_name: str | None = None
    env_file: Path | None = None
    #: True when VONAGE_API_URL or VONAGE_REST_URL was set: whatever address it names is where requests go.
    explicit_api_url: bool = False

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            shown = _mask(value) if f.name in _SECRETS and value else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"Settings({', '.join(parts)})"

    def replace(self, **changes: object) -> Settings:
        """Return a copy with some fields changed (the instance itself never changes).

        Raises:
            TypeError: when a name is not a field of Settings.
        """
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def require(self, *field_names: str) -> Settings:
        """Check that the named fields are set and return self, so calls can be chained.

        Raises:
            ConfigError: naming the environment variable of every missing field.
        """
        unknown = [n for n in field_names if n not in ENV_NAMES]
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        missing = [ENV_NAMES[n][0] for n in field_names if not getattr(self, n)]
        if missing:
            where = f"in {self.env_file}" if self.env_file else "in a .env file"
            them = "it" if len(missing) == 1 else "them"
            raise ConfigError(f"missing setting {', '.join(missing)}: set {them} {where} or in the "
                              f"environment (every setting is described in .env.example)")
        return self

    @property
    def has_live_credentials(self) -> bool:
        """True when an API key and secret are set for an API the learner chose.

        That is Vonage's (the default), or any URL set explicitly with ``VONAGE_API_URL``/``VONAGE_REST_URL``
        — a local mock, a recording proxy or a standalone sandbox is honoured, never replaced by the embedded
        sandbox. A loopback API URL that was not set explicitly (a ``Settings`` built in code) does not count.
        """
        return bool(self.api_key and self.api_secret) and (self.explicit_api_url or not is_loopback_url(self.api_url))


def _mask(secret: str) -> str:
    # Two characters are enough to tell two secrets apart and too few to be of use to anyone else.
    return "'***'" if len(secret) < 8 else f"'{secret[:2]}…'"


def is_loopback_url(url: str) -> bool:
    """Return True when ``url`` points at this machine (localhost, 127.0.0.0/8, ::1)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_url(url: str) -> bool:
    """Return True when ``url`` points at this machine or a private network (loopback, RFC 1918, link-local)."""
    if is_loopback_url(url):
        return True
    host = (urlsplit(url).hostname or "").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.endswith((".local", ".internal", ".lan"))
    return address.is_private or address.is_link_local


def is_vonage_url(url: str) -> bool:
    """Return True when ``url``'s host is Vonage's (``*.nexmo.com``, ``*.vonage.com``)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in _VONAGE_DOMAINS)


def describe_api_url(url: str) -> str:
    """Say in a few words what answers at ``url``: Vonage, a local address, or another server.

    Returns:
        ``"Vonage's live API — real messages, real money"``, ``"a local address — not Vonage"`` or
        ``"a server that is not Vonage's"``.
    """
    if is_vonage_url(url):
        return "Vonage's live API — real messages, real money"
    if is_local_url(url):
        return "a local address — not Vonage"
    return "a server that is not Vonage's"


def find_env_file(start: str | os.PathLike[str] | None = None) -> Path | None:
    """Find the nearest ``.env`` walking up from ``start`` (default: the current folder).

    The walk stops at the first folder holding ``pyproject.toml`` or ``.git`` (the project root).

    Returns:
        The path of the file, or None when there is none.
    """
    folder = Path(start or os.getcwd()).resolve()
    for candidate in (folder, *folder.parents):
        env = candidate / ".env"
        if env.is_file():
            return env
        if any((candidate / m).exists() for m in _ROOT_MARKERS):
            return None
    return None


def explicit_env_file(environ: Mapping[str, str]) -> Path | None:
    """The .env named by FBFAILOVER_ENV_FILE (even if it does not exist yet), else None."""
    explicit = environ.get("FBFAILOVER_ENV_FILE")
    return Path(explicit).expanduser().resolve() if explicit else None


def _env_file_path(environ: Mapping[str, str], cwd: str | os.PathLike[str] | None) -> Path | None:
    """The .env to use: FBFAILOVER_ENV_FILE (even if missing) or the one found upward."""
    return explicit_env_file(environ) or find_env_file(cwd)


def _project_root(start: str | os.PathLike[str] | None) -> Path | None:
    folder = Path(start or os.getcwd()).resolve()
    return next((p for p in (folder, *folder.parents) if (p / "pyproject.toml").is_file()), None)


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | os.PathLike[str] | None = None,
                  cwd: str | os.PathLike[str] | None = None) -> Settings:
    """Build Settings from the environment and the ``.env`` file (never modifies ``os.environ``).

    Args:
        environ: the environment to read; ``os.environ`` by default.
        env_file: an explicit ``.env`` path; default ``FBFAILOVER_ENV_FILE`` or the search up from ``cwd``.
        cwd: where the upward search starts and what relative paths from the environment are relative to.

    Returns:
        The Settings; ``env_file`` is the file that was read, or None.

    Raises:
        ConfigError: when a URL setting is not an absolute http(s) URL.
    """
    environ = os.environ if environ is None else environ
    path = Path(env_file).expanduser().resolve() if env_file else _env_file_path(environ, cwd)
    file_values = {k: v for k, v in dotenv_values(path).items() if v} if path and path.is_file() else {}
    values: dict[str, object] = {}
    for field, names in ENV_NAMES.items():
        from_env = next((environ[n] for n in names if environ.get(n)), None)
        from_file = next((file_values[n] for n in names if file_values.get(n)), None)
        value = from_env if from_env is not None else from_file
        if value is None:
            continue
        value = value.strip()
        if field == "private_key_path":
            # A path written in .env means "next to this file"; one from the environment, "from where I am".
            base = path.parent if from_env is None and path else Path(cwd or os.getcwd())
            value = str((base / Path(value).expanduser()).resolve())
        elif field.endswith("_url"):
            value = _check_url(names[0], value)
        elif field == "receiver_port":
            value = _check_port(names[0], value)
        elif field == "attendee_name":
            value = check_attendee_name(value, names[0])
        values[field] = value
    explicit = "api_url" in values or "rest_url" in values
    # Without an explicit API URL, a configured sandbox is where both API hosts live.
    sandbox = values.get("sandbox_url")
    if sandbox:
        values.setdefault("api_url", sandbox)
        values.setdefault("rest_url", sandbox)
    return Settings(**values, env_file=path if path and path.is_file() else None,  # type: ignore[arg-type]
                    explicit_api_url=explicit)


#: The longest attendee name, in characters (the sandbox's dashboard applies the same bound).
MAX_ATTENDEE_NAME = 40


def display_name(value: object) -> str:
    """A display name as a workshop's dashboard shows it: spaces collapsed, 1 to ``MAX_ATTENDEE_NAME`` printable
    characters (the one rule of the setting, the join request and the sandbox's ``PUT /_sandbox/attendee``).

    Raises:
        ValueError: with a sentence that says what is wrong.
    """
    if not isinstance(value, str):
        raise ValueError("must be a string")
    name = " ".join(value.split())
    if not name:
        raise ValueError("must not be empty")
    if len(name) > MAX_ATTENDEE_NAME:
        raise ValueError(f"must be at most {MAX_ATTENDEE_NAME} characters")
    if not name.isprintable():
        raise ValueError("must hold printable characters only")
    return name


def check_attendee_name(value: str, name: str = "FBFAILOVER_ATTENDEE_NAME") -> str:
    """``display_name`` for a setting.

    Raises:
        ConfigError: naming the setting and what is wrong with the value.
    """
    try:
        return display_name(value)
    except ValueError as exc:
        raise ConfigError(f"{name} {exc} (the name a workshop's dashboard shows), got {value[:60]!r} "
                          f"(see .env.example)") from exc


def _check_port(name: str, value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"{name} must be a TCP port number between 1 and 65535, got {value!r} (see .env.example)")
    return int(value)


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as https://api.nexmo.com, got {value!r}"
                          f" (see .env.example)")
    return value.rstrip("/")


def project_dir(settings: Settings | None = None, cwd: str | os.PathLike[str] | None = None) -> Path:
    """Return the project folder: that of the ``.env``, else the one holding pyproject.toml, else cwd."""
    if settings is not None and settings.env_file is not None:
        return settings.env_file.parent
    return _project_root(cwd) or Path(cwd or os.getcwd()).resolve()


def data_dir(environ: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None) -> Path:
    """Return where local data lives (the project's sandbox: database, state, log; receiver logs); not created here.

    Returns:
        ``FBFAILOVER_DATA_DIR`` when set, else ``<project folder>/.fbfailover`` (ignored by git).
    """
    environ = os.environ if environ is None else environ
    if environ.get("FBFAILOVER_DATA_DIR"):
        return Path(environ["FBFAILOVER_DATA_DIR"]).expanduser().resolve()
    env = _env_file_path(environ, cwd)
    base = env.parent if env else _project_root(cwd) or Path(cwd or os.getcwd()).resolve()
    return base / ".fbfailover"


_SAFE_VALUE = re.compile(r"[A-Za-z0-9_./:@+\-,~%=]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
#: Every character ``str.splitlines`` ends a line at: none of them may be written into a ``.env`` value.
LINE_SEPARATORS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
# How python-dotenv splits a file into lines: the file is read back the same way, so a character it keeps
# inside a line (a form feed, U+2028...) is never turned into a new line here.
_DOTENV_LINES = re.compile(r"\r\n|\n|\r")
# The settings whose values load_settings checks: checked the same way before they are written.
_CHECKED_NAMES = {name: field for field, names in ENV_NAMES.items() for name in names
                  if field.endswith("_url") or field in ("receiver_port", "attendee_name")}


def env_value_problem(value: object) -> str | None:
    """Why ``value`` cannot be written as a ``.env`` value, or None.

    A value is one line of printable text: a line separator of any kind ``str.splitlines`` honours (``\\n``,
    ``\\r``, ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``, ``\\x85``, U+2028, U+2029) or any other control character would
    let a value end its line and start another setting, so it is refused rather than escaped.
    """
    if not isinstance(value, str):
        return f"must be text, got {type(value).__name__}"
    for char in value:
        if char in LINE_SEPARATORS:
            return f"holds a line separator (U+{ord(char):04X}): a value is one line"
        if not (char.isprintable() or char == "\t"):
            return f"holds a control character (U+{ord(char):04X})"
    return None


def check_env_update(name: str, value: str | None) -> str | None:
    """Check one ``.env`` update before anything is written: the name, then the value.

    The value must be one line (``env_value_problem``); a URL, the receiver port and the attendee name must also
    pass the check ``load_settings`` applies to them, so a saved file always loads.

    Returns:
        The value as it will be written (None removes the name).

    Raises:
        ConfigError: naming the setting and what is wrong (nothing is written).
    """
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise ConfigError(f"{str(name)[:60]!r} is not a setting name (letters, digits, _ and ., not starting "
                          "with a digit): nothing was saved")
    if value is None:
        return None
    problem = env_value_problem(value)
    if problem is not None:
        raise ConfigError(f"{name} {problem}, got {str(value)[:60]!r}: nothing was saved to .env")
    field = _CHECKED_NAMES.get(name)
    if field is not None and field.endswith("_url"):
        _check_url(name, value.strip())
    elif field == "receiver_port":
        _check_port(name, value.strip())
    elif field == "attendee_name":
        check_attendee_name(value, name)
    return value


def _format_value(value: str) -> str:
    """``value`` as written after ``NAME=``: as it is when plain, else double-quoted (one line: checked before)."""
    if _SAFE_VALUE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def update_env_file(updates: Mapping[str, str | None], path: str | os.PathLike[str] | None = None, *,
                    environ: Mapping[str, str] | None = None) -> Path:
    """Set or remove keys in a ``.env`` file, keeping every other line and comment as it was.

    Every update is checked first (``check_env_update``): a value holding a line separator, or a URL or port
    ``load_settings`` would refuse, raises ``ConfigError`` and the file is left as it was. The file is written
    atomically with mode 0600 (it holds secrets), creating it when missing.

    Args:
        updates: name -> new value; None removes the name.
        path: the file; default ``FBFAILOVER_ENV_FILE``, else the ``.env`` found upward, else ``./.env``.
        environ: where ``FBFAILOVER_ENV_FILE`` is looked up; ``os.environ`` by default.

    Returns:
        The path written.

    Raises:
        ConfigError: when a name or value is refused (nothing is written).
    """
    pending = {name: check_env_update(name, value) for name, value in updates.items()}
    environ = os.environ if environ is None else environ
    target = Path(path) if path else _env_file_path(environ, None) or Path.cwd() / ".env"
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    lines = _DOTENV_LINES.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    done: set[str] = set()
    out: list[str] = []
    for line in lines:
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=", line)
        name = match.group(1) if match else None
        if name is None or name not in pending:
            out.append(line)
            continue
        if name not in done and pending[name] is not None:
            out.append(f"{name}={_format_value(pending[name])}")  # type: ignore[arg-type]
        done.add(name)  # later duplicates of an updated name are dropped
    out.extend(f"{k}={_format_value(v)}" for k, v in pending.items() if k not in done and v is not None)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".env.", suffix=".tmp")  # mkstemp uses mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(out) + ("\n" if out else ""))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(target, 0o600)
    return target
