"""Whose `mlflow-artifacts:` path is it: refusing artifact requests for another workspace's paths.

Every workspace has a namespace of its own (see `services.artifacts`), so a path can never reach
another workspace's files. But the paths the server hands out (`mlflow-artifacts:/<experiment>/<run>/
artifacts`) do not name their workspace, and a client whose workspace is not the run's would see
"no such artifact" on a read and, worse, create a stray folder of the same name in its own namespace
on a write. Like `mlflow server` with workspaces enabled, such requests are refused with 400
`INVALID_PARAMETER_VALUE` before anything is read or written.

A path belongs to another workspace when

* it lies inside the artifact location of an experiment of another workspace, and of no experiment
  of the request's own workspace (each workspace's namespace is separate, so two workspaces may both
  hold an experiment at `mlflow-artifacts:/shared`: the request's own one wins); or
* it has the form `mlflow server` gives artifact paths with workspaces enabled,
  `workspaces/<name>/...`, and `<name>` is an existing workspace other than the request's (other
  names are ordinary folders of the request's namespace, as they were before this rule).

The refusal for the first form names the request's workspace only: the path itself does not say
whose it is, and the answer must not tell a caller the name of a workspace it cannot see.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection

from runyard.artifacts.paths import clean_relative_path
from runyard.domain.errors import invalid, permission_denied
from runyard.services.artifact_roots import ARTIFACTS_SCHEME
from runyard.services.context import RequestContext
from runyard.store import experiments as exp_store
from runyard.store import workspaces as ws_store
from runyard.store.database import Database

# Experiment locations deeper than this many segments are not looked for (one bound parameter each).
MAX_LOCATION_SEGMENTS: Final = 256
# `mlflow server`'s prefix for a workspace's artifacts when workspaces are enabled.
REFERENCE_PREFIX: Final = "workspaces"


class ArtifactOwners:
    """Refuses artifact paths that belong to another workspace (one read transaction per request)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def check(self, ctx: RequestContext, path: str) -> None:
        """Raise 400 if `path` (relative to the workspace's namespace) belongs to another workspace."""
        cleaned = clean_relative_path(path)
        if not cleaned:
            if ctx.access is not None and not ctx.access.is_admin:
                raise permission_denied("Permission denied: the artifact root is for administrators.")
            return
        segments = cleaned.split("/")
        depth = min(len(segments), MAX_LOCATION_SEGMENTS)
        locations = [f"{ARTIFACTS_SCHEME}/{'/'.join(segments[:n])}" for n in range(1, depth + 1)]
        named = segments[1] if len(segments) >= 2 and segments[0] == REFERENCE_PREFIX else None
        own = ctx.workspace
        with self._db.read() as conn:
            if named is not None and named != own.name:
                other = ws_store.get_by_name(conn, named)
                if other is not None:
                    raise invalid(
                        f"Artifact path targets workspace '{named}' but the workspace specified in the request "
                        f"is '{own.name}'."
                    )
            claimants = exp_store.workspaces_with_location(conn, locations)
            if claimants and own.id not in claimants:
                raise invalid(
                    f"Artifact path '{cleaned[:200]}' belongs to another workspace, not to the workspace specified "
                    f"in the request ('{own.name}')."
                )
            if ctx.access is not None:
                self._authorize(conn, ctx, cleaned, locations)

    @staticmethod
    def _authorize(conn: Connection, ctx: RequestContext, cleaned: str, locations: list[str]) -> None:
        """With authentication on: the caller must hold the route's level on the experiment whose
        artifact location holds the path (the deepest, if locations nest); a path of no experiment
        is for administrators only (nothing the MLflow client writes lies outside an experiment)."""
        access = ctx.access
        assert access is not None
        if access.is_admin:
            return
        owners = exp_store.at_locations(conn, ctx.workspace.id, locations)
        if not owners:
            raise permission_denied(
                f"Permission denied: artifact path '{cleaned[:200]}' belongs to no experiment of this workspace."
            )
        experiment_id, name, _location = max(owners, key=lambda o: len(o[2]))
        ctx.authorize_experiment(experiment_id, name, conn=conn)
