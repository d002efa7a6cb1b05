"""The OpenID provider's signing key (RSA, RS256): created once and kept in `server_keys`, so every
process and host signs ID tokens with the same key and publishes the same JWKS."""

from __future__ import annotations

import json
import threading
from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from runyard.services.context import now_ms
from runyard.store import schema
from runyard.store.database import Database

ALGORITHM = "RS256"
_KEY_NAME = "oidc-signing-rsa"
_KEY_BITS = 2048


class ProviderKeys:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._key: RSAKey | None = None
        self._lock = threading.Lock()

    def signing_key(self) -> RSAKey:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._load()
        return self._key

    def jwks(self) -> dict[str, Any]:
        """The public half, as published at the JWKS URI."""
        public = self.signing_key().as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": ALGORITHM}]}

    def _load(self) -> RSAKey:
        keys = schema.server_keys
        with self._db.read() as conn:
            value = conn.execute(select(keys.c.value).where(keys.c.name == _KEY_NAME)).scalar()
        if value is None:
            fresh = RSAKey.generate_key(_KEY_BITS, private=True)
            fresh.ensure_kid()
            try:
                with self._db.write() as conn:
                    conn.execute(
                        keys.insert().values(
                            name=_KEY_NAME, value=json.dumps(fresh.as_dict(private=True)), creation_time=now_ms()
                        )
                    )
            except IntegrityError:
                pass  # another process created it first: use theirs
            with self._db.read() as conn:
                value = conn.execute(select(keys.c.value).where(keys.c.name == _KEY_NAME)).scalar_one()
        key: RSAKey = RSAKey.import_key(json.loads(str(value)))
        key.ensure_kid()
        return key
