"""A private certificate authority and a server certificate signed by it, so the sandbox can
be served over TLS and msal (which refuses an ``http://`` authority) can trust it by being given
the CA: ``verify=CA`` or ``REQUESTS_CA_BUNDLE=CA``.

Both certificates carry the extensions strict verifiers ask for (basic constraints, key usage,
subject and authority key identifiers; the server one its names as subjectAltName).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
VALIDITY = timedelta(days=825)


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # trust this one
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ticketbridge sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _alt_names(names: Iterable[str]) -> list[x509.GeneralName]:
    found: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            found.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
        except ValueError:
            found.append(x509.DNSName(name))
    return found


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_certificates(names: Iterable[str] = DEFAULT_NAMES) -> tuple[bytes, bytes, bytes]:
    """(CA certificate, server certificate, server key), PEM, the server valid for ``names``."""
    now = datetime.now(UTC) - timedelta(minutes=5)  # a little slack for clock differences
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = _name("ticketbridge sandbox CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_subject)
        .issuer_name(ca_subject)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    wanted = list(names)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(wanted[0] if wanted else "localhost"))
        .issuer_name(ca_subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_alt_names(wanted)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = serialization.Encoding.PEM
    return ca_cert.public_bytes(pem), cert.public_bytes(pem), key_pem


def self_signed(directory: Path, names: Iterable[str] = DEFAULT_NAMES) -> tuple[TlsFiles, bool]:
    """The CA and server files in ``directory``, made when missing (so a CA trusted once stays
    trusted across restarts); True when they were made now."""
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    if files.ca.exists() and files.cert.exists() and files.key.exists():
        return files, False
    directory.mkdir(parents=True, exist_ok=True)
    ca, cert, key = make_certificates(names)
    files.ca.write_bytes(ca)
    files.cert.write_bytes(cert)
    files.key.touch(mode=0o600)
    files.key.chmod(0o600)  # a private key, whatever the umask
    files.key.write_bytes(key)
    return files, True
