"""The replicator's HTTP client for one mirror target: any MLflow-compatible tracking server (a
plain `mlflow server`, or another Runyard), spoken to over its REST API with one keep-alive
`httpx.Client`.

- `call` is the JSON layer: the workspace header when a workspace is set, the credentials'
  `Authorization` (see `target_auth`), a `TargetError` for any non-2xx answer. Doubles that are NaN
  or ±inf go out as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, exactly as the MLflow client's
  protobuf JSON writes them (a plain `mlflow server` stores nonsense for the bare JSON tokens).
- The typed helpers wrap the MLflow endpoints the replicator needs, returning the JSON objects as
  dicts and None for a lookup of something that does not exist.
- Artifacts go through the target's proxied artifact API (`mlflow-artifacts:` URIs only, see
  `target_paths`), uploads streamed from an iterator or a file, never read whole into memory.

There are no retries here but one: when a client-credentials token is refused (401) it is renewed
and the call sent once more. Waiting and retrying is the replicator's job (`TargetError.transient`,
`TargetError.retry_delay`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any, BinaryIO, Final, cast

import httpx

from runyard import __version__
from runyard.domain.mirror import TargetCredentials, validate_target_url
from runyard.mirror.target_auth import TargetAuth
from runyard.mirror.target_errors import TargetError, error_from_exception, error_from_response
from runyard.mirror.target_paths import (
    ARTIFACTS_API,
    artifact_url_path,
    join,
    proxied_root,
    quote_segment,
    relative_path,
    tag_filter,
)

__all__ = ["MIRROR_INFO_PATH", "Target", "TargetError"]

API: Final = "/api/2.0/mlflow"
RUNYARD_MIRROR_API: Final = "/api/2.0/runyard/mirror"
MIRROR_INFO_PATH: Final = f"{RUNYARD_MIRROR_API}/info"
WORKSPACE_HEADER: Final = "X-MLFLOW-WORKSPACE"
CHUNK_SIZE: Final = 1024 * 1024
# MLflow's log-batch limits (per request): the helper splits larger batches.
MAX_BATCH_METRICS: Final = 1000
MAX_BATCH_PARAMS: Final = 100
MAX_BATCH_TAGS: Final = 100
MAX_BATCH_ITEMS: Final = 1000
RUNS_PAGE: Final = 1000
LOGGED_MODELS_PAGE: Final = 100
MAX_PAGES: Final = 10_000

Content = bytes | Iterator[bytes]


def _jsonable(value: object) -> object:
    """`value` with every non-finite float as the protobuf JSON string for it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def encode_json(body: Mapping[str, object]) -> bytes:
    """`body` as compact JSON. Most bodies hold no non-finite float: they are encoded as they are
    (C speed: a log-batch of 1,000 metrics in ~1 ms instead of ~3 ms), and only a body the encoder
    refuses (a NaN or ±inf, which `allow_nan=False` rejects, or a value it cannot encode) goes
    through `_jsonable` first. With string keys (the type says so) both give the same bytes."""
    try:
        return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError):
        return json.dumps(_jsonable(body), allow_nan=False, separators=(",", ":")).encode()


def _pairs(items: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items]


def _tag_value(tags: object, key: str) -> str | None:
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, dict) and tag.get("key") == key:
                value = tag.get("value")
                return value if isinstance(value, str) else None
    return None


