"""RSA keys of a Vonage application: generate, save (mode 0600), load, and export as PEM.

An application's private key signs its JWTs; Vonage keeps only the public half. Keys here are never
encrypted because Vonage's own generated keys are not, and the tutorial tools expect plain PEM.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from .errors import EncryptedKeyError, KeyExistsError, KeyNotFoundError, NotAKeyError

__all__ = [
    "generate_private_key",
    "load_private_key",
    "private_pem",
    "public_pem",
    "save_private_key",
]

_PEM_MARKER = "-----BEGIN"


def generate_private_key() -> rsa.RSAPrivateKey:
    """Generate a new RSA-2048 private key, the kind Vonage generates for an application.

    Returns:
        The key object; use ``public_pem`` to get the half Vonage needs.
    """
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    """Return the private key as unencrypted PKCS#8 PEM text, for saving to a file.

    Never print or log this text: anyone holding it can act as the application.
    """
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """Return the public key as SubjectPublicKeyInfo PEM text (``-----BEGIN PUBLIC KEY-----``).

    Args:
        key: a private key (its public half is exported) or a public key.
    """
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def save_private_key(key: rsa.RSAPrivateKey | str | bytes, path: str | os.PathLike[str], *,
                     overwrite: bool = False) -> Path:
    """Write a private key to ``path`` readable by its owner only (mode 0600).

    The file is created with its final mode in one step (``O_CREAT | O_EXCL``), so the key is never
    readable by others, not even for a moment.

    Args:
        key: a key object, or PEM text as returned by the Applications API (``keys.private_key``).
        path: where to write.
        overwrite: replace an existing file instead of refusing.

    Returns:
        The path written.

    Raises:
        KeyExistsError: when the file exists and ``overwrite`` is false.
        NotAKeyError: when ``key`` is text that is not a PEM private key.
    """
    if isinstance(key, (str, bytes)):
        text = key.decode("ascii", "replace") if isinstance(key, bytes) else key
        if "PRIVATE KEY-----" not in text:
            raise NotAKeyError("refusing to save: the text is not a PEM private key")
        data = text.encode("ascii") if text.endswith("\n") else (text + "\n").encode("ascii")
    else:
        data = private_pem(key).encode("ascii")
    target = Path(path).expanduser()
    if overwrite and target.exists():
        target.unlink()
    try:
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError as exc:
        raise KeyExistsError(f"{target} already exists; refusing to overwrite a private key "
                             f"(choose another file or pass overwrite=True)") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(target, 0o600)  # the umask may have removed bits we never asked for, never added any
    return target


def load_private_key(path_or_pem: str | bytes | os.PathLike[str]) -> rsa.RSAPrivateKey:
    """Load an RSA private key from a file path or from PEM text.

    Args:
        path_or_pem: a path, or the PEM itself (str or bytes starting with ``-----BEGIN``).

    Returns:
        The RSA private key.

    Raises:
        KeyNotFoundError: the file does not exist.
        EncryptedKeyError: the key is protected by a passphrase.
        NotAKeyError: the text is not a PEM RSA private key.
    """
    if is_pem(path_or_pem):
        data = path_or_pem if isinstance(path_or_pem, bytes) else path_or_pem.encode("ascii", "replace")
        source = "the PEM text"
    else:
        path = Path(os.fsdecode(path_or_pem)).expanduser()
        source = str(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise key_not_found(path) from exc
        except IsADirectoryError as exc:
            raise NotAKeyError(f"{path} is a folder, not a private key file") from exc
    return _parse(data, source)


def is_pem(value: object) -> bool:
    """Whether ``value`` is PEM text (str or bytes) rather than a path to a key file."""
    if isinstance(value, bytes):
        return _PEM_MARKER.encode() in value
    return isinstance(value, str) and _PEM_MARKER in value


def key_not_found(path: Path) -> KeyNotFoundError:
    return KeyNotFoundError(f"private key file not found: {path} (create an application to get one, "
                            f"or set VONAGE_PRIVATE_KEY_PATH)")


def _parse(data: bytes, source: str) -> rsa.RSAPrivateKey:
    if b"PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        raise NotAKeyError(f"{source} holds a public key; JWTs are signed with the private key")
    try:
        key: PrivateKeyTypes = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # cryptography's way of saying "this one needs a password"
        raise EncryptedKeyError(f"{source} is encrypted with a passphrase; Vonage application keys are "
                                f"not (decrypt it with: openssl pkey -in KEY -out KEY.plain)") from exc
    except (ValueError, UnicodeError) as exc:
        raise NotAKeyError(f"{source} is not a PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        kind = type(key).__name__.removesuffix("PrivateKey")
        raise NotAKeyError(f"{source} holds a {kind} key, not RSA; Vonage application keys are RSA")
    return key
