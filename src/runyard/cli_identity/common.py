"""What the identity commands share: the store they open, the actor they record, output helpers,
duration parsing, and the `--user` / `--sp` selector."""

from __future__ import annotations

import json
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runyard.cli import _services

if TYPE_CHECKING:
    from runyard.domain.identity import Principal
    from runyard.services.container import Services


JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON).")
PERMISSION_CHOICE = click.Choice(["READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS", "DENY"], case_sensitive=False)
DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
GENERATED_PASSWORD_BYTES = 18


@contextmanager
def opened(
    data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None, *, create: bool = True
) -> Iterator[Services]:
    """The services over the store (`create=False`: a command that only reads refuses a missing database)."""
    services = _services(data_dir, backend_store_uri, artifacts_destination, create=create)
    try:
        yield services
    finally:
        services.close()


def actor() -> Any:
    from runyard.services.identity.audit import Actor

    return Actor.cli()


def emit(value: object) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def format_time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration_ms(text: str) -> int:
    """`30d`, `12h`, `90m`, `45s`, `2w` → milliseconds (BadParameter otherwise)."""
    match = DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise click.BadParameter(f"'{text}' is not a duration such as 30d, 12h, 90m or 2w.")
    return int(match.group(1)) * UNIT_MS[match.group(2)]


def parse_since_ms(text: str, now_ms: int) -> int:
    """An ISO 8601 time (`2026-12-01`, `2026-12-01T10:00:00Z`) or a duration back from now (`24h`)."""
    if DURATION.match(text):
        return now_ms - parse_duration_ms(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"'{text}' is neither an ISO 8601 time nor a duration such as 24h.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


def read_password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated): one line from standard input, or a new random one."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.ClickException("No password on standard input.")
        return line, False
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES), True


def principal_json(p: Principal) -> dict[str, object]:
    out: dict[str, object] = {
        "id": p.id,
        "name": p.name,
        "kind": p.kind,
        "is_admin": p.is_admin,
        "enabled": p.enabled,
        "creation_time": p.creation_time,
        "last_update_time": p.last_update_time,
    }
    if p.client_id is not None:
        out["client_id"] = p.client_id
    return out


def principal_line(p: Principal) -> str:
    flags = [f for f, on in (("admin", p.is_admin), ("disabled", not p.enabled)) if on]
    extra = f"  client_id={p.client_id}" if p.client_id else ""
    return f"{p.name}{'  [' + ', '.join(flags) + ']' if flags else ''}{extra}"


def require_kind(services: Services, name: str, kind: str) -> Principal:
    from runyard.domain.errors import MlflowError

    found = services.identity.accounts.get(name)
    if found.kind != kind:
        what = "a user" if kind == "user" else "a service principal"
        raise MlflowError(f"'{name}' is not {what}.")
    return found


def principal_option(
    user_name: str | None, sp_name: str | None, *, required: bool = True
) -> tuple[str | None, str | None]:
    """(name, kind) of `--user NAME` / `--sp NAME` (exactly one, unless not `required`)."""
    if user_name and sp_name:
        raise click.UsageError("Give --user or --sp, not both.")
    if user_name:
        return user_name, "user"
    if sp_name:
        return sp_name, "service_principal"
    if required:
        raise click.UsageError("Give --user NAME or --sp NAME.")
    return None, None


def list_principals(
    kind: str, as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Print the users or the service principals, a line (or a JSON object) each."""
    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        found = services.identity.accounts.list(kind)
    if as_json:
        emit([principal_json(p) for p in found])
    else:
        for p in found:
            click.echo(principal_line(p))
