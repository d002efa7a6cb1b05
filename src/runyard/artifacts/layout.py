"""Where each workspace's artifacts live under the server's artifact destination, and the one-time
move of a data folder from the old layout to this one.

Layout (every workspace, `default` included, has a folder of its own, none inside another's)::

    <destination>/workspaces/<workspace>/...   a workspace's `mlflow-artifacts:/` namespace
    <destination>/.runyard-layout              marker: the layout version this folder is in

The old layout (before version 2) used the destination itself as `default`'s namespace and
`<destination>/.workspaces/<name>` for the others, inside `default`'s: `default` could reach them.
Stored URIs (`mlflow-artifacts:/<experiment>/<run>/artifacts/...`) are relative to the workspace's
namespace, so moving the folders changes no database row.

The move is renames only (same file system, no copy), done under an exclusive file lock so that
concurrent start-ups (workers, admin commands) cannot interleave, and crash-safe: everything is
first moved into a staging folder, then the marker records "staged", then the staging folder is
renamed to `workspaces`, then the marker records the new version. A crash at any point leaves a
state the next start-up recognises and finishes.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

__all__ = ["LAYOUT_VERSION", "MANAGED_DIR_NAME", "ensure_layout", "is_current", "workspace_folder"]

log = logging.getLogger(__name__)

LAYOUT_VERSION: Final = "2"
MANAGED_DIR_NAME: Final = "workspaces"
MARKER_NAME: Final = ".runyard-layout"
_STAGED: Final = "staged"
_LOCK_NAME: Final = ".runyard-layout.lock"
_STAGING_NAME: Final = ".runyard-layout-staging"
_OLD_WORKSPACES: Final = ".workspaces"
_DEFAULT: Final = "default"
_OWN_NAMES: Final = frozenset({MARKER_NAME, _LOCK_NAME, _STAGING_NAME})


def workspace_folder(destination: str | os.PathLike[str], workspace: str) -> Path:
    """The managed folder of `workspace` under the server's artifact destination."""
    return Path(destination) / MANAGED_DIR_NAME / workspace


def _read_marker(root: Path) -> str | None:
    try:
        return (root / MARKER_NAME).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def _write_marker(root: Path, value: str) -> None:
    staging = root / (MARKER_NAME + ".tmp")
    with open(staging, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, root / MARKER_NAME)
    _fsync_dir(root)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    with open(root / _LOCK_NAME, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def is_current(destination: str | os.PathLike[str]) -> bool:
    """Whether the artifact destination is in the current layout (one small file read)."""
    return _read_marker(Path(destination)) == LAYOUT_VERSION


def ensure_layout(destination: str | os.PathLike[str], keep: Iterable[str] = ()) -> bool:
    """Bring the artifact destination to the current layout; True if anything was moved.

    `keep`: workspaces' configured roots; an entry of the destination that holds one stays where it
    is (it is that workspace's, not `default`'s). Cheap when the folder is already in the current
    layout (one small file read)."""
    root = Path(destination)
    if _read_marker(root) == LAYOUT_VERSION:
        return False
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        state = _read_marker(root)
        if state == LAYOUT_VERSION:
            return False
        staging = root / _STAGING_NAME
        moved = False
        if state != _STAGED:
            moved = _stage(root, staging, [Path(os.path.realpath(k)) for k in keep])
            _write_marker(root, _STAGED)
        if staging.exists():
            os.replace(staging, root / MANAGED_DIR_NAME)
            moved = True
        (root / MANAGED_DIR_NAME).mkdir(exist_ok=True)
        _write_marker(root, LAYOUT_VERSION)
    if moved:
        log.warning("moved the artifacts in %s to the per-workspace layout (%s/<workspace>)", root, MANAGED_DIR_NAME)
    return moved


def _stage(root: Path, staging: Path, keep: list[Path]) -> bool:
    """Move every workspace's old folder into `staging/<workspace>`; True if anything was there.

    Re-entrant: after a crash, what was already moved stays moved and the rest follows."""
    real_root = Path(os.path.realpath(root))
    entries = [e for e in root.iterdir() if e.name not in _OWN_NAMES and e.name != MARKER_NAME + ".tmp"]
    if not entries:
        return False
    default_dir = staging / _DEFAULT
    default_dir.mkdir(parents=True, exist_ok=True)
    old = root / _OLD_WORKSPACES
    if old.is_dir() and not old.is_symlink():
        for workspace in old.iterdir():
            target = staging / workspace.name
            if target.exists():  # a crash left both: keep what was moved, park the rest in the old place
                continue
            os.replace(workspace, target)
        with contextlib.suppress(OSError):
            old.rmdir()
    for entry in root.iterdir():
        if entry.name in _OWN_NAMES or entry.name == MARKER_NAME + ".tmp":
            continue
        if entry.name == _OLD_WORKSPACES and entry.is_dir() and not entry.is_symlink():
            continue  # not empty: an entry clashed above; left for the operator to look at
        if any(k.is_relative_to(real_root / entry.name) for k in keep):
            log.warning("left %s in place: it holds a workspace's configured artifact root", entry)
            continue
        os.replace(entry, default_dir / entry.name)
    _fsync_dir(default_dir)
    _fsync_dir(staging)
    _fsync_dir(root)
    return True
