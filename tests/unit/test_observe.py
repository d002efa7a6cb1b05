"""Request ids, log formats and the metrics' building blocks, without a server."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import string
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runyard.api.http import call
from runyard.api.observe import route_label
from runyard.observe import metrics_dir, request_ids
from runyard.observe.logs import (
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    iso_timestamp,
    log_access,
    redacted_query,
    request_target,
)

SAFE = string.ascii_letters + string.digits + "-_.:=+/@"


# --- request ids --------------------------------------------------------------------------------


@given(st.text(alphabet=SAFE, min_size=1, max_size=request_ids.MAX_LENGTH))
def test_a_well_formed_client_id_is_kept(value: str) -> None:
    assert request_ids.well_formed(value.encode())
    assert request_ids.from_header(value.encode()) == value


@given(
    st.text(alphabet=SAFE, max_size=40),
    st.characters(exclude_characters=SAFE),
    st.text(alphabet=SAFE, max_size=40),
)
def test_an_id_with_any_other_character_is_replaced(before: str, bad: str, after: str) -> None:
    value = (before + bad + after).encode("utf-8", "surrogatepass")
    assert not request_ids.well_formed(value)
    fresh = request_ids.from_header(value)
    assert fresh != value.decode("utf-8", "replace") and len(fresh) == 16 and int(fresh, 16) >= 0


@given(st.integers(min_value=request_ids.MAX_LENGTH + 1, max_value=4 * request_ids.MAX_LENGTH))
def test_an_overlong_id_is_replaced(length: int) -> None:
    assert not request_ids.well_formed(b"a" * length)
    assert len(request_ids.from_header(b"a" * length)) == 16


def test_no_header_or_an_empty_one_gets_a_fresh_id_each_time() -> None:
    ids = {request_ids.from_header(None) for _ in range(100)} | {request_ids.from_header(b"")}
    assert len(ids) == 101
    assert all(len(i) == 16 and set(i) <= set(string.hexdigits) for i in ids)


def test_service_calls_run_in_the_request_context() -> None:
    """Log records emitted on the service thread pool carry the request's id."""

    async def handle() -> str | None:
        request_ids.CURRENT.set("req-1")
        return await call(request_ids.current)

    assert contextvars.copy_context().run(asyncio.run, handle()) == "req-1"
    assert request_ids.current() is None


# --- log formats --------------------------------------------------------------------------------


def _logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger(f"runyard.test.{id(out)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def _in_request(request_id: str, fn: object) -> None:
    def run() -> None:
        request_ids.CURRENT.set(request_id)
        fn()  # type: ignore[operator]

    contextvars.copy_context().run(run)


def test_json_lines_carry_the_fields_and_the_request_id() -> None:
    logger, out = _logger(JsonFormatter())
    logger.info("outside %s", "any request")
    _in_request("abc-1", lambda: logger.warning("inside"))
    try:
        raise ValueError("boom")
    except ValueError:
        _in_request("abc-2", lambda: logger.exception("failed"))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 3
    first, second, third = lines
    assert set(first) == {"timestamp", "level", "logger", "message", "request_id"}
    assert first["message"] == "outside any request" and first["request_id"] is None
    assert first["level"] == "INFO" and first["logger"] == logger.name
    assert first["timestamp"].endswith("Z") and first["timestamp"][10] == "T"
    assert (second["level"], second["request_id"]) == ("WARNING", "abc-1")
    assert third["request_id"] == "abc-2" and "ValueError: boom" in third["exception"]


def test_json_access_lines_name_method_path_status_and_duration() -> None:
    logger, out = _logger(JsonFormatter())
    _in_request(
        "r9",
        lambda: log_access(
            logger,
            client="127.0.0.1:5",
            method="GET",
            target=request_target(b"/api/2.0/mlflow/runs/get", b"run_id=1&token=hunter2"),
            http_version="1.1",
            status=404,
            duration_ms=1.23456,
        ),
    )
    line = json.loads(out.getvalue())
    assert line["request_id"] == "r9"
    assert (line["method"], line["status"], line["duration_ms"]) == ("GET", 404, 1.235)
    assert line["path"] == "/api/2.0/mlflow/runs/get?run_id=1&token=***"
    assert line["message"] == '127.0.0.1:5 - "GET /api/2.0/mlflow/runs/get?run_id=1&token=*** HTTP/1.1" 404 1.2ms'
    assert "hunter2" not in out.getvalue()


def test_text_lines_append_the_request_id_after_the_first_line() -> None:
    logger, out = _logger(TextFormatter())
    logger.info("plain")
    try:
        raise KeyError("k")
    except KeyError:
        _in_request("id-7", lambda: logger.exception("with traceback"))
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0].endswith("INFO " + logger.name + ": plain")
    assert lines[1].endswith(": with traceback request_id=id-7")
    assert lines[2].startswith("Traceback") and text.count("request_id=") == 1


