"""Gateway-side security pieces: a self-signed TLS certificate, HTTP digest checking and
JWT issuing/validation (HS256 with a per-simulator secret; real tokens are signed by Enphase,
but clients never check the signature, only the claims)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import secrets
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jwt

DIGEST_REALM = "enphaseenergy.com"
_PAIR_RE = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


@cache
def _certificate_pem() -> tuple[bytes, bytes]:
    """A self-signed certificate for 127.0.0.1 (generated once per process)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "envoy.local")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("envoy.local"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_ssl_context() -> ssl.SSLContext:
    """Server TLS context with the self-signed certificate."""
    cert_pem, key_pem = _certificate_pem()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context


# ---------------------------------------------------------------------------------------------
# Digest (firmware < 7)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_digest_header(header: str) -> dict[str, str] | None:
    """Fields of an ``Authorization: Digest ...`` header, None for other schemes."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "digest":
        return None
    return {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PAIR_RE.finditer(rest)}


class DigestVerifier:
    """Issues nonces and checks RFC 7616 MD5 digest responses (qop=auth)."""

    def __init__(self) -> None:
        self._nonces: set[str] = set()

    def challenge(self) -> str:
        """A fresh ``WWW-Authenticate`` value."""
        nonce = base64.b64encode(secrets.token_bytes(20)).decode()
        self._nonces.add(nonce)
        if len(self._nonces) > 1000:
            self._nonces.pop()
        return f'Digest qop="auth", realm="{DIGEST_REALM}", nonce="{nonce}"'

    def verify(self, header: str, method: str, uri: str, users: dict[str, str]) -> str | None:
        """The authenticated user name, or None."""
        fields = parse_digest_header(header)
        if not fields:
            return None
        user = fields.get("username", "")
        if user not in users or fields.get("realm") != DIGEST_REALM:
            return None
        if fields.get("nonce") not in self._nonces or fields.get("uri") != uri:
            return None
        if fields.get("algorithm", "MD5").upper() != "MD5":
            return None
        ha1 = _md5(f"{user}:{DIGEST_REALM}:{users[user]}")
        ha2 = _md5(f"{method}:{uri}")
        if fields.get("qop") == "auth":
            nc, cnonce = fields.get("nc", ""), fields.get("cnonce", "")
            expected = _md5(f"{ha1}:{fields['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{fields['nonce']}:{ha2}")
        return user if secrets.compare_digest(expected, fields.get("response", "")) else None


# ---------------------------------------------------------------------------------------------
# Tokens (firmware >= 7)


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """Why a token was accepted or refused."""

    ok: bool
    reason: str
    claims: dict[str, Any] | None = None


class TokenAuthority:
    """Signs gateway tokens the way Entrez hands them out, and validates them."""

    def __init__(self) -> None:
        self._secret = secrets.token_hex(32)
        self._issued: set[str] = set()
        self._revoked: set[str] = set()

    def revoke_all(self) -> None:
        """Invalidate every token issued so far (as a gateway reset would)."""
        self._revoked |= self._issued

    def issue(
        self,
        *,
        serial: str,
        username: str,
        now: datetime,
        lifetime: float,
        user_type: str = "owner",
    ) -> str:
        """A signed token for ``serial`` valid ``lifetime`` seconds from ``now``."""
        iat = int(now.timestamp())
        jti = secrets.token_hex(8)
        self._issued.add(jti)
        claims = {
            "aud": serial,
            "iss": "Entrez",
            "enphaseUser": user_type,
            "username": username,
            "iat": iat,
            "exp": iat + int(lifetime),
            "jti": jti,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def check(self, token: str, *, serial: str, now: datetime) -> TokenCheck:
        """Signature, audience, expiry (against the simulated clock) and revocation."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=serial,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidAudienceError:
            return TokenCheck(False, "wrong gateway")
        except jwt.PyJWTError:
            return TokenCheck(False, "invalid token")
        if claims.get("exp", 0) <= now.timestamp():
            return TokenCheck(False, "expired", claims)
        if claims.get("jti") in self._revoked:
            return TokenCheck(False, "revoked", claims)
        return TokenCheck(True, "ok", claims)
