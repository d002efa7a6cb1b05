"""Dual tracking's rules without servers: the outbox's point encoding, artifact owners, how entries
are grouped and the cursor moves, experiment name mapping, link names and URLs, sealed credentials
and backoff (issue 14)."""

from __future__ import annotations

import math
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runyard.domain.errors import MlflowError
from runyard.domain.mirror import (
    TargetCredentials,
    backoff_seconds,
    collision_name,
    default_link_name,
    mapped_experiment_name,
    validate_link_name,
    validate_target_url,
)
from runyard.mirror.worker import plan
from runyard.services.mirror.journal import (
    MODEL,
    POINTS,
    RUN,
    RUN_TAG_DELETED,
    artifact_owner,
    pack_points,
    unpack_points,
)
from runyard.services.mirror.secrets import KEY_FILE, SecretBox, SecretsUnreadable
from runyard.store.mirror import OutboxEntry
from runyard.store.runs import prepare_points

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
VALUES = st.floats(allow_nan=True, allow_infinity=True)


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), VALUES, INT64, INT64), max_size=200))
def test_points_survive_the_outbox_exactly(points: list[tuple[str, float, int, int]]) -> None:
    key_ids = {"a": 1, "b": 2, "c": 70_000}
    prepared = prepare_points(points, key_ids)
    decoded = unpack_points(pack_points(prepared))
    assert len(decoded) == len(points)
    for (key, value, timestamp, step), point in zip(points, decoded, strict=True):
        assert (point.key_id, point.timestamp, point.step) == (key_ids[key], timestamp, step)
        if math.isnan(value):
            assert point.is_nan
        else:
            assert not point.is_nan and point.value == value


def test_artifact_owner_names_runs_and_logged_models_only() -> None:
    run = "0" * 31 + "a"
    model = "m-" + "b" * 32
    assert artifact_owner(f"3/{run}/artifacts/data/x.csv") == (RUN, run, "data/x.csv")
    assert artifact_owner(f"3/{run}/artifacts") == (RUN, run, "")
    assert artifact_owner(f"3/models/{model}/artifacts/MLmodel") == (MODEL, model, "MLmodel")
    for other in ("3/notarun/artifacts/x", f"3/{run}/other/x", f"{run}/artifacts/x", "x", ""):
        assert artifact_owner(other) is None


def _entry(seq: int, kind: str, entity: str, detail: str | None = None) -> OutboxEntry:
    return OutboxEntry(seq, kind, entity, detail, None, 0)


def test_entries_group_by_object_in_first_appearance_order() -> None:
    entries = [
        _entry(1, RUN, "r1"),
        _entry(2, POINTS, "r1"),
        _entry(3, RUN_TAG_DELETED, "r1", "k"),
        _entry(4, RUN, "r2"),
        _entry(5, POINTS, "r1"),
        _entry(6, "artifact", "r1", "3/r1/artifacts/a"),
        _entry(7, "artifact", "r1", "3/r1/artifacts/b"),
        _entry(8, "artifact_del", "r1", "3/r1/artifacts/a"),
    ]
    units = plan(entries)
    assert [(u.group, u.entity, [e.seq for e in u.entries]) for u in units] == [
        ("run", "r1", [1, 3]),
        ("points", "r1", [2, 5]),
        ("run", "r2", [4]),
        ("file", "r1", [6, 8]),
        ("file", "r1", [7]),
    ]
    # The cursor after unit k is just below the first entry of the units still to come.
    assert [u.first_seq for u in units] == sorted(u.first_seq for u in units)


@pytest.mark.parametrize(
    ("name", "source", "target", "expected"),
    [
        ("churn", "flat", "flat", "churn"),
        ("/Users/a@x.com/churn", "path", "path", "/Users/a@x.com/churn"),
        ("/Users/a@x.com/churn", "path", "flat", "churn"),
        ("/Shared/team/", "path", "flat", "team"),
        ("churn", "flat", "path", "/Shared/research/churn"),
    ],
)
def test_experiment_names_follow_the_target_convention(name: str, source: str, target: str, expected: str) -> None:
    assert mapped_experiment_name(name, source, target, "research") == expected


def test_collision_names_are_deterministic_and_distinct() -> None:
    assert collision_name("churn", "research", "7") == collision_name("churn", "research", "7")
    assert collision_name("churn", "research", "7") != collision_name("churn", "research", "8")


@given(st.text(min_size=1, max_size=40), st.one_of(st.none(), st.from_regex(r"[a-z0-9]{2,20}", fullmatch=True)))
def test_default_link_names_are_valid(host: str, workspace: str | None) -> None:
    name = default_link_name(f"http://{host}", workspace)
    assert validate_link_name(name) == name


@pytest.mark.parametrize(
    "url",
    ["ftp://x", "http://user:pw@host", "http://host/?q=1", "http://host/#f", "host:5000", "http:///x", " "],
)
def test_target_urls_without_credentials_query_or_fragment(url: str) -> None:
    with pytest.raises(MlflowError):
        validate_target_url(url)


def test_target_url_keeps_a_path_and_drops_the_trailing_slash() -> None:
    assert validate_target_url("https://ml.example.com/tracking/") == "https://ml.example.com/tracking"


def test_credentials_never_show_in_repr() -> None:
    credentials = TargetCredentials(kind="basic", username="u", password="hunter2-secret")
    assert "hunter2" not in repr(credentials) and "hunter2" not in str(credentials)
    with pytest.raises(MlflowError, match="password"):
        TargetCredentials(kind="basic", username="u").validate()


def test_sealed_credentials_round_trip_with_a_key_file_of_mode_0600(tmp_path: Path) -> None:
    box = SecretBox(None, tmp_path)
    credentials = TargetCredentials(kind="client_credentials", client_id="sp-1", client_secret="s3cr3t-value")
    sealed = box.seal(credentials)
    assert sealed is not None and "s3cr3t" not in sealed and "sp-1" not in sealed
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert SecretBox(None, tmp_path).open("client_credentials", sealed) == credentials
    assert box.seal(TargetCredentials()) is None and box.open("none", None) == TargetCredentials()


def test_a_secret_key_opens_on_every_host_and_a_wrong_key_says_which(tmp_path: Path) -> None:
    credentials = TargetCredentials(kind="token", token="tok-123456")
    sealed = SecretBox("one shared key", tmp_path / "a").seal(credentials)
    assert sealed is not None
    assert SecretBox("one shared key", tmp_path / "b").open("token", sealed) == credentials
    with pytest.raises(SecretsUnreadable, match="RUNYARD_SECRET_KEY") as refused:
        SecretBox("another key", tmp_path / "c").open("token", sealed)
    assert "tok-123456" not in str(refused.value)


def test_backoff_doubles_to_a_cap_of_30_seconds_and_jitter_only_shortens() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 5, 6, 10)] == [1, 2, 4, 8, 16, 30, 30]
    assert 15 <= backoff_seconds(20, jitter=1.0) <= backoff_seconds(20, jitter=0.3) <= 30
