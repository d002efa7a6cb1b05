"""Single sign-on without a server: the claim-mapping rules (`domain.sso`), the `--oidc-*` settings'
validation, client redirect URI rules, and the relying party's ID-token checks against a key made
here (signature, `iss`, `aud`, `exp`, `nonce`)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from runyard.config import ConfigError, Settings
from runyard.domain.oauth import client_redirect_uri_problem
from runyard.domain.sso import (
    RoleName,
    claim_matches,
    local_name,
    parse_admin_claim,
    plan_role_sync,
    role_names,
)
from runyard.services.identity.oauth.upstream_provider import (
    ProviderMetadata,
    UpstreamClient,
    UpstreamProvider,
    UpstreamRefused,
    UpstreamUnavailable,
    _metadata,
)

# --- claim mapping ---------------------------------------------------------------------------------


def test_admin_claim_is_claim_equals_value() -> None:
    assert parse_admin_claim("groups=runyard-admins") == ("groups", "runyard-admins")
    assert parse_admin_claim("is_admin=true") == ("is_admin", "true")
    assert parse_admin_claim("url=https://x/?a=b") == ("url", "https://x/?a=b")
    for bad in ("groups", "=x", "groups=", " = "):
        with pytest.raises(ValueError, match="CLAIM=VALUE"):
            parse_admin_claim(bad)


@pytest.mark.parametrize(
    ("value", "expected", "matches"),
    [
        ("admins", "admins", True),
        ("admins", "Admins", False),
        (["users", "admins"], "admins", True),
        (["users"], "admins", False),
        (True, "true", True),
        (False, "true", False),
        (False, "false", True),
        ([True], "true", True),
        ("true", "true", True),
        (1, "1", True),
        (None, "None", False),
        ({"admins": 1}, "admins", False),
    ],
)
def test_admin_claim_matching(value: object, expected: str, matches: bool) -> None:
    assert claim_matches({"c": value}, "c", expected) is matches


def test_admin_claim_missing_is_not_admin() -> None:
    assert not claim_matches({}, "groups", "admins")


def test_role_claim_names_workspace_roles() -> None:
    assert role_names(["team/readers", "writers", "team/readers"]) == [
        RoleName("default", "writers"),
        RoleName("team", "readers"),
    ]
    assert role_names("team/readers  default/ops ml/a/b") == [
        RoleName("default", "ops"),
        RoleName("ml", "a/b"),
        RoleName("team", "readers"),
    ]
    assert role_names(["/x", "team/", "", "  ", 3, None]) == []
    assert role_names(None) == [] and role_names(42) == [] and role_names({"team": "readers"}) == []
    assert str(RoleName("team", "readers")) == "team/readers"


def test_first_sign_in_name_order() -> None:
    def valid(name: str) -> bool:
        return ":" not in name

    claims: dict[str, object] = {"sub": "s-1", "email": "a@example.com", "preferred_username": "alice"}
    assert local_name(claims, valid) == "alice"
    assert local_name({"sub": "s-1", "email": "a@example.com"}, valid) == "a@example.com"
    assert local_name({"sub": "s-1", "email": "", "preferred_username": 7}, valid) == "s-1"
    assert local_name({"sub": "s-1", "preferred_username": "bad:name"}, valid) == "s-1"
    assert local_name({"sub": "a:b"}, valid) is None


def test_role_sync_touches_only_its_own_memberships() -> None:
    # Named 1 (new) and 2 (synced, kept); 3 synced but no longer named; 4 made by an administrator.
    plan = plan_role_sync(named={1, 2}, synced={2, 3}, members={2, 3, 4})
    assert plan.assign == {1} and plan.unassign == {3} and plan.forget == {3}
    # An administrator's membership that the claim also names is neither re-made nor claimed.
    plan = plan_role_sync(named={4}, synced=set(), members={4})
    assert plan.assign == set() and plan.unassign == set() and plan.forget == set()
    # The claim names nothing any more: only single sign-on's memberships go.
    plan = plan_role_sync(named=set(), synced={1, 2}, members={1, 2, 4})
    assert plan.assign == set() and plan.unassign == {1, 2} and plan.forget == {1, 2}
    # A synced record whose membership an administrator removed: dropped, or re-made when named.
    assert plan_role_sync(named=set(), synced={5}, members=set()).forget == {5}
    again = plan_role_sync(named={5}, synced={5}, members=set())
    assert again.assign == {5} and again.forget == set()


# --- settings --------------------------------------------------------------------------------------

SSO = {"oidc_issuer": "https://id.example.com", "oidc_client_id": "rp", "oidc_client_secret_env": "SSO_SECRET"}


def test_complete_sso_settings_are_accepted_and_survive_the_worker_environment() -> None:
    settings = Settings(auth="on", oidc_admin_claim="groups=admins", oidc_role_claim="roles", **SSO)  # type: ignore[arg-type]
    rebuilt = Settings.from_env(settings.to_env())
    for name in ("oidc_issuer", "oidc_client_id", "oidc_client_secret_env", "oidc_admin_claim", "oidc_role_claim"):
        assert getattr(rebuilt, name) == getattr(settings, name)
    assert settings.oidc_client_secret({"SSO_SECRET": "s3cret"}) == "s3cret"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"oidc_client_id": None}, "--oidc-issuer needs --oidc-client-id"),
        ({"oidc_client_secret_env": None}, "--oidc-issuer needs --oidc-client-secret-env"),
        ({"oidc_client_id": None, "oidc_client_secret_env": None}, "--oidc-client-id and --oidc-client-secret-env"),
        ({"auth": "off"}, "single sign-on needs --auth on"),
        ({"auth": None}, "single sign-on needs --auth on"),  # loopback host: authentication is off
        ({"oidc_issuer": "id.example.com"}, "expected the provider's http(s) issuer URL"),
        ({"oidc_issuer": "https://id.example.com/#x"}, "expected the provider's http(s) issuer URL"),
        ({"oidc_admin_claim": "groups"}, "--oidc-admin-claim"),
        ({"oidc_role_claim": " "}, "--oidc-role-claim"),
        ({"oidc_issuer": None}, "--oidc-client-id, --oidc-client-secret-env without --oidc-issuer"),
    ],
)
def test_incomplete_sso_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"auth": "on", **SSO, **changes}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings(**values)


def test_the_secret_variable_must_hold_a_value_and_the_message_names_only_the_variable() -> None:
    settings = Settings(auth="on", **SSO)  # type: ignore[arg-type]
    for environ in ({}, {"SSO_SECRET": ""}):
        with pytest.raises(ConfigError, match="SSO_SECRET is not set or empty"):
            settings.oidc_client_secret(environ)


# --- client redirect URIs --------------------------------------------------------------------------


def test_client_redirect_uri_rules() -> None:
    for good in ("https://app.example.com/cb", "http://127.0.0.1:8080/login/sso/callback", "https://h/cb?x=1"):
        assert client_redirect_uri_problem(good) is None, good
    assert "fragment" in (client_redirect_uri_problem("https://app.example.com/cb#x") or "")
    assert "user info" in (client_redirect_uri_problem("https://u:p@app.example.com/cb") or "")
    for bad in ("/cb", "app.example.com/cb", "ftp://h/cb", "javascript:alert(1)", "https:///cb", "", "https://h/ cb"):
        assert client_redirect_uri_problem(bad) is not None, bad
    assert client_redirect_uri_problem("https://h:99999/cb") == "not a valid URL"


# --- the relying party's ID-token checks -----------------------------------------------------------

ISSUER = "https://id.example.com"
CLIENT_ID = "rp-client"
NONCE = "n-0123456789"
METADATA = ProviderMetadata(ISSUER, f"{ISSUER}/authorize", f"{ISSUER}/token", f"{ISSUER}/jwks", ("RS256",))


@pytest.fixture(scope="module")
def key() -> RSAKey:
    made: RSAKey = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    return made


def _provider(key: RSAKey) -> UpstreamProvider:
    provider = UpstreamProvider(UpstreamClient(ISSUER, CLIENT_ID, "the-client-secret"))
    provider._jwks = dict(KeySet([key]).as_dict(private=False))
    return provider


def _token(key: RSAKey, **changes: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": [CLIENT_ID],
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "preferred_username": "alice",
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def test_a_valid_id_token_gives_its_claims(key: RSAKey) -> None:
    claims = _provider(key).validate_id_token(METADATA, _token(key), NONCE, None)
    assert claims["sub"] == "user-1" and claims["preferred_username"] == "alice"
    assert _provider(key).validate_id_token(METADATA, _token(key, aud=CLIENT_ID), NONCE, None)["sub"] == "user-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example.com"},
        {"aud": ["another-client"]},
        {"exp": int(time.time()) - 3600},
        {"nonce": "another-nonce"},
        {"nonce": None},
        {"sub": None},
        {"exp": None},
    ],
)
def test_id_tokens_that_do_not_validate_are_refused(key: RSAKey, changes: dict[str, object]) -> None:
    with pytest.raises(UpstreamRefused):
        _provider(key).validate_id_token(METADATA, _token(key, **changes), NONCE, None)


def test_an_id_token_signed_by_another_key_is_refused(key: RSAKey, monkeypatch: pytest.MonkeyPatch) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    provider = _provider(key)
    # The unknown signature makes the provider fetch the key set again; it still holds only `key`.
    monkeypatch.setattr(provider, "_get_json", lambda url, what: KeySet([key]).as_dict(private=False))
    with pytest.raises(UpstreamRefused, match="signature"):
        provider.validate_id_token(METADATA, _token(other), NONCE, None)
    with pytest.raises(UpstreamRefused):
        provider.validate_id_token(METADATA, "not.a.jwt", NONCE, None)


def test_discovery_must_name_the_configured_issuer() -> None:
    body = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/a",
        "token_endpoint": f"{ISSUER}/t",
        "jwks_uri": f"{ISSUER}/k",
        "id_token_signing_alg_values_supported": ["RS256", "none", "HS256"],
    }
    assert _metadata(ISSUER + "/", body).algorithms == ("RS256",)
    with pytest.raises(UpstreamUnavailable, match="another issuer"):
        _metadata("https://other.example.com", body)
    with pytest.raises(UpstreamUnavailable, match="token_endpoint"):
        _metadata(ISSUER, {**body, "token_endpoint": ""})
    with pytest.raises(UpstreamUnavailable):
        _metadata(ISSUER, ["not", "an", "object"])


def test_an_unreachable_provider_is_reported_without_the_secret() -> None:
    provider = UpstreamProvider(UpstreamClient("http://127.0.0.1:9", CLIENT_ID, "the-client-secret"), timeout=2)
    with pytest.raises(UpstreamUnavailable) as caught:
        provider.metadata()
    assert "could not be reached" in str(caught.value) and "the-client-secret" not in str(caught.value)
    assert "the-client-secret" not in repr(UpstreamClient(ISSUER, CLIENT_ID, "the-client-secret"))
