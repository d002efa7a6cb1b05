"""The `requests` auth that puts the chain's bearer token on every request to a Runyard server,
and retries a request once with a fresh token when the server answers 401 (a token revoked or
expired in flight), so a long job keeps logging.

Which server a request is for: the API hosts of `runyard://` URIs are registered when their store
is built (`register`); any other URL (a plain http(s) tracking URI with `MLFLOW_TRACKING_AUTH=runyard`)
is cut back to its base at `/w/<ws>` or the first API segment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests
from requests.auth import AuthBase

from runyard.plugin.chain import ServerCredentials, for_server
from runyard.plugin.uris import Target, base_of_request_url

_hosts: dict[str, str] = {}
_hosts_lock = threading.Lock()
_RETRIED = "_runyard_retried"


def register(target: Target) -> None:
    """Requests under `target.api_host` (and the base) are for `target.base_url`."""
    with _hosts_lock:
        _hosts[target.api_host.rstrip("/")] = target.base_url
        _hosts[target.base_url.rstrip("/")] = target.base_url


def base_for(url: str) -> str:
    with _hosts_lock:
        known = sorted(_hosts.items(), key=lambda kv: len(kv[0]), reverse=True)
    for prefix, base in known:
        if url == prefix or url.startswith(prefix + "/") or url.startswith(prefix + "?"):
            return base
    return base_of_request_url(url)


class RunyardAuth(AuthBase):
    def __init__(self, credentials_for: Callable[[str], ServerCredentials] | None = None):
        self._credentials_for = credentials_for or (lambda url: for_server(base_for(url)))

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        credentials = self._credentials_for(r.url or "")
        token = credentials.token()
        if token:  # (empty: the server has authentication off)
            r.headers["Authorization"] = f"Bearer {token}"
        body = r.body
        position = None
        if body is not None and hasattr(body, "tell") and hasattr(body, "seek"):
            try:
                position = body.tell()
            except OSError:
                position = None
        r.register_hook("response", _RetryOn401(credentials, token, position))
        return r


class _RetryOn401:
    """A response hook: on 401, renew the token and send the request again (once)."""

    def __init__(self, credentials: ServerCredentials, token: str, body_position: int | None):
        self.credentials = credentials
        self.token = token
        self.body_position = body_position

    def __call__(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        if response.status_code != 401 or getattr(request, _RETRIED, False):
            return response
        if not self.credentials.invalidate(self.token):
            return response
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            if self.body_position is None:
                return response  # a stream that cannot be rewound: the caller sees the 401
            body.seek(self.body_position)  # type: ignore[union-attr]
        fresh = self.credentials.token()
        _ = response.content  # read the refused answer so its connection can be reused
        response.close()
        retry = request.copy()
        setattr(retry, _RETRIED, True)
        retry.headers["Authorization"] = f"Bearer {fresh}"
        connection = getattr(response, "connection", None)
        if connection is None:
            return response
        answer: requests.Response = connection.send(retry, **kwargs)
        answer.history.append(response)
        answer.request = retry
        return answer
