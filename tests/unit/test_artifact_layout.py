"""The per-workspace artifact layout and its one-time move (crash states included), the root rules,
experiments' artifact_location rule, and the periodic purge of stale uploads."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runyard.artifacts.layout import MARKER_NAME, ensure_layout, workspace_folder
from runyard.domain.errors import MlflowError
from runyard.services.artifact_roots import RootPolicy, check_artifact_location


def _old_layout(root: Path) -> None:
    (root / "1" / "run" / "artifacts").mkdir(parents=True)
    (root / "1" / "run" / "artifacts" / "a.txt").write_text("default")
    (root / "workspaces").mkdir()  # default's own folder of that name, not the managed one
    (root / "workspaces" / "mine.txt").write_text("mine")
    (root / ".runyard-uploads" / "tmp").mkdir(parents=True)
    (root / ".workspaces" / "team" / "2").mkdir(parents=True)
    (root / ".workspaces" / "team" / "2" / "b.txt").write_text("team")


def _check_new_layout(root: Path) -> None:
    assert (root / MARKER_NAME).read_text().strip() == "2"
    assert (workspace_folder(root, "default") / "1" / "run" / "artifacts" / "a.txt").read_text() == "default"
    assert (workspace_folder(root, "default") / "workspaces" / "mine.txt").read_text() == "mine"
    assert (workspace_folder(root, "default") / ".runyard-uploads" / "tmp").is_dir()
    assert (workspace_folder(root, "team") / "2" / "b.txt").read_text() == "team"
    assert not (root / ".workspaces").exists()
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".runyard-layout")) == ["workspaces"]


def test_old_layout_is_moved_once(tmp_path: Path) -> None:
    _old_layout(tmp_path)
    assert ensure_layout(tmp_path) is True
    _check_new_layout(tmp_path)
    assert ensure_layout(tmp_path) is False
    _check_new_layout(tmp_path)


def test_a_fresh_folder_gets_the_new_layout(tmp_path: Path) -> None:
    root = tmp_path / "new"
    assert ensure_layout(root) is False
    assert (root / "workspaces").is_dir() and (root / MARKER_NAME).read_text().strip() == "2"


def test_a_crash_while_staging_is_finished_on_the_next_start(tmp_path: Path) -> None:
    _old_layout(tmp_path)
    staging = tmp_path / ".runyard-layout-staging"
    (staging / "default").mkdir(parents=True)
    os.replace(tmp_path / "1", staging / "default" / "1")  # half of the moves happened
    os.replace(tmp_path / ".workspaces" / "team", staging / "team")
    ensure_layout(tmp_path)
    _check_new_layout(tmp_path)


def test_a_crash_after_staging_is_finished_on_the_next_start(tmp_path: Path) -> None:
    _old_layout(tmp_path)
    staging = tmp_path / ".runyard-layout-staging"
    (staging / "default").mkdir(parents=True)
    for name in ("1", "workspaces", ".runyard-uploads"):
        os.replace(tmp_path / name, staging / "default" / name)
    os.replace(tmp_path / ".workspaces" / "team", staging / "team")
    (tmp_path / ".workspaces").rmdir()
    (tmp_path / MARKER_NAME).write_text("staged\n")
    ensure_layout(tmp_path)
    _check_new_layout(tmp_path)
    # ... and after the final rename, before the marker said so.
    (tmp_path / MARKER_NAME).write_text("staged\n")
    ensure_layout(tmp_path)
    _check_new_layout(tmp_path)


def test_root_policy(tmp_path: Path) -> None:
    destination = tmp_path / "artifacts"
    (destination / "workspaces").mkdir(parents=True)
    allowed = tmp_path / "shared"
    policy = RootPolicy.of(str(destination), [str(allowed)])
    policy.check("a", str(destination / "custom" / "a"), operator=False)
    policy.check("a", str(allowed / "a"), operator=False)
    policy.check("a", str(destination / "workspaces" / "a"), operator=False)  # its own managed folder
    policy.check("a", "/srv/anywhere", operator=True)
    (destination / "escape").symlink_to(tmp_path / "elsewhere")
    refused = {
        "/": True,
        "/srv/anywhere": False,
        str(destination / "escape" / "x"): False,  # a symlink out of the destination
        str(destination / "custom" / ".." / ".." / "elsewhere"): False,
        str(destination): True,
        str(destination / "workspaces" / "b"): True,
        str(allowed / "b" / "inner"): True,  # inside b's configured root
        str(allowed): True,  # contains b's configured root
    }
    for root, even_for_operator in refused.items():
        others = [("b", str(allowed / "b"))]
        with pytest.raises(MlflowError):
            policy.check("a", root, operator=False, others=others)
        if even_for_operator:
            with pytest.raises(MlflowError):
                policy.check("a", root, operator=True, others=others)


@pytest.mark.parametrize(
    ("location", "stored"),
    [
        ("mlflow-artifacts:/x", "mlflow-artifacts:/x"),
        ("mlflow-artifacts:/team/exp/", "mlflow-artifacts:/team/exp"),
        ("mlflow-artifacts:///a/./b", "mlflow-artifacts:/a/b"),
    ],
)
def test_artifact_locations_inside_the_namespace(location: str, stored: str) -> None:
    assert check_artifact_location(location) == stored


@given(st.text(max_size=60))
def test_an_accepted_location_never_leaves_the_namespace(suffix: str) -> None:
    for location in (suffix, f"mlflow-artifacts:/{suffix}", f"mlflow-artifacts://{suffix}"):
        try:
            stored = check_artifact_location(location)
        except MlflowError as e:
            assert "artifact_location" in e.message
            continue
        path = stored.removeprefix("mlflow-artifacts:/")
        assert path and not path.startswith("/") and ".." not in path.split("/") and "\\" not in path
        assert os.path.normpath(os.path.join("/root", path)).startswith("/root/")


def test_the_purge_task_runs_at_start_and_periodically(tmp_path: Path) -> None:
    from runyard.app import purge_stale_uploads
    from runyard.config import Settings
    from runyard.services.container import Services
    from runyard.store.migrate import upgrade

    settings = Settings(data_dir=tmp_path)
    upgrade(settings.database_url)
    services = Services.build(settings)
    try:
        services.workspaces.create("team")
        services.artifacts.backend_of(services.workspaces.get("team"))
        tmp = workspace_folder(services.settings.artifact_root, "team") / ".runyard-uploads" / "tmp"
        old = time.time() - 3 * 24 * 3600
        first, second, young = tmp / "first.tmp", tmp / "second.tmp", tmp / "young.tmp"
        first.write_bytes(b"x")
        os.utime(first, (old, old))
        young.write_bytes(b"live")

        async def scenario() -> None:
            task = asyncio.create_task(purge_stale_uploads(services, 0.05))
            await asyncio.sleep(0.2)
            assert not first.exists()
            second.write_bytes(b"x")
            os.utime(second, (old, old))
            await asyncio.sleep(0.3)
            assert not second.exists()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(scenario())
        assert young.exists()
    finally:
        services.close()


def test_a_configured_root_inside_the_old_destination_stays_in_place(tmp_path: Path) -> None:
    _old_layout(tmp_path)
    (tmp_path / "custom" / "team-b").mkdir(parents=True)
    (tmp_path / "custom" / "team-b" / "c.txt").write_text("b")
    ensure_layout(tmp_path, keep=[str(tmp_path / "custom" / "team-b")])
    assert (tmp_path / "custom" / "team-b" / "c.txt").read_text() == "b"
    assert not (workspace_folder(tmp_path, "default") / "custom").exists()
    assert (workspace_folder(tmp_path, "default") / "1" / "run" / "artifacts" / "a.txt").is_file()
