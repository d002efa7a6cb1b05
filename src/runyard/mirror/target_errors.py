"""What went wrong talking to a mirror target, classified for the replicator's retry decision.

A `TargetError` carries the HTTP status (None when no answer came: connection refused, reset,
timeout), the MLflow `error_code` of a JSON error body, the `Retry-After` of a 429/503 answer,
and a short message naming the request (method and path, never the query or any header) with the
target's own words, truncated. Messages pass through a redactor that blanks every secret the
client knows of, so a target echoing a header back cannot leak it into logs.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Iterable
from typing import Final

import httpx

from runyard.domain.mirror import backoff_seconds

MESSAGE_LIMIT: Final = 300
RESOURCE_DOES_NOT_EXIST: Final = "RESOURCE_DOES_NOT_EXIST"
ENDPOINT_NOT_FOUND: Final = "ENDPOINT_NOT_FOUND"
# Statuses a retry can cure (the MLflow client's own set plus every other 5xx but 501).
_TRANSIENT_STATUSES: Final = frozenset({408, 425, 429})
_RETRY_AFTER_STATUSES: Final = frozenset({429, 503})

Redactor = Callable[[str], str]


class TargetError(Exception):
    """A failed call to a mirror target (see the module docstring)."""

    status: int | None
    error_code: str | None
    message: str
    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
        transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.retry_after = retry_after
        self._transient = transient

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"TargetError(status={self.status!r}, error_code={self.error_code!r}, message={self.message!r})"

    @property
    def transient(self) -> bool:
        """Whether the same call may succeed later: no answer at all (connection error, timeout),
        408, 425, 429 and every 5xx except 501. 4xx answers, 401 and 403 included, are permanent
        for the item (a 401 left after the client-credentials token was refreshed is marked
        transient when the call could not be replayed: the next attempt carries the new token)."""
        if self._transient is not None:
            return self._transient
        if self.status is None:
            return True
        return self.status in _TRANSIENT_STATUSES or (self.status >= 500 and self.status != 501)

    @property
    def not_found(self) -> bool:
        """The named object does not exist on the target (404 or RESOURCE_DOES_NOT_EXIST), as
        opposed to the target not having the endpoint at all (`endpoint_missing`)."""
        if self.error_code == RESOURCE_DOES_NOT_EXIST:
            return True
        return self.status == 404 and not self.endpoint_missing

    @property
    def endpoint_missing(self) -> bool:
        """The target has no such route: 404/405 without a JSON error body (the MLflow server's
        HTML page) or with ENDPOINT_NOT_FOUND, e.g. an MLflow 2 server asked for logged models."""
        if self.status not in (404, 405):
            return False
        return self.error_code in (None, ENDPOINT_NOT_FOUND)

    def retry_delay(self, attempt: int, *, jitter: float = 0.0) -> float:
        """Seconds to wait before attempt `attempt + 1`: the target's Retry-After when it sent one,
        else the domain's exponential backoff."""
        if self.retry_after is not None:
            return self.retry_after
        return backoff_seconds(attempt, jitter=jitter)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 850 / asctime forms parse as naive; HTTP dates are GMT
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _text_of(body: bytes, content_type: str) -> str:
    text = body[:4096].decode("utf-8", errors="replace")
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        text = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    return text


def error_from_response(method: str, path: str, response: httpx.Response, redact: Redactor) -> TargetError:
    """The `TargetError` of a non-2xx answer whose body has been read."""
    status = response.status_code
    error_code: str | None = None
    detail = ""
    body = response.content
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        code = parsed.get("error_code") or parsed.get("error")
        error_code = code if isinstance(code, str) and code else None
        said = parsed.get("message") or parsed.get("error_description") or ""
        detail = said if isinstance(said, str) else json.dumps(said)
    elif body:
        detail = _text_of(body, response.headers.get("content-type", ""))
    retry_after = parse_retry_after(response.headers.get("retry-after")) if status in _RETRY_AFTER_STATUSES else None
    reason = f"{error_code}: {detail}" if error_code and detail else (error_code or detail or response.reason_phrase)
    message = f"{method} {path} failed: HTTP {status}" + (f" ({shorten(redact(reason))})" if reason else "")
    return TargetError(redact(message), status=status, error_code=error_code, retry_after=retry_after)


def error_from_exception(method: str, path: str, exc: Exception, redact: Redactor) -> TargetError:
    """The transient `TargetError` of a request that got no answer."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not reach the target"
    detail = shorten(redact(f"{type(exc).__name__}: {exc}"))
    return TargetError(f"{method} {path} {kind} ({detail})", transient=True)


def make_redactor(secrets: Callable[[], Iterable[str]]) -> Redactor:
    """A function blanking every current secret (`secrets` is asked afresh each time: access
    tokens change) out of a text."""

    def redact(text: str) -> str:
        for secret in secrets():
            if secret:
                text = text.replace(secret, "***")
        return text

    return redact
