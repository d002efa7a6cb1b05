"""The transactional outbox through the real services (issue 14 §4): a linked workspace's writes
leave entries in the same transaction as the write — a refused write leaves none — and an unlinked
workspace's writes leave nothing; the point writer's grouped writes are journaled too; a link
starts after the newest entry and unlinking trims what no link needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.config import Settings
from runyard.domain.errors import MlflowError
from runyard.domain.mirror import TargetCredentials
from runyard.services.container import Services
from runyard.services.context import RequestContext
from runyard.services.mirror import journal as kinds
from runyard.services.mirror.links import LinkRequest
from runyard.store import mirror as mirror_store
from runyard.store.migrate import upgrade
from runyard.store.mirror import OutboxEntry


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = Settings(data_dir=tmp_path, mirror=False)
    upgrade(settings.database_url)
    built = Services.build(settings)
    built.workspaces.create("linked")
    built.workspaces.create("plain")
    request = LinkRequest("http://127.0.0.1:9", None, TargetCredentials(), name="t")
    built.mirror_links.link("linked", request, check=False)
    yield built
    built.close()


def _ctx(services: Services, name: str) -> RequestContext:
    return RequestContext(workspace=services.workspaces.get(name))


def _entries(services: Services, name: str) -> list[OutboxEntry]:
    with services.db.read() as conn:
        return mirror_store.entries_after(conn, services.workspaces.get(name).id, 0, 10_000)


def _run(services: Services, ctx: RequestContext) -> str:
    experiment = services.experiments.create(ctx, "exp", None, [])
    return services.runs.create(
        ctx, experiment_id=experiment, user_id="u", run_name="r", start_time=1, tags=[]
    ).info.run_uuid


def test_linked_writes_are_journaled_and_refused_ones_are_not(services: Services) -> None:
    ctx = _ctx(services, "linked")
    run_id = _run(services, ctx)
    services.runs.log_batch(ctx, run_id, metrics=[("m", 1.0, 5, 0, None, None, None)], params=[("p", "1")], tags=[])
    with pytest.raises(MlflowError):  # changing a param: the whole batch is refused
        services.runs.log_batch(ctx, run_id, metrics=[("m", 2.0, 6, 1, None, None, None)], params=[("p", "2")], tags=[])
    services.runs.set_tag(ctx, run_id, "k", "v")
    services.runs.delete_tag(ctx, run_id, "k")
    kinds_seen = [(e.kind, e.entity, e.detail) for e in _entries(services, "linked")]
    assert kinds_seen == [
        (kinds.EXPERIMENT, kinds_seen[0][1], None),
        (kinds.RUN, run_id, None),
        (kinds.RUN, run_id, None),
        (kinds.POINTS, run_id, None),
        (kinds.RUN, run_id, None),
        (kinds.RUN_TAG_DELETED, run_id, "k"),
    ]
    points = kinds.unpack_points(_entries(services, "linked")[3].payload or b"")
    assert [(p.step, p.timestamp, p.value) for p in points] == [(0, 5, 1.0)]


def test_unlinked_workspaces_leave_no_entries(services: Services) -> None:
    ctx = _ctx(services, "plain")
    run_id = _run(services, ctx)
    services.runs.set_tag(ctx, run_id, "k", "v")
    assert _entries(services, "plain") == []


def test_point_writer_groups_are_journaled(services: Services) -> None:
    ctx = _ctx(services, "linked")
    run_id = _run(services, ctx)
    services.runs.log_batch(ctx, run_id, metrics=[("m", 0.0, 1, 0, None, None, None)], params=[], tags=[])
    futures = [
        services.runs.queue_metrics(ctx, run_id, [("m", float(i), 10 + i, i, None, None, None)]) for i in range(1, 6)
    ]
    for future in futures:
        assert future is not None
        future.result(timeout=10)
    packed = [e for e in _entries(services, "linked") if e.kind == kinds.POINTS]
    steps = sorted(p.step for e in packed for p in kinds.unpack_points(e.payload or b""))
    assert steps == [0, 1, 2, 3, 4, 5]


def test_a_link_starts_after_the_newest_entry_and_unlinking_trims(services: Services) -> None:
    ctx = _ctx(services, "linked")
    _run(services, ctx)
    request = LinkRequest("http://127.0.0.1:10", None, TargetCredentials(), name="later")
    services.mirror_links.link("linked", request, check=False)
    with services.db.read() as conn:
        links = {row.name: row for row in mirror_store.links_of(conn, services.workspaces.get("linked").id)}
    assert links["t"].cursor == 0 and links["later"].cursor == _entries(services, "linked")[-1].seq
    [status] = services.mirror_links.status("linked", "later")
    assert status.state == "active" and status.backfill == "pending"
    services.mirror_links.unlink("linked", "t")
    assert _entries(services, "linked") == []  # "later" had passed them all
    services.mirror_links.unlink("linked", "later")
    services.runs.create(ctx, experiment_id="1", user_id=None, run_name=None, start_time=None, tags=[])
    assert _entries(services, "linked") == []


def test_link_refusals(services: Services) -> None:
    links = services.mirror_links
    with pytest.raises(MlflowError, match="already has a mirror link"):
        links.link("linked", LinkRequest("http://127.0.0.1:9", None, TargetCredentials(), name="t"), check=False)
    with pytest.raises(MlflowError, match="not found"):
        links.link("nowhere", LinkRequest("http://127.0.0.1:9", None, TargetCredentials()), check=False)
    with pytest.raises(MlflowError, match="Invalid link name"):
        links.link("plain", LinkRequest("http://127.0.0.1:9", None, TargetCredentials(), name="-x"), check=False)
    with pytest.raises(MlflowError):
        links.link(
            "plain",
            LinkRequest("http://127.0.0.1:9", None, TargetCredentials(), experiments_filter="name ==="),
            check=False,
        )


def test_an_entry_parked_twice_is_kept_once(services: Services) -> None:
    with services.db.write() as conn:
        link = mirror_store.links_of(conn, services.workspaces.get("linked").id)[0]
        entry = OutboxEntry(7, kinds.RUN, "r" * 32, None, None, 1)
        mirror_store.park(conn, link.id, entry, "first", 10)
        mirror_store.park(conn, link.id, entry, "second", 11)
        mirror_store.park(conn, link.id, OutboxEntry(8, kinds.RUN, "r" * 32, None, None, 1), "other", 12)
    with services.db.read() as conn:
        parked = mirror_store.parked(conn, link.id)
    assert [(p.seq, p.error) for p in parked] == [(7, "second"), (8, "other")]
