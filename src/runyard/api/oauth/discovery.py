"""Discovery (RFC 8414 `/.well-known/oauth-authorization-server`, OpenID Connect Discovery
`/.well-known/openid-configuration`), the JWKS, and `userinfo` (OpenID Connect Core §5.3: the
bearer's claims, for any credential the API accepts)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.authentication import authenticate
from runyard.api.http import JSONResponse, call
from runyard.api.oauth.forms import issuer
from runyard.api.routing import Endpoint, services
from runyard.domain.errors import Unauthenticated
from runyard.domain.oauth import CLI_CLIENT_ID, DEVICE_CODE_GRANT, SCOPES_SUPPORTED

_CACHE = {"Cache-Control": "public, max-age=300"}


def metadata(base: str) -> dict[str, object]:
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "device_authorization_endpoint": f"{base}/oauth/device_authorization",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "userinfo_endpoint": f"{base}/oauth/userinfo",
        "jwks_uri": f"{base}/oauth/jwks",
        "scopes_supported": list(SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "name",
            "preferred_username",
            "is_admin",
            "roles",
        ],
        "runyard_cli_client_id": CLI_CLIENT_ID,
    }


async def discovery(request: Request) -> Response:
    return JSONResponse(metadata(issuer(request)), headers=_CACHE)


async def jwks(request: Request) -> Response:
    keys = await call(services(request).identity.oauth.keys.jwks)
    return JSONResponse(keys, headers=_CACHE)


async def userinfo(request: Request) -> Response:
    identity = services(request).identity
    challenge = {"WWW-Authenticate": 'Bearer realm="runyard"', "Cache-Control": "no-store"}
    if not identity.enabled or not (request.headers.get("authorization") or "").lower().startswith("bearer "):
        body = {"error": "invalid_token", "error_description": "A bearer access token is required."}
        return JSONResponse(body, status_code=401, headers=challenge)
    try:
        principal = await authenticate(request)
    except Unauthenticated:
        body = {"error": "invalid_token", "error_description": "The access token is invalid, expired or revoked."}
        return JSONResponse(body, status_code=401, headers=challenge)
    assert principal is not None
    info = dict(identity.oauth.user_info(principal, "openid profile"))
    info["kind"] = principal.kind
    return JSONResponse(info, headers={"Cache-Control": "no-store"})


ENDPOINTS = [
    Endpoint("GET", "/.well-known/oauth-authorization-server", discovery, "public"),
    Endpoint("GET", "/.well-known/openid-configuration", discovery, "public"),
    Endpoint("GET", "/oauth/jwks", jwks, "public"),
    Endpoint("GET", "/oauth/userinfo", userinfo, "public"),
]
