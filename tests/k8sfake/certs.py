"""A throw-away certificate for 127.0.0.1: kubectl (client-go) sends a bearer token only over
TLS, so the fake serves HTTPS, as a real API server does."""

from __future__ import annotations

import datetime
import functools
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@functools.cache
def _pem() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k8sfake")])
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                         x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) files in `directory`; the certificate is also its own CA."""
    cert, key = _pem()
    cert_file, key_file = directory / "server.crt", directory / "server.key"
    cert_file.write_bytes(cert)
    key_file.write_bytes(key)
    key_file.chmod(0o600)
    return cert_file, key_file
