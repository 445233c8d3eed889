"""Sync over real TLS: a Hub served with a certificate from a throwaway CA.

The laptop trusts it only through the CA bundle it was given at sign-in; without the
bundle the connection is refused, with words that say why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from harness import PASSWORD, HubServer
from sqlalchemy import select

from touchpoint.hub.db import records
from touchpoint.services import customers
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.engine import SyncEngine, sign_in
from touchpoint.sync.errors import ServerError


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_pki(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Touchpoint Test CA"))
        .issuer_name(_name("Touchpoint Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "hub-cert.pem", folder / "hub-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def tls_hub(tmp_path: Path) -> Iterator[tuple[HubServer, Path]]:
    ca, cert, key = make_pki(tmp_path)
    server = HubServer(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tls=(cert, key)).start()
    server.add_user("maria@example.com")
    yield server, ca
    server.stop()


def _workspace(root: Path) -> Workspace:
    save_settings(
        root / "config" / "settings.toml",
        Settings(user="maria@example.com", timezone="Europe/Berlin"),
    )
    return Workspace.open(root, auto_backup=False)


def test_a_laptop_given_the_ca_bundle_signs_in_and_syncs_over_https(
    tls_hub: tuple[HubServer, Path], tmp_path: Path
) -> None:
    hub, ca = tls_hub
    assert hub.url.startswith("https://")
    ws = _workspace(tmp_path / "laptop")
    try:
        sign_in(ws, hub.url, "maria@example.com", PASSWORD, ca_bundle=str(ca))
        made = customers.create_customer(ws, {"name": "Acme over TLS"}).value
        engine = SyncEngine.for_workspace(ws)
        try:
            result = engine.run()
        finally:
            engine.client.close()
        assert result.in_sync, result
        assert result.pushed == 1
        with hub.engine.connect() as conn:
            names = [
                data["name"]
                for data in conn.execute(
                    select(records.c.data).where(records.c.record_id == made.id)
                ).scalars()
            ]
        assert names == ["Acme over TLS"]
    finally:
        ws.close()


def test_without_the_ca_bundle_the_hubs_certificate_is_refused(
    tls_hub: tuple[HubServer, Path], tmp_path: Path
) -> None:
    hub, _ca = tls_hub
    ws = _workspace(tmp_path / "laptop")
    try:
        with pytest.raises(ServerError) as refused:
            sign_in(ws, hub.url, "maria@example.com", PASSWORD)
        assert "certificate is not trusted" in refused.value.message
        assert not refused.value.transient  # retrying cannot help: the user must act
    finally:
        ws.close()


def test_a_bundle_of_another_ca_is_refused_too(
    tls_hub: tuple[HubServer, Path], tmp_path: Path
) -> None:
    hub, _ca = tls_hub
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _cert, _key = make_pki(other)
    ws = _workspace(tmp_path / "laptop")
    try:
        with pytest.raises(ServerError) as refused:
            sign_in(ws, hub.url, "maria@example.com", PASSWORD, ca_bundle=str(other_ca))
        assert "certificate is not trusted" in refused.value.message
    finally:
        ws.close()
