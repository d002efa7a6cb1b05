"""The OAuth rules that need no server, held by properties: loopback redirect URIs (RFC 8252),
user codes, the post-login `next` (never another host), the strict form parser; and forged tokens
— `alg: none`, an ID token, the JWKS's public key used as an HMAC secret, a refresh token, an
expired or foreign-signed token — never verify as access tokens."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import OctKey

from runyard.api.oauth.forms import OAuthError, _pairs
from runyard.api.oauth.pages import local_next
from runyard.domain.oauth import USER_CODE_ALPHABET, is_loopback_redirect, normalize_user_code
from runyard.services.identity.oauth.keys import ProviderKeys
from runyard.services.identity.signing import Signer
from runyard.store.database import Database

ports = st.integers(min_value=1, max_value=65535)
paths = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/.", max_size=30).map(lambda p: "/" + p)


@given(st.sampled_from(["127.0.0.1", "[::1]", "localhost", "127.5.6.7"]), ports, paths)
def test_loopback_redirects_on_any_port_and_path_are_accepted(host: str, port: int, path: str) -> None:
    assert is_loopback_redirect(f"http://{host}:{port}{path}")


@given(
    st.sampled_from(
        [
            "https://127.0.0.1:{p}/cb",  # a native app's loopback listener speaks plain http
            "http://10.0.0.1:{p}/cb",
            "http://evil.example:{p}/cb",
            "http://127.0.0.1.evil.example:{p}/cb",
            "http://user@127.0.0.1:{p}/cb",
            "http://127.0.0.1:{p}/cb#fragment",
            "http://localhost.:{p}/cb",
            "javascript://127.0.0.1:{p}/%0aalert(1)",
            "//127.0.0.1:{p}/cb",
        ]
    ),
    ports,
)
def test_anything_else_is_refused(template: str, port: int) -> None:
    assert not is_loopback_redirect(template.format(p=port))


@given(st.lists(st.sampled_from(USER_CODE_ALPHABET), min_size=8, max_size=8), st.sampled_from(["", "-", " ", " - "]))
def test_a_user_code_is_found_however_it_is_typed(letters: list[str], separator: str) -> None:
    code = "".join(letters)
    typed = (code[:4] + separator + code[4:]).lower()
    assert normalize_user_code(typed) == f"{code[:4]}-{code[4:]}"


@given(st.text(max_size=20))
def test_user_codes_are_eight_letters_of_the_alphabet_or_nothing(text: str) -> None:
    normalized = normalize_user_code(text)
    assert normalized == "" or (
        len(normalized) == 9
        and normalized[4] == "-"
        and all(c in USER_CODE_ALPHABET for c in normalized.replace("-", ""))
    )


@given(st.text(max_size=60))
def test_next_never_leaves_the_server(value: str) -> None:
    target = local_next(value)
    parts = urlsplit(target)
    assert target.startswith("/") and not target.startswith("//") and not target.startswith("/\\")
    assert parts.scheme == "" and parts.netloc == ""
    assert not any(ch in target for ch in "\r\n\t\x00")


@given(st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=8))
def test_the_form_parser_reads_back_what_was_encoded(form: dict[str, str]) -> None:
    clean = {k: v for k, v in form.items() if "\x00" not in k and "\x00" not in v}
    assert _pairs(urlencode(clean)) == clean


@given(st.text(min_size=1, max_size=10), st.text(max_size=10), st.text(max_size=10))
def test_a_repeated_parameter_is_refused(name: str, a: str, b: str) -> None:
    with pytest.raises(OAuthError):
        _pairs(urlencode([(name, a), (name, b)]))


# --- forged tokens ---------------------------------------------------------------------------------


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_forged_tokens_never_verify(db: Database) -> None:
    signer = Signer(db, None, 60)
    good, _ = signer.issue(1, "ann", 1)
    assert signer.verify(good) is not None
    now = int(time.time())
    payload = {"iss": "runyard", "sub": "admin", "pid": 1, "cv": 1, "iat": now, "exp": now + 600}
    keys = ProviderKeys(db)
    rsa = keys.signing_key()
    public = keys.jwks()["keys"][0]
    forged = [
        _unsigned(payload),  # alg: none
        jwt.encode({"alg": "RS256", "kid": rsa.kid or ""}, payload, rsa, algorithms=["RS256"]),  # the ID-token key
        # The RSA public key (published) used as an HMAC secret: the classic algorithm confusion.
        jwt.encode({"alg": "HS256"}, payload, OctKey.import_key(json.dumps(public).encode()), algorithms=["HS256"]),
        jwt.encode({"alg": "HS256"}, payload, OctKey.import_key(b"k" * 32), algorithms=["HS256"]),  # another key
        jwt.encode({"alg": "HS256"}, {**payload, "iss": "elsewhere"}, signer._signing_key(), algorithms=["HS256"]),
        jwt.encode({"alg": "HS256"}, {**payload, "exp": now - 1}, signer._signing_key(), algorithms=["HS256"]),
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # a tampered signature
        "ryd_rt_" + "a" * 43,  # a refresh token is not an access token
    ]
    for token in forged:
        assert signer.verify(token) is None, token
