"""Key generation, 0600 files, and the errors a learner meets with the wrong file."""

from __future__ import annotations

import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fbfailover.errors import EncryptedKeyError, KeyExistsError, KeyFileError, KeyNotFoundError, NotAKeyError
from fbfailover.keys import load_private_key, private_pem, public_pem, save_private_key


def test_generated_key_is_rsa_2048(rsa_key):
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    assert rsa_key.key_size == 2048


def test_pem_exports(rsa_key):
    assert private_pem(rsa_key).startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS#8
    pub = public_pem(rsa_key)
    assert pub.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert public_pem(rsa_key.public_key()) == pub


def test_save_writes_mode_0600_and_round_trips(rsa_key, tmp_path):
    path = save_private_key(rsa_key, tmp_path / "private.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_pem(load_private_key(path)) == public_pem(rsa_key)
    assert public_pem(load_private_key(str(path))) == public_pem(rsa_key)


def test_save_refuses_to_overwrite_unless_asked(rsa_key, tmp_path):
    path = save_private_key(rsa_key, tmp_path / "k")
    with pytest.raises(KeyExistsError, match="refusing to overwrite") as info:
        save_private_key(rsa_key, path)
    assert isinstance(info.value, FileExistsError)
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path.chmod(0o644)
    save_private_key(other, path, overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_private_key(path).key_size == 1024


def test_save_accepts_pem_text_from_the_api(rsa_key, tmp_path):
    text = private_pem(rsa_key).rstrip("\n")
    path = save_private_key(text, tmp_path / "from-api.key")
    assert path.read_text().endswith("-----END PRIVATE KEY-----\n")
    with pytest.raises(NotAKeyError):
        save_private_key("hello", tmp_path / "x.key")
    assert not (tmp_path / "x.key").exists()


def test_load_from_pem_text_and_bytes(rsa_key):
    pem = private_pem(rsa_key)
    assert public_pem(load_private_key(pem)) == public_pem(rsa_key)
    assert public_pem(load_private_key(pem.encode())) == public_pem(rsa_key)
    traditional = rsa_key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption())
    assert public_pem(load_private_key(traditional)) == public_pem(rsa_key)


def test_missing_file(tmp_path):
    with pytest.raises(KeyNotFoundError, match=r"private key file not found: .*nope\.key") as info:
        load_private_key(tmp_path / "nope.key")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, KeyFileError)


def test_encrypted_key(rsa_key, tmp_path):
    path = tmp_path / "enc.key"
    path.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.BestAvailableEncryption(b"pass")))
    with pytest.raises(EncryptedKeyError, match="passphrase"):
        load_private_key(path)


@pytest.mark.parametrize(("content", "message"), [
    ("not a key at all\n", "is not a PEM private key"),
    ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "is not a PEM private key"),
])
def test_garbage_is_not_a_key(tmp_path, content, message):
    path = tmp_path / "bad.key"
    path.write_text(content)
    with pytest.raises(NotAKeyError, match=message) as info:
        load_private_key(path)
    assert "\n" not in str(info.value)


def test_public_key_given_instead_of_private(public_key):
    with pytest.raises(NotAKeyError, match="holds a public key"):
        load_private_key(public_key)


def test_non_rsa_key_is_refused():
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(NotAKeyError, match="not RSA"):
        load_private_key(pem)


def test_a_folder_is_not_a_key(tmp_path):
    with pytest.raises(NotAKeyError, match="folder"):
        load_private_key(tmp_path)
