"""A recording forwarder in front of the sandbox, in plain HTTP and behind TLS, for ``tools/twins.py``.

Each request a twin sends is kept as it arrived (method, target, headers, body bytes) with the sandbox's answer,
then forwarded to the sandbox. The TLS listener uses a certificate for 127.0.0.1 and localhost signed by a
throw-away CA made for the run (``make_tls_files``); the twins' processes trust that CA through
``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` / ``NODE_EXTRA_CA_CERTS`` / ``CURL_CA_BUNDLE``. Standard library only
(``http.server``, ``ssl``, ``http.client``) plus ``cryptography`` for the certificates.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["Recorded", "Recorder", "make_tls_files"]

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
        "content-length", "host"}
MAX_BODY = 1 << 20  # what a twin may send (the sandbox refuses more anyway)


@dataclass
class Recorded:
    """One request as it arrived, and the sandbox's answer."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    tls: bool
    status: int = 0
    answer: bytes = b""
    answer_headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A request header, by name in any case."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def make_tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """Write a throw-away CA and a server certificate for 127.0.0.1 and localhost; returns (ca, cert, key)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fbfailover twins throw-away CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


class Recorder:
    """Forward to ``upstream`` (the sandbox's ``http://`` URL) on two local ports, plain and TLS, recording all."""

    def __init__(self, upstream: str, cert: Path, key: Path):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.exchanges: list[Recorded] = []
        self._lock = threading.Lock()
        self._plain = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(tls=False))
        self._tls = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(tls=True))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._tls.socket = context.wrap_socket(self._tls.socket, server_side=True)
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (self._plain, self._tls)]

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self._plain.server_address[1]}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self._tls.server_address[1]}"

    def __enter__(self) -> Recorder:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self._plain, self._tls):
            server.shutdown()
            server.server_close()

    def since(self, mark: int) -> list[Recorded]:
        """The exchanges recorded after the first ``mark`` ones."""
        with self._lock:
            return list(self.exchanges[mark:])

    def _handler(self, *, tls: bool) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # the run prints its own lines
                pass

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                        if sum(map(len, chunks)) > MAX_BODY:
                            raise ValueError("body too large")
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    raise ValueError("body too large")
                return self.rfile.read(length)

            def _forward(self) -> None:
                body = self._body()
                seen = Recorded(self.command, self.path, dict(self.headers.items()), body, tls)
                upstream = http.client.HTTPConnection(*recorder.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    seen.status, seen.answer = response.status, response.read()
                    seen.answer_headers = dict(response.getheaders())
                finally:
                    upstream.close()
                with recorder._lock:
                    recorder.exchanges.append(seen)
                self.send_response(seen.status)
                for name, value in seen.answer_headers.items():
                    if name.lower() not in _HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(seen.answer)))
                self.end_headers()
                self.wfile.write(seen.answer)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler
