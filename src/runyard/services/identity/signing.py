"""Short-lived access tokens: JWTs signed with HS256 (joserfc, Authlib's JOSE library) by a key every
server process shares — `RUNYARD_SECRET_KEY` when set, else one created in the database on first use."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from runyard.services.context import now_ms
from runyard.store import schema
from runyard.store.database import Database

ISSUER = "runyard"
_KEY_NAME = "access-token-signing"
_ALGORITHMS = ["HS256"]


@dataclass(frozen=True)
class TokenClaims:
    principal_id: int
    principal_name: str
    credential_version: int
    expires_at: int  # seconds since the epoch
    # The sign-in (OAuth family) the token was issued under; None for client-credentials tokens.
    family_id: str | None = None


class Signer:
    def __init__(self, db: Database, secret_key: str | None, ttl_seconds: int) -> None:
        self._db = db
        self._configured = secret_key
        self._key: OctKey | None = None
        self.ttl_seconds = ttl_seconds

    def _signing_key(self) -> OctKey:
        if self._key is None:
            self._key = OctKey.import_key((self._configured or self._stored_key()).encode())
        return self._key

    def _stored_key(self) -> str:
        keys = schema.server_keys
        with self._db.read() as conn:
            value = conn.execute(select(keys.c.value).where(keys.c.name == _KEY_NAME)).scalar()
        if value is not None:
            return str(value)
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        try:
            with self._db.write() as conn:
                conn.execute(keys.insert().values(name=_KEY_NAME, value=fresh, creation_time=now_ms()))
        except IntegrityError:
            pass  # another process created it first: use theirs
        with self._db.read() as conn:
            return str(conn.execute(select(keys.c.value).where(keys.c.name == _KEY_NAME)).scalar_one())

    def issue(
        self,
        principal_id: int,
        principal_name: str,
        credential_version: int,
        *,
        family_id: str | None = None,
        client_id: str | None = None,
        scope: str | None = None,
    ) -> tuple[str, int]:
        """(token, lifetime in seconds). `family_id`: the sign-in it belongs to (revoking the family
        ends the token too)."""
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": principal_name,
            "pid": principal_id,
            "cv": credential_version,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": secrets.token_hex(8),
        }
        if family_id is not None:
            claims["fam"] = family_id
        if client_id is not None:
            claims["client_id"] = client_id
        if scope:
            claims["scope"] = scope
        token = jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, self._signing_key(), algorithms=_ALGORITHMS)
        return token, self.ttl_seconds

    def verify(self, token: str) -> TokenClaims | None:
        """The claims of a valid, unexpired token signed by this server, else None."""
        try:
            claims = jwt.decode(token, self._signing_key(), algorithms=_ALGORITHMS).claims
            registry = jwt.JWTClaimsRegistry(
                now=int(time.time()), leeway=0, iss={"essential": True, "value": ISSUER}, exp={"essential": True}
            )
            registry.validate(claims)
            return TokenClaims(
                principal_id=int(claims["pid"]),
                principal_name=str(claims["sub"]),
                credential_version=int(claims["cv"]),
                expires_at=int(claims["exp"]),
                family_id=str(claims["fam"]) if "fam" in claims else None,
            )
        except (JoseError, KeyError, TypeError, ValueError):
            return None


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")
