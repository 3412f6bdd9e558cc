"""The OPC UA server's security: its certificate folders (own, trusted, rejected in the data
directory) and the user manager asyncua asks at each session (accounts from station.yaml, checked
against their Argon2 hashes, remembered for the life of the process)."""
from __future__ import annotations

import hashlib
import logging
import re
import socket
import time
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_bytes
from studio.plc import accounts

log = logging.getLogger(__name__)

CERT_DAYS = 3650


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


class CertificateFolders:
    """``<data dir>/opcua``: own/ (the server's certificate and key), trusted/, rejected/."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.own, self.trusted, self.rejected = self.root / "own", self.root / "trusted", self.root / "rejected"
        self.cert, self.key = self.own / "cert.der", self.own / "key.pem"
        self._trusted_cache: tuple[tuple, set[str]] = ((), set())

    def prepare(self, application_uri: str, host: str) -> bool:
        """Create the folders and, on first start, the application certificate; True when created."""
        for folder in (self.own, self.trusted, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        if self.cert.is_file() and self.key.is_file():
            return False
        from asyncua.crypto import cert_gen
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.x509.oid import ExtendedKeyUsageOID

        key = cert_gen.generate_private_key()
        names = [x509.UniformResourceIdentifier(application_uri), x509.DNSName(socket.gethostname())]
        if host not in ("0.0.0.0", ""):    # the address clients use (parse_address: always an IPv4 address)
            import ipaddress

            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        cert = cert_gen.generate_self_signed_app_certificate(
            key, "Inspection Studio station", {"organizationName": "Inspection Studio"}, names,
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], days=CERT_DAYS)
        atomic_write_bytes(self.key, cert_gen.dump_private_key_as_pem(key))
        self.key.chmod(0o600)
        atomic_write_bytes(self.cert, cert.public_bytes(serialization.Encoding.DER))
        return True

    def trusted_fingerprints(self) -> set[str]:
        """SHA-256 of every certificate in trusted/ (DER or PEM); re-read when the folder changes."""
        files = sorted(p for p in self.trusted.glob("*") if p.suffix.lower() in (".der", ".pem", ".crt", ".cer"))
        key = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        if key == self._trusted_cache[0]:
            return self._trusted_cache[1]
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        prints = set()
        for path in files:
            data = path.read_bytes()
            try:
                cert = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                        else x509.load_der_x509_certificate(data))
            except ValueError:
                log.warning("%s is not a certificate; ignored", path)
                continue
            prints.add(fingerprint(cert.public_bytes(serialization.Encoding.DER)))
        self._trusted_cache = (key, prints)
        return prints

    def file_rejected(self, der: bytes, name: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name or "client").strip("_")[:60] or "client"
        path = self.rejected / f"{safe}_{fingerprint(der)[:16]}.der"
        if not path.exists():
            atomic_write_bytes(path, der)
        return path


class SessionUsers:
    """asyncua's user manager over the accounts of station.yaml.

    asyncua asks it inside the server's loop, and an Argon2 check takes tens of
    milliseconds (seconds on a loaded PC), so: a password once verified is
    remembered as an HMAC under a key that lives only in this process (a PLC
    reconnecting costs nothing), and after a wrong password that account is
    not checked again for ``FAIL_PAUSE_S`` (guessing cannot stall the server).
    """

    FAIL_PAUSE_S = 1.0

    def __init__(self, users: dict[str, str], anonymous: bool):
        import os

        self.users, self.anonymous = users, anonymous
        self._key = os.urandom(32)
        self._verified: dict[str, bytes] = {}
        self._failed: dict[str, float] = {}
        self.refused = 0

    def _mac(self, password: str) -> bytes:
        import hmac

        return hmac.new(self._key, password.encode("utf-8"), "sha256").digest()

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> Any:
        import hmac

        from asyncua.crypto.permission_rules import User, UserRole

        if username is None and password is None:
            return User(role=UserRole.User, name="anonymous") if self.anonymous else None
        if isinstance(password, bytes):
            password = password.decode("utf-8", "replace")
        name = username or ""
        stored = self.users.get(name)
        if stored is None or password is None:
            self.refused += 1
            log.warning("OPC UA login refused for '%s': no such account", username)
            return None
        mac = self._mac(password)
        known = self._verified.get(name)
        if known is not None and hmac.compare_digest(known, mac):
            return User(role=UserRole.User, name=name)
        if time.monotonic() - self._failed.get(name, -1e9) < self.FAIL_PAUSE_S:
            self.refused += 1
            log.warning("OPC UA login refused for '%s': too soon after a wrong password", name)
            return None
        if not accounts.verify_password(stored, password):
            self._failed[name] = time.monotonic()
            self.refused += 1
            log.warning("OPC UA login refused for '%s': wrong password", name)
            return None
        self._verified[name] = mac
        return User(role=UserRole.User, name=name)
