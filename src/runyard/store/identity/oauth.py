"""OAuth rows: sign-in families and their refresh tokens, authorization codes, device codes,
browser sessions and upstream sign-in states. Secrets are looked up by their SHA-256 only.

Every "use once" step (spending a code, a refresh token, a device code) is one conditional UPDATE:
of two concurrent attempts exactly one changes a row, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, update

from runyard.domain.oauth import (
    AuthorizationCodeRecord,
    BrowserSession,
    DeviceAuthorization,
    Family,
    RefreshTokenRecord,
)
from runyard.store import schema

_F = schema.oauth_families
_R = schema.oauth_refresh_tokens
_C = schema.oauth_codes
_D = schema.oauth_device_codes
_S = schema.browser_sessions
_U = schema.oauth_upstream_states
_P = schema.principals


# --- families and refresh tokens ---------------------------------------------------------------


def _family(m: Any) -> Family:
    return Family(
        id=m["id"],
        principal_id=m["principal_id"],
        client_id=m["client_id"],
        scope=m["scope"],
        credential_version=m["credential_version"],
        auth_time=m["auth_time"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
    )


def insert_family(
    conn: Connection,
    *,
    family_id: str,
    principal_id: int,
    credential_version: int,
    client_id: str,
    scope: str,
    auth_time: int,
    now: int,
    expires_at: int,
) -> None:
    conn.execute(
        _F.insert().values(
            id=family_id,
            principal_id=principal_id,
            credential_version=credential_version,
            client_id=client_id,
            scope=scope,
            auth_time=auth_time,
            creation_time=now,
            expires_at=expires_at,
        )
    )


def family(conn: Connection, family_id: str) -> Family | None:
    row = conn.execute(select(_F).where(_F.c.id == family_id)).first()
    return _family(row._mapping) if row is not None else None


def revoke_family(conn: Connection, family_id: str, now: int, reason: str) -> bool:
    result = conn.execute(
        update(_F).where(_F.c.id == family_id, _F.c.revoked_at.is_(None)).values(revoked_at=now, revoke_reason=reason)
    )
    return result.rowcount == 1


def insert_refresh_token(conn: Connection, *, token_hash: str, family_id: str, now: int, expires_at: int) -> None:
    conn.execute(
        _R.insert().values(token_hash=token_hash, family_id=family_id, creation_time=now, expires_at=expires_at)
    )


def refresh_token(conn: Connection, token_hash: str) -> RefreshTokenRecord | None:
    query = (
        select(_R.c.token_hash, _R.c.expires_at.label("token_expires_at"), _R.c.used_at, _F)
        .select_from(_R.join(_F, _F.c.id == _R.c.family_id))
        .where(_R.c.token_hash == token_hash)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    m = row._mapping
    return RefreshTokenRecord(
        token_hash=m["token_hash"], family=_family(m), expires_at=m["token_expires_at"], used_at=m["used_at"]
    )


def spend_refresh_token(conn: Connection, token_hash: str, now: int) -> bool:
    """Mark the token used; False when it already was (a replay, or a concurrent refresh that won)."""
    result = conn.execute(update(_R).where(_R.c.token_hash == token_hash, _R.c.used_at.is_(None)).values(used_at=now))
    return result.rowcount == 1


# --- authorization codes -------------------------------------------------------------------------


def insert_code(conn: Connection, record: AuthorizationCodeRecord) -> None:
    conn.execute(
        _C.insert().values(
            code_hash=record.code_hash,
            client_id=record.client_id,
            principal_id=record.principal_id,
            redirect_uri=record.redirect_uri,
            scope=record.scope,
            nonce=record.nonce,
            code_challenge=record.code_challenge,
            code_challenge_method=record.code_challenge_method,
            auth_time=record.auth_time,
            expires_at=record.expires_at,
        )
    )


def code(conn: Connection, code_hash: str) -> AuthorizationCodeRecord | None:
    row = conn.execute(select(_C).where(_C.c.code_hash == code_hash)).first()
    return AuthorizationCodeRecord(**row._mapping) if row is not None else None


def spend_code(conn: Connection, code_hash: str, now: int) -> bool:
    result = conn.execute(update(_C).where(_C.c.code_hash == code_hash, _C.c.used_at.is_(None)).values(used_at=now))
    return result.rowcount == 1


def set_code_family(conn: Connection, code_hash: str, family_id: str) -> None:
    conn.execute(update(_C).where(_C.c.code_hash == code_hash).values(family_id=family_id))


# --- device codes --------------------------------------------------------------------------------


def insert_device(conn: Connection, record: DeviceAuthorization) -> None:
    conn.execute(
        _D.insert().values(
            device_code_hash=record.device_code_hash,
            user_code=record.user_code,
            client_id=record.client_id,
            scope=record.scope,
            creation_time=record.creation_time,
            expires_at=record.expires_at,
            poll_interval=record.poll_interval,
        )
    )


def device_by_code(conn: Connection, device_code_hash: str) -> DeviceAuthorization | None:
    row = conn.execute(select(_D).where(_D.c.device_code_hash == device_code_hash)).first()
    return DeviceAuthorization(**row._mapping) if row is not None else None


def device_by_user_code(conn: Connection, user_code: str) -> DeviceAuthorization | None:
    row = conn.execute(select(_D).where(_D.c.user_code == user_code)).first()
    return DeviceAuthorization(**row._mapping) if row is not None else None


def decide_device(conn: Connection, user_code: str, decision: str, principal_id: int, now: int) -> bool:
    """Record the user's decision once, while the code is still valid."""
    result = conn.execute(
        update(_D)
        .where(_D.c.user_code == user_code, _D.c.decision.is_(None), _D.c.expires_at > now)
        .values(decision=decision, principal_id=principal_id)
    )
    return result.rowcount == 1