def _object(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    while chunk := file.read(CHUNK_SIZE):
        yield chunk


def _file_size(file: IO[bytes]) -> int | None:
    try:
        return os.fstat(file.fileno()).st_size - file.tell()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        start = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(start)
        return end - start
    except (AttributeError, OSError, ValueError):
        return None


def _rewinder(file: IO[bytes]) -> Callable[[], Content] | None:
    """A body factory re-reading `file` from where it stands now, or None if it cannot seek."""
    try:
        if not file.seekable():
            return None
        start = file.tell()
    except (AttributeError, OSError, ValueError):
        return None

    def body() -> Content:
        file.seek(start)
        return _chunks(file)

    return body


class Target:
    """One mirror target (see the module docstring). Thread-safe; `close()` when done.

    An invalid URL or incomplete credentials raise the domain's `MlflowError` (INVALID_PARAMETER_VALUE)
    here, before any request; every failure after that is a `TargetError`."""

    def __init__(
        self,
        url: str,
        workspace: str | None,
        credentials: TargetCredentials,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = validate_target_url(url)
        self.workspace = workspace or None
        self._client = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": f"runyard-mirror/{__version__}"},
        )
        self._auth = TargetAuth(self.url, credentials.validate(), self._client)
        self._kind: str | None = None
        self._info: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Target(url={self.url!r}, workspace={self.workspace!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------------

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.workspace:
            headers[WORKSPACE_HEADER] = self.workspace
        authorization = self._auth.header()
        if authorization is not None:
            headers["Authorization"] = authorization
        return headers

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Callable[[], Content] | None = None,
        replayable: bool = True,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One request, and once more after a refused client-credentials token; any answer that
        is not 2xx raises. A streamed answer is open: the caller closes it."""
        for attempt in (1, 2):
            sent = self._headers(headers)
            request = self._client.build_request(
                method, path, params=dict(params) if params else None, content=body() if body else None, headers=sent
            )
            try:
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                raise error_from_exception(method, path, exc, self._auth.redact) from None
            if response.is_success:
                return response
            try:
                response.read()
            except httpx.TransportError as exc:
                raise error_from_exception(method, path, exc, self._auth.redact) from None
            finally:
                response.close()
            if response.status_code == 401 and self._auth.refreshable and attempt == 1:
                self._auth.refresh(sent.get("Authorization"))
                if replayable:
                    continue
                error = error_from_response(method, path, response, self._auth.redact)
                raise TargetError(
                    error.message + " (the access token was renewed: the next attempt uses it)",
                    status=401,
                    error_code=error.error_code,
                    transient=True,
                )
            raise error_from_response(method, path, response, self._auth.redact)
        raise AssertionError("unreachable")  # pragma: no cover

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, object] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> dict[str, Any]:
        """A JSON call to `path` (below the target URL, already quoted); the answer's JSON object
        (`{}` for an empty body)."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        headers = {"Accept": "application/json"}
        content: bytes | None = None
        if body is not None:
            content = encode_json(body)
            headers["Content-Type"] = "application/json"
        response = self._send(
            method, path, params=params, body=(lambda: content) if content is not None else None, headers=headers
        )
        if not response.content.strip():
            return {}
        try:
            parsed = json.loads(response.content)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise TargetError(
                f"{method} {path} answered HTTP {response.status_code} with a body that is not a JSON object",
                status=response.status_code,
                transient=False,
            )
        return parsed

    def _get_or_none(self, path: str, params: Mapping[str, str | int] | None, key: str) -> dict[str, Any] | None:
        try:
            return _object(self.call("GET", path, params=params), key)
        except TargetError as e:
            if e.not_found:
                return None
            raise

    def _pages(self, path: str, body: Mapping[str, object], key: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.call("POST", path, {**body, "page_token": token} if token else body)
            items = page.get(key)
            if isinstance(items, list):
                yield from (item for item in items if isinstance(item, dict))
            next_token = page.get("next_page_token")
            if not isinstance(next_token, str) or not next_token or next_token in seen:
                return
            seen.add(next_token)
            token = next_token

    # -- what the target is --------------------------------------------------------------------

    def kind(self) -> str:
        """`"runyard"` if the target answers `GET /api/2.0/runyard/mirror/info` with a JSON object,
        else `"mlflow"`; remembered once known. No answer, or a 401, raises (nothing is known)."""
        if self._kind is None:
            try:
                self._info = self.call("GET", MIRROR_INFO_PATH)
                self._kind = "runyard"
            except TargetError as e:
                if e.transient or e.status == 401:
                    raise
                self._kind = "mlflow"
        return self._kind

    def mirror_info(self) -> dict[str, Any] | None:
        """A Runyard target's answer to the mirror-info probe; None for any other server."""
        return self._info if self.kind() == "runyard" else None

    # -- experiments ---------------------------------------------------------------------------

    def experiment_by_name(self, name: str) -> dict[str, Any] | None:
        return self._get_or_none(f"{API}/experiments/get-by-name", {"experiment_name": name}, "experiment")

    def experiment(self, experiment_id: str) -> dict[str, Any] | None:
        return self._get_or_none(f"{API}/experiments/get", {"experiment_id": experiment_id}, "experiment")

    def create_experiment(self, name: str, tags: Sequence[tuple[str, str]]) -> str:
        body: dict[str, object] = {"name": name}
        if tags:
            body["tags"] = _pairs(tags)
        answer = self.call("POST", f"{API}/experiments/create", body)
        experiment_id = answer.get("experiment_id")
        if experiment_id is None or experiment_id == "":
            raise TargetError("POST experiments/create answered without an experiment_id", status=200, transient=False)
        return str(experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.call("POST", f"{API}/experiments/update", {"experiment_id": experiment_id, "new_name": new_name})

    def delete_experiment(self, experiment_id: str) -> None:
        self.call("POST", f"{API}/experiments/delete", {"experiment_id": experiment_id})

    def restore_experiment(self, experiment_id: str) -> None:
        self.call("POST", f"{API}/experiments/restore", {"experiment_id": experiment_id})

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        body = {"experiment_id": experiment_id, "key": key, "value": value}
        self.call("POST", f"{API}/experiments/set-experiment-tag", body)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """`POST experiments/delete-experiment-tag` (the MLflow 3 route; there is no `delete-tag`)."""
        self.call("POST", f"{API}/experiments/delete-experiment-tag", {"experiment_id": experiment_id, "key": key})

    # -- runs ----------------------------------------------------------------------------------

    def find_runs_by_tag(self, experiment_id: str, key: str, value: str) -> list[dict[str, Any]]:
        """Every run of the experiment, deleted ones too, whose tag `key` is exactly `value`."""
        body = {
            "experiment_ids": [experiment_id],
            "filter": tag_filter(key, value, double_quoted_values=True),
            "run_view_type": "ALL",
            "max_results": RUNS_PAGE,
        }
        runs = self._pages(f"{API}/runs/search", body, "runs")
        return [run for run in runs if _tag_value(_object(run, "data").get("tags"), key) == value]

    def run(self, run_id: str) -> dict[str, Any] | None:
        return self._get_or_none(f"{API}/runs/get", {"run_id": run_id}, "run")

    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[tuple[str, str]],
    ) -> dict[str, Any]:
        """The new run's `info`."""
        body: dict[str, object] = {"experiment_id": experiment_id, "tags": _pairs(tags)}
        if run_name is not None:
            body["run_name"] = run_name
        if user_id is not None:
            body["user_id"] = user_id
        if start_time is not None:
            body["start_time"] = start_time
        info = _object(_object(self.call("POST", f"{API}/runs/create", body), "run"), "info")
        if not info.get("run_id"):
            raise TargetError("POST runs/create answered without a run id", status=200, transient=False)
        return info

    def update_run(self, run_id: str, *, status: str | None, end_time: int | None, run_name: str | None) -> None:
        body: dict[str, object] = {"run_id": run_id}
        if status is not None:
            body["status"] = status
        if end_time is not None:
            body["end_time"] = end_time
        if run_name is not None:
            body["run_name"] = run_name
        self.call("POST", f"{API}/runs/update", body)

    def delete_run(self, run_id: str) -> None:
        self.call("POST", f"{API}/runs/delete", {"run_id": run_id})

    def restore_run(self, run_id: str) -> None:
        self.call("POST", f"{API}/runs/restore", {"run_id": run_id})

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Mapping[str, object]] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None:
        """`runs/log-batch`, split into requests within MLflow's limits (1000 metrics, 100
        params, 100 tags, 1000 items); params and tags go in the first requests. Metrics are
        MLflow JSON metric objects; NaN and ±inf values are sent as MLflow's client sends them."""
        metric_list, param_list, tag_list = list(metrics), _pairs(params), _pairs(tags)
        while metric_list or param_list or tag_list:
            batch_params, param_list = param_list[:MAX_BATCH_PARAMS], param_list[MAX_BATCH_PARAMS:]
            batch_tags, tag_list = tag_list[:MAX_BATCH_TAGS], tag_list[MAX_BATCH_TAGS:]
            room = min(MAX_BATCH_METRICS, MAX_BATCH_ITEMS - len(batch_params) - len(batch_tags))
            batch_metrics, metric_list = metric_list[:room], metric_list[room:]
            body: dict[str, object] = {"run_id": run_id}
            if batch_metrics:
                body["metrics"] = batch_metrics
            if batch_params:
                body["params"] = batch_params
            if batch_tags:
                body["tags"] = batch_tags
            self.call("POST", f"{API}/runs/log-batch", body)

    def delete_run_tag(self, run_id: str, key: str) -> None:
        self.call("POST", f"{API}/runs/delete-tag", {"run_id": run_id, "key": key})

    def log_inputs(
        self, run_id: str, datasets: Sequence[Mapping[str, object]], models: Sequence[Mapping[str, object]] = ()
    ) -> None:
        """`runs/log-inputs`: dataset inputs (`{dataset: {...}, tags: [...]}`) and model inputs
        (`{model_id}`); the `models` field is left out when empty (MLflow 2 servers lack it)."""
        body: dict[str, object] = {"run_id": run_id, "datasets": list(datasets)}
        if models:
            body["models"] = list(models)
        self.call("POST", f"{API}/runs/log-inputs", body)

    def log_outputs(self, run_id: str, models: Sequence[Mapping[str, object]]) -> None:
        """`runs/outputs`: model outputs (`{model_id, step}`)."""
        self.call("POST", f"{API}/runs/outputs", {"run_id": run_id, "models": list(models)})

    # -- logged models -------------------------------------------------------------------------

    def _model_path(self, model_id: str, suffix: str = "") -> str:
        return f"{API}/logged-models/{quote_segment(model_id)}{suffix}"

    def create_logged_model(
        self,
        experiment_id: str,
        *,
        name: str,
        source_run_id: str | None,
        model_type: str | None,
        params: Sequence[tuple[str, str]],
        tags: Sequence[tuple[str, str]],
    ) -> dict[str, Any]:
        """The new logged model (`{info, data}`), status LOGGED_MODEL_PENDING."""
        body: dict[str, object] = {"experiment_id": experiment_id, "name": name}
        if source_run_id:
            body["source_run_id"] = source_run_id
        if model_type:
            body["model_type"] = model_type
        if params:
            body["params"] = _pairs(params)
        if tags:
            body["tags"] = _pairs(tags)
        model = _object(self.call("POST", f"{API}/logged-models", body), "model")
        if not _object(model, "info").get("model_id"):
            raise TargetError("POST logged-models answered without a model id", status=200, transient=False)
        return model

    def logged_model(self, model_id: str) -> dict[str, Any] | None:
        return self._get_or_none(self._model_path(model_id), None, "model")

    def find_logged_models_by_tag(self, experiment_id: str, key: str, value: str) -> list[dict[str, Any]]:
        """Every logged model of the experiment whose tag `key` is exactly `value` (MLflow's
        logged-model filter takes single-quoted values only: a value with a quote is matched
        with LIKE and then compared here)."""
        body = {
            "experiment_ids": [experiment_id],
            "filter": tag_filter(key, value, double_quoted_values=False),
            "max_results": LOGGED_MODELS_PAGE,
        }
        models = self._pages(f"{API}/logged-models/search", body, "models")
        return [m for m in models if _tag_value(_object(m, "info").get("tags"), key) == value]

    def finalize_logged_model(self, model_id: str, status: str) -> None:
        """`status`: `LOGGED_MODEL_READY` / `LOGGED_MODEL_FAILED` (or `READY` / `FAILED`)."""
        full = status if status.startswith("LOGGED_MODEL_") else f"LOGGED_MODEL_{status}"
        self.call("PATCH", self._model_path(model_id), {"model_id": model_id, "status": full})

    def set_logged_model_tags(self, model_id: str, tags: Sequence[tuple[str, str]]) -> None:
        if tags:
            self.call("PATCH", self._model_path(model_id, "/tags"), {"model_id": model_id, "tags": _pairs(tags)})

    def delete_logged_model(self, model_id: str) -> None:
        self.call("DELETE", self._model_path(model_id), {"model_id": model_id})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.call("DELETE", self._model_path(model_id, f"/tags/{quote_segment(key)}"))

    def log_logged_model_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> None:
        if params:
            self.call("POST", self._model_path(model_id, "/params"), {"model_id": model_id, "params": _pairs(params)})

    # -- artifacts -----------------------------------------------------------------------------

    def upload_artifact(
        self, artifact_uri: str, rel_path: str, content: Iterator[bytes] | BinaryIO, size: int | None = None
    ) -> None:
        """A streamed `PUT` of one file to `<artifact_uri>/<rel_path>`. `content` is an iterator
        of chunks or a binary file (read 1 MiB at a time from where it stands). With `size` (or a
        file whose size is known) the request has a Content-Length, else it is chunked."""
        path = artifact_url_path(artifact_uri, rel_path)
        headers = {"Content-Type": "application/octet-stream"}
        body: Callable[[], Content]
        replay: Callable[[], Content] | None = None
        if not hasattr(content, "read"):  # (a file is an iterator too, of lines)
            chunks = content
            body = lambda: chunks  # noqa: E731
        else:
            file = cast(BinaryIO, content)
            if size is None:
                size = _file_size(file)
            replay = _rewinder(file)
            body = replay or (lambda: _chunks(file))
        if size is not None:
            headers["Content-Length"] = str(size)
        self._send("PUT", path, body=body, replayable=replay is not None, headers=headers).close()

    def list_artifacts(self, artifact_uri: str, path: str = "") -> list[tuple[str, bool, int | None]]:
        """The entries directly under `<artifact_uri>/<path>`: (path relative to `artifact_uri`,
        is_dir, size or None). A file or a missing folder lists as empty (MLflow's rule)."""
        listed = relative_path(path, allow_empty=True)
        full = join(proxied_root(artifact_uri), listed)
        answer = self.call("GET", ARTIFACTS_API, params={"path": full} if full else None)
        entries: list[tuple[str, bool, int | None]] = []
        files = answer.get("files")
        for item in files if isinstance(files, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                continue
            name = relative_path(str(item["path"]).rsplit("/", 1)[-1])
            raw_size = item.get("file_size")
            file_size = int(raw_size) if isinstance(raw_size, (int, str)) and str(raw_size).isdigit() else None
            is_dir = bool(item.get("is_dir"))
            entries.append((join(listed, name), is_dir, None if is_dir else file_size))
        return entries

    def download_artifact(self, artifact_uri: str, rel_path: str) -> Iterator[bytes]:
        """The file's bytes, streamed (the request is made when iteration starts)."""
        path = artifact_url_path(artifact_uri, rel_path)
        response = self._send("GET", path, stream=True)
        try:
            yield from response.iter_bytes(CHUNK_SIZE)
        except httpx.TransportError as exc:
            raise error_from_exception("GET", path, exc, self._auth.redact) from None
        finally:
            response.close()

    # -- Runyard targets: imports that keep the source's ids -----------------------------------

    def import_run(
        self,
        experiment_id: str,
        *,
        run_id: str,
        run_name: str | None,
        user_id: str | None,
        start_time: int | None,
        status: str,
        end_time: int | None,
        source_url: str,
        tags: Sequence[tuple[str, str]],
    ) -> dict[str, Any]:
        """A run under its source id (`POST /api/2.0/runyard/mirror/runs/import`, idempotent); the run."""
        answer = self.call(
            "POST",
            f"{RUNYARD_MIRROR_API}/runs/import",
            {
                "experiment_id": experiment_id,
                "run_id": run_id,
                "run_name": run_name,
                "user_id": user_id,
                "start_time": start_time,
                "status": status,
                "end_time": end_time,
                "source_url": source_url,
                "tags": _pairs(tags),
            },
        )
        run: dict[str, Any] = answer["run"]
        return run

    def import_logged_model(
        self,
        experiment_id: str,
        *,
        model_id: str,
        name: str,
        source_run_id: str | None,
        model_type: str | None,
        source_url: str,
        params: Sequence[tuple[str, str]],
        tags: Sequence[tuple[str, str]],
    ) -> dict[str, Any]:
        """A logged model under its source id (`…/mirror/logged-models/import`, idempotent); the model."""
        answer = self.call(
            "POST",
            f"{RUNYARD_MIRROR_API}/logged-models/import",
            {
                "experiment_id": experiment_id,
                "model_id": model_id,
                "name": name,
                "source_run_id": source_run_id,
                "model_type": model_type,
                "source_url": source_url,
                "params": _pairs(params),
                "tags": _pairs(tags),
            },
        )
        model: dict[str, Any] = answer["model"]
        return model

    def delete_artifact(self, artifact_uri: str, rel_path: str) -> None:
        self._send("DELETE", artifact_url_path(artifact_uri, rel_path)).close()
