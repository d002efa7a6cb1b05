"""Fresh secrets: personal access tokens (`ryd_pat_…`), service principal client ids and secrets,
generated passwords, and the SHA-256 digest tokens are stored and looked up by."""

from __future__ import annotations

import hashlib
import secrets

from runyard.domain.identity import CLIENT_ID_PREFIX, TOKEN_PREFIX


def new_token() -> tuple[str, str]:
    """(token id, token): the id is public (lists, revocation), the token is shown once."""
    return secrets.token_hex(8), TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """How a token is stored: 256 random bits need no slow hash, only one that cannot be reversed."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(12)


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def new_password() -> str:
    return secrets.token_urlsafe(18)
