"""HTTPS for the local runtime: a private CA and a certificate for 127.0.0.1/localhost, made on first start.

Clients that accept only https:// (the official `pagerduty` library, webhooks from SaaS tools through a tunnel) can
then talk to the same API as http://127.0.0.1:3000. Trust the CA, not the leaf: `SSL_CERT_FILE=<dir>/ca.pem`
(Python's ssl, httpx), `REQUESTS_CA_BUNDLE=<dir>/ca.pem` (requests), `curl --cacert <dir>/ca.pem`. The CA's key
stays in the folder and can sign only these names (name constraints), so trusting it trusts nothing else.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import socket
import ssl
import sys
import tempfile
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOSTS = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")
CA_DAYS = 3650
# Browsers and Apple's TLS refuse server certificates valid for longer than 825 days.
LEAF_DAYS = 825
# Renew the leaf this long before it expires, so a long-running demo never meets an expired certificate.
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca-key.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "cert.pem"

    @property
    def key(self) -> Path:
        return self.folder / "key.pem"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "firebell local runtime"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes, mode: int) -> None:
    """Whole or not at all: another runtime starting at the same moment never reads half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _signed(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    now: datetime.datetime,
    days: int,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    """A certificate valid from five minutes ago (clock skew) for `days`, with (extension, critical) pairs."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def _new_ca(files: TlsFiles, now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(f"firebell local CA ({socket.gethostname()})")
    permitted = [x509.DNSName(host) for host in HOSTS] + [
        x509.IPAddress(ipaddress.ip_network(address)) for address in ADDRESSES
    ]
    cert = _signed(
        subject,
        subject,
        key.public_key(),
        key,
        now,
        CA_DAYS,
        [
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            ),
            (x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), True),
            (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
        ],
    )
    _write_private(files.ca_key, _pem_key(key), 0o600)
    _write_private(files.ca, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _new_leaf(
    files: TlsFiles, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, now: datetime.datetime
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(host) for host in HOSTS] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    cert = _signed(
        _name("127.0.0.1"),
        ca.subject,
        key.public_key(),
        ca_key,
        now,
        LEAF_DAYS,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.SubjectAlternativeName(names), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
        ],
    )
    _write_private(files.key, _pem_key(key), 0o600)
    _write_private(
        files.cert, cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM), 0o644
    )


def _valid_until(path: Path) -> datetime.datetime | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc
    except (OSError, ValueError):
        return None


def _leaf_fits(files: TlsFiles, ca: x509.Certificate, now: datetime.datetime) -> bool:
    """Signed by this CA (not just one of the same name), matching its key, and not about to expire."""
    try:
        leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        leaf.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    return leaf.public_key() == key.public_key() and leaf.not_valid_after_utc - now >= RENEW_BEFORE


def ensure_certificate(folder: Path) -> TlsFiles:
    """The CA and the server certificate in `folder`: kept while valid, made (or renewed) otherwise."""
    files = TlsFiles(folder)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runtimes starting together make one CA, not two that mismatch
        ca_until = _valid_until(files.ca)
        if ca_until is None or ca_until - now < RENEW_BEFORE or not files.ca_key.exists():
            ca, ca_key = _new_ca(files, now)
        else:
            ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
            ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
        if not _leaf_fits(files, ca, now):
            _new_leaf(files, ca, ca_key, now)
    return files


class HttpsServer(ThreadingHTTPServer):
    """TLS per connection, the handshake in the request's own thread: a client that never finishes one holds
    up only itself, not the server's accept loop."""

    scheme = "https"  # what the gateway tells the api function (X-Forwarded-Proto), as API Gateway does

    def __init__(self, address: tuple[str, int], handler: Any, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = self.socket.accept()
        return self._context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A plain-HTTP client, or one that does not trust the CA, fails the handshake: its problem, not a server error.
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def https_server_class(files: TlsFiles) -> type[HttpsServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert, files.key)

    class Server(HttpsServer):
        def __init__(self, address: tuple[str, int], handler: Any) -> None:
            super().__init__(address, handler, context)

    return Server


def shown(path: Path) -> str:
    """Relative to the current folder when inside it, as a user would type it from the repository."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def trust_hint(files: TlsFiles) -> str:
    ca = shown(files.ca)
    return f"trust the CA made on first start: SSL_CERT_FILE={ca} (Python, httpx), REQUESTS_CA_BUNDLE={ca} (requests), curl --cacert {ca}"
