"""The first administrator: created on the first start with authentication on and no accounts.

Its password comes from `RUNYARD_ADMIN_PASSWORD` (refused below the minimum length), or is generated
and printed once to stderr as `admin password: <pw>`. There is no default password."""

from __future__ import annotations

import os
import sys

from runyard.config import StartupError
from runyard.domain.identity import ADMIN_USERNAME, MIN_PASSWORD_LENGTH
from runyard.services.identity.accounts import AccountService
from runyard.services.identity.audit import Actor
from runyard.services.identity.secrets import new_password

ADMIN_PASSWORD_VARIABLE = "RUNYARD_ADMIN_PASSWORD"


def ensure_first_admin(accounts: AccountService) -> None:
    """Create `admin` if there is no account at all (a no-op once any exists)."""
    if accounts.count() > 0:
        return
    given = os.environ.get(ADMIN_PASSWORD_VARIABLE)
    if given is not None and len(given) < MIN_PASSWORD_LENGTH:
        raise StartupError(
            f"{ADMIN_PASSWORD_VARIABLE} is too short: the first admin's password needs at least "
            f"{MIN_PASSWORD_LENGTH} characters."
        )
    password = given or new_password()
    accounts.create_user(Actor(name="server", source="startup"), ADMIN_USERNAME, password, is_admin=True)
    if given is None:
        print(f"admin password: {password}", file=sys.stderr, flush=True)