def test_iso_timestamp_is_utc_with_milliseconds() -> None:
    assert iso_timestamp(0.5) == "1970-01-01T00:00:00.500Z"
    assert iso_timestamp(86400 + 61.0421) == "1970-01-02T00:01:01.042Z"


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (b"run_id=1&path=a/b", "run_id=1&path=a/b"),
        (b"code=abc&state=xyz&client_id=c", "code=***&state=***&client_id=c"),
        (b"access_token=t&refresh_token=r", "access_token=***&refresh_token=***"),
        (b"X-Amz-Signature=s&X-Amz-Credential=c&x=1", "X-Amz-Signature=***&X-Amz-Credential=***&x=1"),
        (b"Password=p&client%5Fsecret=s&flag", "Password=***&client%5Fsecret=***&flag"),
    ],
)
def test_secret_query_values_are_masked(query: bytes, shown: str) -> None:
    assert redacted_query(query) == shown


# Values drawn from characters no name or mask holds, so only a leak can put them in the output.
@given(st.sampled_from(["token", "password", "secret", "code", "api_key"]), st.text("0123456789XYZ%-", min_size=6))
def test_no_secret_value_survives_redaction(name: str, value: str) -> None:
    assert value not in redacted_query(f"a=1&{name}={value}&b=2".encode())


def test_the_access_target_stays_percent_encoded() -> None:
    """A `%0A` in the path cannot start a forged log line."""
    assert request_target(b"/x%0AINFO%20fake", b"") == "/x%0AINFO%20fake"


# --- metrics' building blocks ------------------------------------------------------------------


def test_route_labels_are_templates() -> None:
    from starlette.routing import Mount, Route

    async def nothing() -> None:
        return None

    assert route_label(Route("/api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}", nothing)) == (
        "/api/2.0/mlflow-artifacts/artifacts/{artifact_path}"
    )
    assert route_label(Mount("/mlflow", routes=[])) == "/mlflow/{path}"
    assert route_label(None) == "unmatched"


def test_the_metrics_folder_is_cleared_of_metric_files_only(tmp_path: Path) -> None:
    folder = tmp_path / "prom"
    folder.mkdir()
    for name in ("counter_12.db", "gauge_livesum_12.db", "histogram_3.db", "notes.txt", "counter_x.db"):
        (folder / name).write_text("x")
    prepared = metrics_dir.prepare(str(folder))
    assert sorted(p.name for p in folder.iterdir()) == ["counter_x.db", "notes.txt"]
    prepared.remove()
    assert folder.exists()  # the operator's folder stays
    temporary = metrics_dir.prepare(None)
    assert temporary.temporary and temporary.path.is_dir()
    temporary.remove()
    assert not temporary.path.exists()
    created = metrics_dir.prepare(str(tmp_path / "new" / "dir"))
    assert created.path.is_dir() and not created.temporary


def test_an_unusable_metrics_folder_is_a_short_refusal(tmp_path: Path) -> None:
    from runyard.config import ConfigError

    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="--expose-prometheus"):
        metrics_dir.prepare(str(tmp_path / "file"))


