"""Log formats and the access log.

Every record gets the id of the request it was emitted for (`RequestIdFilter`, from the context
variable of `request_ids`). Two formats (`--log-format`):

- `text`: `time LEVEL logger: message`, then ` request_id=<id>` when emitted while handling a request;
- `json`: one object per line with `timestamp` (UTC, ISO 8601, milliseconds), `level`, `logger`,
  `message`, `request_id` (null outside a request), `exception` (a traceback, when there is one),
  and for access lines `method`, `path`, `status`, `duration_ms`, `client`.

Access lines (`--access-log`, logger `runyard.access`) name the path and the query string with the
values of parameters that may carry secrets (`code`, `token`, `password`, ...) masked; no header is
ever logged (an `Authorization` header, a session cookie).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final
from urllib.parse import unquote_plus

import orjson

from runyard.observe import request_ids

ACCESS_LOGGER: Final = "runyard.access"
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK: Final = "***"
# Query parameters whose values are never logged: OAuth codes and tokens, passwords, signatures.
SECRET_PARAMETERS: Final = frozenset({"code", "key", "state", "sig", "jwt", "session", "auth", "authorization"})
SECRET_WORDS: Final = ("token", "password", "passwd", "secret", "signature", "credential", "apikey", "api_key")
# Attributes an access line's record carries besides the standard ones (JSON fields of their own).
ACCESS_FIELDS: Final = ("method", "path", "status", "duration_ms", "client")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or None) on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_ids.current()
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, with ` request_id=<id>` appended inside a request."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id is None:
            return line
        # After the message's first line, so a traceback below it stays as it was.
        first, sep, rest = line.partition("\n")
        return f"{first} request_id={request_id}{sep}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": iso_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=str).decode()


def iso_timestamp(created: float) -> str:
    """`2025-01-31T12:34:56.789Z` for a record's `created` time."""
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def secret_parameter(name: str) -> bool:
    """Whether a query parameter's value must not be logged."""
    lowered = name.lower()
    return lowered in SECRET_PARAMETERS or any(word in lowered for word in SECRET_WORDS)


def redacted_query(query: bytes) -> str:
    """The query string as sent, but for the values of secret parameters (`code=***`)."""
    text = query.decode("latin-1")
    parts = []
    for part in text.split("&"):
        name, sep, _value = part.partition("=")
        if sep and secret_parameter(unquote_plus(name)):
            parts.append(f"{name}={MASK}")
        else:
            parts.append(part)
    return "&".join(parts)


def request_target(raw_path: bytes, query: bytes) -> str:
    """The path and query of an access line: percent-encoded as sent (a `%0A` stays three
    characters: no line can be forged), secrets masked."""
    path = raw_path.decode("latin-1")
    return f"{path}?{redacted_query(query)}" if query else path


def log_access(
    logger: logging.Logger,
    *,
    client: str,
    method: str,
    target: str,
    http_version: str,
    status: int,
    duration_ms: float,
) -> None:
    """One access line: `client - "METHOD target HTTP/1.1" status 1.2ms` (plus the request id)."""
    logger.info(
        '%s - "%s %s HTTP/%s" %d %.1fms',
        client,
        method,
        target,
        http_version,
        status,
        duration_ms,
        extra={
            "method": method,
            "path": target,
            "status": status,
            "duration_ms": round(duration_ms, 3),
            "client": client,
        },
    )
