"""The check made when a link is created: the target answers, accepts the credentials, and has the
target workspace (a link to a workspace that does not exist is refused with a clear message)."""

from __future__ import annotations

from runyard.domain.errors import INVALID_PARAMETER_VALUE, MlflowError
from runyard.domain.mirror import TargetCredentials
from runyard.mirror.target import Target, TargetError


def probe_target(url: str, workspace: str | None, credentials: TargetCredentials) -> None:
    target = Target(url, workspace, credentials, timeout=15.0)
    try:
        if workspace:
            try:
                target.call("GET", f"/api/3.0/mlflow/workspaces/{workspace}")
            except TargetError as e:
                if e.not_found:
                    raise MlflowError(
                        f"The target {url} has no workspace '{workspace}' (create it there first), "
                        f"or does not serve workspaces: {e.message}",
                        INVALID_PARAMETER_VALUE,
                    ) from None
                raise
        target.call("GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1})
    except TargetError as e:
        raise MlflowError(f"The target {url} cannot be used: {e.message}", INVALID_PARAMETER_VALUE) from None
    finally:
        target.close()