def test_metrics_in_one_process_render_the_store_figures(tmp_path: Path) -> None:
    """Without PROMETHEUS_MULTIPROC_DIR (an app built in-process) the figures live in a registry of
    their own; the store's figures (inbox, mirror links) are read at render time."""
    if "prometheus_client" in sys.modules and _multiprocess_mode():
        pytest.skip("prometheus_client was imported in multiprocess mode")
    from runyard.observe.metrics import Metrics
    from runyard.services.mirror.links import LinkStatus
    from runyard.store.database import Database
    from runyard.store.migrate import upgrade
    from runyard.store.point_writer import PointWriter

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    db = Database(url)
    writer = PointWriter(db)

    class Figures:
        def inbox_points(self) -> int | None:
            return 42

        def mirror_links(self) -> list[LinkStatus]:
            fields: dict[str, object] = {name: None for name in LinkStatus.__dataclass_fields__}
            fields.update(name="l1", source_workspace="w1", pending_items=7, lag_seconds=2.5, parked_items=1)
            return [LinkStatus(**fields)]  # type: ignore[arg-type]

    try:
        metrics = Metrics(db, writer, Figures())  # type: ignore[arg-type]
        metrics.request_done("GET", "/x/{id}", 200, 0.003)
        metrics.request_done("GET", "/x/{id}", 404, 0.003)
        metrics.request_done("BREW", "unmatched", 418, 0.003)
        metrics.point_group(3, 300)
        metrics.in_flight = 2
        text = metrics.render().decode()
    finally:
        writer.stop()
        db.dispose()
    assert 'runyard_http_request_duration_seconds_count{method="GET",route="/x/{id}",status="2xx"} 1.0' in text
    assert 'runyard_http_request_duration_seconds_count{method="GET",route="/x/{id}",status="4xx"} 1.0' in text
    assert 'runyard_http_request_duration_seconds_count{method="other",route="unmatched",status="4xx"} 1.0' in text
    assert "runyard_http_requests_in_flight 2.0" in text
    assert "runyard_point_writer_group_points_sum 300.0" in text
    assert "runyard_metric_inbox_points 42.0" in text
    assert 'runyard_mirror_link_pending_items{link="l1",workspace="w1"} 7.0' in text
    assert 'runyard_mirror_link_lag_seconds{link="l1",workspace="w1"} 2.5' in text
    assert 'runyard_mirror_link_parked_items{link="l1",workspace="w1"} 1.0' in text
    assert "runyard_db_pool_size 8.0" in text


def _multiprocess_mode() -> bool:
    from runyard.observe.metrics import multiprocess_mode

    return multiprocess_mode()


def test_the_store_figures_read_every_link_and_the_inbox(tmp_path: Path) -> None:
    """`StoreFigures` over real services: each link of each workspace with its backlog, and the
    points waiting in the SQLite inbox."""
    from runyard.config import Settings
    from runyard.domain.mirror import TargetCredentials
    from runyard.services.container import Services
    from runyard.services.context import RequestContext
    from runyard.services.mirror.links import LinkRequest
    from runyard.services.observability import StoreFigures
    from runyard.store.migrate import upgrade

    settings = Settings(data_dir=tmp_path, mirror=False)
    upgrade(settings.database_url)
    services = Services.build(settings)
    try:
        for workspace, link in (("alpha", "to-a"), ("beta", "to-b")):
            services.workspaces.create(workspace)
            request = LinkRequest("http://127.0.0.1:9", None, TargetCredentials(), name=link)
            services.mirror_links.link(workspace, request, check=False)
        ctx = RequestContext(workspace=services.workspaces.get("alpha"))
        experiment = services.experiments.create(ctx, "exp", None, [])
        services.runs.create(ctx, experiment_id=experiment, user_id="u", run_name="r", start_time=1, tags=[])
        figures = StoreFigures(services.db, services.mirror_links)
        links = {(s.source_workspace, s.name): s for s in figures.mirror_links()}
        inbox = figures.inbox_points()
    finally:
        services.close()
    assert set(links) == {("alpha", "to-a"), ("beta", "to-b")}
    assert links[("alpha", "to-a")].pending_items >= 2  # the experiment and the run wait to be sent
    assert links[("alpha", "to-a")].lag_seconds >= 0
    assert inbox == 0
