"""The upstream OpenID provider, as this server's relying party sees it: discovery (fetched when
first needed, cached, with a timeout), the authorization URL (state, nonce, PKCE S256), the code
exchange at its token endpoint (client_secret_basic) and the ID token's validation (signature
against its JWKS, `iss`, `aud`, `exp`, `nonce`). Authlib builds the authorization URL, the PKCE
challenge and the client authentication, httpx sends the requests and joserfc checks the signature;
nothing here does its own cryptography.

The client secret stays in this object: no message, log line or exception text holds it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

SCOPE = "openid profile email"
HTTP_TIMEOUT_SECONDS = 10.0
METADATA_TTL_SECONDS = 3600.0
CLOCK_LEEWAY_SECONDS = 60
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class UpstreamUnavailable(Exception):
    """The provider could not be reached, or answered something that is not OpenID discovery."""


class UpstreamRefused(Exception):
    """The provider refused the code exchange, or its ID token did not validate."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


@dataclass(frozen=True)
class UpstreamClient:
    """This server's registration at the provider."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)


def _metadata(issuer: str, body: object) -> ProviderMetadata:
    if not isinstance(body, dict):
        raise UpstreamUnavailable("its discovery document is not a JSON object")
    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri") if not body.get(k)]
    if missing:
        raise UpstreamUnavailable(f"its discovery document lacks {', '.join(missing)}")
    if str(body["issuer"]).rstrip("/") != issuer.rstrip("/"):
        raise UpstreamUnavailable("its discovery document names another issuer")
    offered = body.get("id_token_signing_alg_values_supported")
    algorithms = tuple(a for a in offered if a in _ALGORITHMS) if isinstance(offered, list) else ("RS256",)
    return ProviderMetadata(
        issuer=str(body["issuer"]),
        authorization_endpoint=str(body["authorization_endpoint"]),
        token_endpoint=str(body["token_endpoint"]),
        jwks_uri=str(body["jwks_uri"]),
        algorithms=algorithms or ("RS256",),
    )


class UpstreamProvider:
    def __init__(self, client: UpstreamClient, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self._client = client
        self._timeout = timeout
        self._lock = threading.Lock()
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._jwks: dict[str, Any] | None = None

    @property
    def issuer(self) -> str:
        return self._client.issuer

    def _get_json(self, url: str, what: str) -> object:
        try:
            response = httpx.get(url, timeout=self._timeout, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except httpx.HTTPStatusError as e:
            raise UpstreamUnavailable(f"its {what} answered HTTP {e.response.status_code}") from None
        except httpx.HTTPError as e:
            raise UpstreamUnavailable(f"its {what} could not be reached ({type(e).__name__})") from None
        except ValueError:
            raise UpstreamUnavailable(f"its {what} is not JSON") from None

    def metadata(self) -> ProviderMetadata:
        """Discovery (`<issuer>/.well-known/openid-configuration`), cached for an hour once it worked."""
        cached = self._metadata
        if cached is not None and time.monotonic() - cached[0] < METADATA_TTL_SECONDS:
            return cached[1]
        url = self._client.issuer.rstrip("/") + "/.well-known/openid-configuration"
        found = _metadata(self._client.issuer, self._get_json(url, "discovery document"))
        with self._lock:
            self._metadata = (time.monotonic(), found)
        return found

    def _key_set(self, metadata: ProviderMetadata, refresh: bool) -> KeySet:
        jwks = self._jwks
        if jwks is None or refresh:
            body = self._get_json(metadata.jwks_uri, "key set (JWKS)")
            if not isinstance(body, dict):
                raise UpstreamUnavailable("its key set (JWKS) is not a JSON object")
            jwks = body
            with self._lock:
                self._jwks = jwks
        try:
            keys: KeySet = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            return keys
        except (JoseError, ValueError, TypeError, KeyError):
            raise UpstreamUnavailable("its key set (JWKS) holds no usable key") from None

    def authorization_url(self, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        metadata = self.metadata()
        url: str = prepare_grant_uri(
            metadata.authorization_endpoint,
            self._client.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
        return url

    def sign_in(self, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> dict[str, object]:
        """The validated ID token claims of the sign-in the code stands for."""
        metadata = self.metadata()
        body = urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        auth = ClientAuth(self._client.client_id, self._client.client_secret, "client_secret_basic")
        url, headers, body = auth.prepare("POST", metadata.token_endpoint, headers, body)
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as e:
            raise UpstreamUnavailable(f"its token endpoint could not be reached ({type(e).__name__})") from None
        try:
            token = response.json()
        except ValueError:
            token = None
        if not isinstance(token, dict):
            raise UpstreamRefused(f"the provider's token endpoint answered HTTP {response.status_code}")
        if "error" in token or response.status_code != 200:
            raise UpstreamRefused(f"the provider refused the sign-in ({str(token.get('error'))[:80]})")
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise UpstreamRefused("the provider sent no ID token")
        access_token = token.get("access_token")
        return self.validate_id_token(
            metadata, id_token, nonce, access_token if isinstance(access_token, str) else None
        )

    def validate_id_token(
        self, metadata: ProviderMetadata, id_token: str, nonce: str, access_token: str | None
    ) -> dict[str, object]:
        decoded = None
        for refresh in (False, True):  # a key the cached set lacks: the provider rotated, fetch again
            try:
                decoded = jwt.decode(id_token, self._key_set(metadata, refresh), algorithms=list(metadata.algorithms))
                break
            except JoseError as e:
                if refresh:
                    raise UpstreamRefused(f"the ID token's signature does not verify ({e.error})") from None
            except ValueError:
                raise UpstreamRefused("the ID token is malformed") from None
        assert decoded is not None
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": metadata.issuer},
            "aud": {"essential": True, "value": self._client.client_id},
            "exp": {"essential": True},
            "sub": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        }
        params: dict[str, Any] = {"nonce": nonce, "client_id": self._client.client_id}
        if access_token is not None:
            params["access_token"] = access_token
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
        except JoseError as e:
            raise UpstreamRefused(f"the ID token is not valid ({e.error}: {e.description or ''})".strip()) from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise UpstreamRefused("the ID token names no subject")
        return dict(claims)
