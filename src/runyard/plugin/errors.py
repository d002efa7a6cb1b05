"""The plugin's errors: each carries one line fit to show the user as it is (no secret in any)."""

from __future__ import annotations

from dataclasses import dataclass


class ClientError(Exception):
    """A failure the user can act on; `str()` is the one-line message."""


class ServerUnreachable(ClientError):
    def __init__(self, base_url: str, reason: str):
        super().__init__(f"Cannot reach the Runyard server at {base_url}: {reason}")
        self.base_url = base_url


class OAuthError(ClientError):
    """An RFC 6749 §5.2 answer (`error`, `error_description`), or a malformed one."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status


class LoginFailed(ClientError):
    """An interactive sign-in that did not end with tokens (denied, expired, timed out)."""


@dataclass(frozen=True)
class Attempt:
    """One step of the credential chain and what became of it."""

    method: str
    outcome: str


class NoCredentials(ClientError):
    """Every step of the chain was skipped or failed: the message lists each with its reason."""

    def __init__(self, base_url: str, attempts: list[Attempt]):
        tried = "; ".join(f"{a.method}: {a.outcome}" for a in attempts)
        super().__init__(
            f"No usable Runyard credentials for {base_url} ({tried}). "
            f"Sign in with `runyard login {base_url}`, or set RUNYARD_TOKEN or RUNYARD_CLIENT_ID/RUNYARD_CLIENT_SECRET."
        )
        self.base_url = base_url
        self.attempts = list(attempts)
