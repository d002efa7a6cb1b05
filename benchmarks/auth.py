"""`--auth-compare`: a second Runyard server with `--auth on`, and the account the client signs in
with — a user (not an admin) with EDIT on the `default` workspace through a workspace grant, created
through Runyard's service layer over the server's own database (no CLI, no HTTP admin calls)."""

from __future__ import annotations

import base64
from pathlib import Path

USER = "bench"
PASSWORD = "bench-password-not-secret"  # a throw-away account on a throw-away database
ADMIN_PASSWORD = "bench-admin-password-not-secret"


def authorization() -> str:
    """The Basic header every target gets (the servers without authentication ignore it)."""
    return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def create_user(data_dir: Path, backend_store_uri: str | None) -> None:
    """The benchmark user on the auth-on server's store (call once the server has migrated it)."""
    from runyard.config import Settings
    from runyard.domain.permissions import EDIT
    from runyard.services.container import Services
    from runyard.services.identity.audit import Actor

    services = Services.build(Settings(data_dir=data_dir, backend_store_uri=backend_store_uri))
    try:
        services.identity.accounts.create_user(Actor.cli(), USER, PASSWORD)
        services.identity.grants.put(Actor.cli(), USER, "default", "workspace", "*", EDIT)
    finally:
        services.close()
