"""The identity commands of `runyard` (against the database directly, like `runyard workspace`):
`user`, `token`, `sp` (service principals), `grant`, `role` and `audit`, a module each.

Secrets are shown once, by the command that makes them (a generated password, a personal access
token, a client secret), and nowhere else; the audit log records the command line as actor `cli`.
"""

from __future__ import annotations

import click

from runyard.cli_identity.audit import audit
from runyard.cli_identity.common import parse_duration_ms, parse_since_ms
from runyard.cli_identity.grants import grant
from runyard.cli_identity.roles import role
from runyard.cli_identity.service_principals import sp
from runyard.cli_identity.tokens import token
from runyard.cli_identity.users import user

COMMANDS = [user, token, sp, grant, role, audit]
__all__ = ["COMMANDS", "parse_duration_ms", "parse_since_ms", "register"]


def register(main: click.Group) -> None:
    for command in COMMANDS:
        main.add_command(command)