def record_poll(conn: Connection, device_code_hash: str, now: int, interval: int) -> None:
    conn.execute(
        update(_D).where(_D.c.device_code_hash == device_code_hash).values(last_poll_at=now, poll_interval=interval)
    )


def spend_device(conn: Connection, device_code_hash: str, now: int) -> bool:
    result = conn.execute(
        update(_D).where(_D.c.device_code_hash == device_code_hash, _D.c.used_at.is_(None)).values(used_at=now)
    )
    return result.rowcount == 1


# --- browser sessions ----------------------------------------------------------------------------


def insert_session(
    conn: Connection,
    *,
    session_id: str,
    secret_hash: str,
    principal_id: int,
    credential_version: int,
    method: str,
    now: int,
    expires_at: int,
) -> None:
    conn.execute(
        _S.insert().values(
            id=session_id,
            secret_hash=secret_hash,
            principal_id=principal_id,
            credential_version=credential_version,
            method=method,
            creation_time=now,
            expires_at=expires_at,
        )
    )


def session(conn: Connection, secret_hash: str, now: int) -> BrowserSession | None:
    """A live session (not expired, not revoked) by the hash of its cookie."""
    columns = (_S.c.id, _S.c.principal_id, _S.c.method, _S.c.credential_version, _S.c.creation_time, _S.c.expires_at)
    query = select(*columns).where(_S.c.secret_hash == secret_hash, _S.c.revoked_at.is_(None), _S.c.expires_at > now)
    row = conn.execute(query).first()
    return BrowserSession(**row._mapping) if row is not None else None


def revoke_session(conn: Connection, secret_hash: str, now: int) -> None:
    conn.execute(update(_S).where(_S.c.secret_hash == secret_hash, _S.c.revoked_at.is_(None)).values(revoked_at=now))


# --- upstream (single sign-on) states ------------------------------------------------------------


def insert_upstream_state(
    conn: Connection, *, state_hash: str, nonce: str, code_verifier: str, return_to: str, now: int, expires_at: int
) -> None:
    conn.execute(
        _U.insert().values(
            state_hash=state_hash,
            nonce=nonce,
            code_verifier=code_verifier,
            return_to=return_to,
            creation_time=now,
            expires_at=expires_at,
        )
    )


def take_upstream_state(conn: Connection, state_hash: str, now: int) -> tuple[str, str, str] | None:
    """(nonce, code verifier, return-to) of a live state, deleted as it is read (use once)."""
    row = conn.execute(select(_U).where(_U.c.state_hash == state_hash, _U.c.expires_at > now)).first()
    if row is None:
        return None
    if conn.execute(delete(_U).where(_U.c.state_hash == state_hash)).rowcount != 1:
        return None
    m = row._mapping
    return m["nonce"], m["code_verifier"], m["return_to"]


# --- confidential clients' redirect URIs ---------------------------------------------------------


def redirect_uris(conn: Connection, principal_id: int) -> str | None:
    value = conn.execute(
        select(schema.oauth_client_redirects.c.redirect_uris).where(
            schema.oauth_client_redirects.c.principal_id == principal_id
        )
    ).scalar()
    return str(value) if value is not None else None


def set_redirect_uris(conn: Connection, principal_id: int, uris_json: str | None) -> None:
    """Replace the client's redirect URIs (None: none, so no authorization-code flow)."""
    table = schema.oauth_client_redirects
    conn.execute(delete(table).where(table.c.principal_id == principal_id))
    if uris_json is not None:
        conn.execute(table.insert().values(principal_id=principal_id, redirect_uris=uris_json))


# --- housekeeping --------------------------------------------------------------------------------


def delete_expired(conn: Connection, now: int) -> None:
    """Rows nobody can use any more (run now and then; every read also checks expiry)."""
    conn.execute(delete(_C).where(_C.c.expires_at < now))
    conn.execute(delete(_D).where(_D.c.expires_at < now))
    conn.execute(delete(_U).where(_U.c.expires_at < now))
    conn.execute(delete(_S).where(_S.c.expires_at < now))
    dead = select(_F.c.id).where(_F.c.expires_at < now)
    conn.execute(delete(_R).where(_R.c.family_id.in_(dead)))
    conn.execute(delete(_F).where(_F.c.expires_at < now))


def delete_for_principal(conn: Connection, principal_id: int) -> None:
    """Everything OAuth that names the principal (before the principal row itself is deleted)."""
    families = select(_F.c.id).where(_F.c.principal_id == principal_id)
    conn.execute(delete(_R).where(_R.c.family_id.in_(families)))
    conn.execute(delete(_F).where(_F.c.principal_id == principal_id))
    conn.execute(delete(_C).where(_C.c.principal_id == principal_id))
    conn.execute(delete(_D).where(_D.c.principal_id == principal_id))
    conn.execute(delete(_S).where(_S.c.principal_id == principal_id))
    for t in (schema.oauth_client_redirects, schema.oauth_upstream_links, schema.oauth_upstream_roles):
        conn.execute(delete(t).where(t.c.principal_id == principal_id))
