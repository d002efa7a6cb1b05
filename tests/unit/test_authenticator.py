"""Authentication against a real (SQLite) store: Basic, personal access tokens and signed access
tokens; the credential cache and its re-checks; the failure limiter."""

from __future__ import annotations

import base64

import pytest

from runyard.domain.errors import TooManyFailures, Unauthenticated
from runyard.services.identity import authenticator as authenticator_module
from runyard.services.identity.accounts import AccountService
from runyard.services.identity.audit import Actor, AuditLog
from runyard.services.identity.authenticator import Authenticator
from runyard.services.identity.failures import FailureLimiter
from runyard.services.identity.signing import Signer
from runyard.store.database import Database

PASSWORD = "correct horse battery"
ACTOR = Actor("test", "test")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def accounts(db: Database) -> AccountService:
    service = AccountService(db, AuditLog(db, 90))
    service.create_user(ACTOR, "ann", PASSWORD)
    return service


def make(db: Database, limit: int = 100) -> Authenticator:
    return Authenticator(db, Signer(db, None, 3600), FailureLimiter(limit), AuditLog(db, 90))


def test_basic_credentials_are_verified_once_then_cached(db: Database, accounts: AccountService) -> None:
    auth = make(db)
    header = basic("ann", PASSWORD)
    assert auth.cached(header) is None
    assert auth.authenticate(header, "1.2.3.4").name == "ann"
    cached = auth.cached(header)
    assert cached is not None and cached.name == "ann"
    with pytest.raises(Unauthenticated):
        auth.authenticate(basic("ann", PASSWORD + "x"), "1.2.3.4")
    with pytest.raises(Unauthenticated):
        auth.authenticate(basic("nobody", PASSWORD), "1.2.3.4")
    with pytest.raises(Unauthenticated):
        auth.authenticate("Basic !!notbase64", "1.2.3.4")
    with pytest.raises(Unauthenticated):
        auth.authenticate("Digest abc", "1.2.3.4")


def test_disabling_or_a_new_password_ends_cached_sessions(
    db: Database, accounts: AccountService, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = make(db)
    header = basic("ann", PASSWORD)
    auth.authenticate(header, None)
    monkeypatch.setattr(authenticator_module, "REVALIDATE_SECONDS", 0.0)
    assert auth.cached(header) is None  # due for a re-check
    assert auth.authenticate(header, None).name == "ann"
    accounts.set_enabled(ACTOR, "ann", False)
    with pytest.raises(Unauthenticated):
        auth.authenticate(header, None)
    accounts.set_enabled(ACTOR, "ann", True)
    auth.authenticate(header, None)
    accounts.set_password(ACTOR, "ann", PASSWORD + " changed")
    with pytest.raises(Unauthenticated):
        auth.authenticate(header, None)


def test_personal_access_tokens_work_until_revoked(
    db: Database, accounts: AccountService, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = make(db)
    issued = accounts.create_token(ACTOR, "ann", "laptop", None)
    assert issued.token.startswith("ryd_pat_")
    header = f"Bearer {issued.token}"
    assert auth.authenticate(header, None).name == "ann"
    assert accounts.list_tokens("ann")[0].last_used_at is not None
    monkeypatch.setattr(authenticator_module, "REVALIDATE_SECONDS", 0.0)
    accounts.revoke_token(ACTOR, issued.id)
    with pytest.raises(Unauthenticated):
        auth.authenticate(header, None)
    with pytest.raises(Unauthenticated):
        make(db).authenticate(header, None)  # another process, no cache
    with pytest.raises(Unauthenticated):
        auth.authenticate("Bearer ryd_pat_made-up", None)


def test_signed_access_tokens_carry_the_credential_version(db: Database, accounts: AccountService) -> None:
    auth = make(db)
    ann = accounts.get("ann")
    signer = Signer(db, None, 3600)
    token, ttl = signer.issue(ann.id, ann.name, ann.credential_version)
    assert ttl == 3600
    assert auth.authenticate(f"Bearer {token}", None).name == "ann"
    # A forged token (another key) and a tampered one are refused.
    forged, _ = Signer(db, "another key of sufficient length!!", 3600).issue(ann.id, ann.name, 1)
    for bad in (forged, token[:-2] + "xx"):
        with pytest.raises(Unauthenticated):
            make(db).authenticate(f"Bearer {bad}", None)
    accounts.set_password(ACTOR, "ann", PASSWORD + " rotated")
    with pytest.raises(Unauthenticated):
        make(db).authenticate(f"Bearer {token}", None)


def test_repeated_failures_are_slowed_down(db: Database, accounts: AccountService) -> None:
    auth = make(db, limit=3)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            auth.authenticate(basic("ann", "wrong password!!"), "10.0.0.1")
    with pytest.raises(TooManyFailures) as refused:
        auth.authenticate(basic("ann", PASSWORD), "10.0.0.1")
    assert int(refused.value.headers["Retry-After"]) >= 1
    # The account is slowed down from other addresses too.
    with pytest.raises(TooManyFailures):
        auth.authenticate(basic("ann", PASSWORD), "10.0.0.2")


def test_no_secret_reaches_the_audit_log(db: Database, accounts: AccountService) -> None:
    auth = make(db)
    issued = accounts.create_token(ACTOR, "ann", "ci", None)
    for header in (basic("ann", "a wrong password"), "Bearer ryd_pat_guess", f"Bearer {issued.token}x"):
        with pytest.raises(Unauthenticated):
            auth.authenticate(header, "10.1.1.1")
    text = repr(AuditLog(db, 90).query(limit=1000))
    assert "a wrong password" not in text and "ryd_pat_guess" not in text and issued.token not in text
    assert PASSWORD not in text
