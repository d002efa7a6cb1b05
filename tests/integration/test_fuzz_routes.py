"""A bounded, seeded fuzz test over every route the application declares, on SQLite and PostgreSQL.

Routes come from `runyard.app.routes()`, so a new route is fuzzed without touching this file. Each
request starts from a plausible message (real ids of objects created first, field names taken from
the request models the handler uses) and mutates some of it: NUL, huge and negative numbers,
`1e400`, Unicode digits, deep nesting, wrong types, empty and huge strings, invalid UTF-8, forged
page tokens, path traversal, junk workspaces. The server must answer every request below 500 with
an MLflow-shaped error body, and still work normally afterwards.

`RUNYARD_FUZZ_SECONDS` (default 4) is the time per backend, `RUNYARD_FUZZ_SEED` fixes the seed; a
failure prints the seed and the request.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import BaseModel
from starlette.routing import Mount, Route

from runyard.app import routes
from tests.conftest import ServerProcess, make_store_uri

API = "/api/2.0/mlflow"
FULLWIDTH_ONE = "\uff11"
FUZZ_SECONDS = float(os.environ.get("RUNYARD_FUZZ_SECONDS", "4"))
JSON_HEADERS = {"Content-Type": "application/json"}
_MESSAGE_MODULES = (
    "runyard.api.mlflow.messages",
    "runyard.api.mlflow.registry_messages",
    "runyard.api.mlflow.logged_models",
    "runyard.api.mlflow.workspaces",
    "runyard.api.mlflow.artifacts",
    "runyard.api.mirror.imports",
    "runyard.api.mirror.links",
    "runyard.api.ui.charts",
)


class Raw:
    """JSON text inserted verbatim (numbers Python cannot write, such as `1e400`, deep nesting)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:60]!r})"


def dump(value: Any, rng: random.Random) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump(v, rng)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v, rng) for v in value) + "]"
    return json.dumps(value, ensure_ascii=rng.random() < 0.5)


def _token(data: Any) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


BAD_TOKENS = [
    _token({"offset": 2**63}),
    _token({"offset": 2**64}),
    _token({"offset": -1}),
    _token({"offset": "1"}),
    _token({"offset": 1.5}),
    _token({"offset": True}),
    _token([1, 2]),
    _token({"offset": 0, "after": [2**63, 0, 1.0, False]}),
    _token({"offset": 0, "after": [0, 0, 10**400, False]}),
    _token({"offset": 0, "after": [0, 0, 1, "x"]}),
    _token({"offset": 0, "after": {"a": [[[]]]}}),
    base64.b64encode(b'{"offset": 0, "after": [0, 0, 1e400, false]}').decode(),
    base64.b64encode(b"[" * 5000).decode(),
    base64.b64encode(b"\xff\xfe").decode(),
    "!!!not-base64",
    FULLWIDTH_ONE,
    "A" * 10_000,
]

# Values that have broken servers: the fuzzer's vocabulary.
JUNK: list[Any] = [
    "\x00",
    "a\x00b",
    2**63,
    2**64,
    -(2**63) - 1,
    -1,
    0,
    Raw("1e400"),
    Raw("-1e400"),
    Raw("1" * 5000),
    "9223372036854775808",
    "18446744073709551616",
    "-1",
    FULLWIDTH_ONE,
    "²",
    "١٢",
    Raw("[" * 1000 + "]" * 1000),
    Raw('{"a":' * 1000 + "1" + "}" * 1000),
    [],
    {},
    [[]],
    {"a": {"b": None}},
    None,
    True,
    1.5,
    "",
    " ",
    "x" * 100_000,
    "../../../etc/passwd",
    "..",
    "/",
    "a/../../b",
    "%00",
    "%2e%2e/",
    "\\..\\x",
    "💥" * 100,
    "\ud800",
    "NaN",
    "Infinity",
    "null",
    "' OR 1=1 --",
    "metrics.x > 1 AND params.y = 'z'",
    "models:/rm/²",
    "models:/rm/18446744073709551616",
    "runs:/../x",
    [f"metrics.m{i}" for i in range(200)],
    [{"field_name": f"metrics.m{i}"} for i in range(200)],
    " AND ".join(f"params.p{i} = 'x'" for i in range(600)),
    *BAD_TOKENS,
]

PATH_JUNK = [
    "\x00",
    "a\x00b",
    "..",
    "../../etc/passwd",
    "%2e%2e",
    FULLWIDTH_ONE,
    "x" * 3000,
    "a/b/../../..",
    "💥",
    " ",
    "/".join(["d"] * 2040),
]


def _message_models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for name in _MESSAGE_MODULES:
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
                found[attr] = obj
    return found


MODELS = _message_models()
ALL_FIELDS = sorted({f.alias or n for m in MODELS.values() for n, f in m.model_fields.items()})
_EXTRA_FIELDS = ["path", "mode", "allow_deleted", "artifact_directory_path", "run_ids", "upload_id", "parts"]


def fields_of(route: Route) -> list[str]:
    """The request fields a route's handler reads: those of the request models its source names."""
    handler = inspect.unwrap(route.endpoint)
    try:
        source = inspect.getsource(handler)
    except (OSError, TypeError):
        source = ""
    names = {n for n in re.findall(r"\b([A-Z]\w+)\b", source) if n in MODELS}
    fields = sorted({f.alias or n for name in names for n, f in MODELS[name].model_fields.items()})
    return fields or ALL_FIELDS


@dataclass
class Seeds:
    """Real objects in the fuzzed server, so mutated requests reach past the first lookup."""

    experiment_id: str
    run_id: str
    model_id: str
    model_name: str
    workspace: str

    def good(self, field: str) -> Any:
        table: dict[str, Any] = {
            "experiment_id": self.experiment_id,
            "experiment_ids": [self.experiment_id],
            "run_id": self.run_id,
            "run_uuid": self.run_id,
            "run_ids": [self.run_id],
            "source_run_id": self.run_id,
            "model_id": self.model_id,
            "name": self.model_name,
            "new_name": f"{self.model_name}-renamed",
            "experiment_name": "Default",
            "version": "1",
            "key": "k",
            "value": "v",
            "metric_key": "m",
            "timestamp": 1,
            "step": 0,
            "start_step": 0,
            "end_step": 10,
            "max_results": 10,
            "page_token": _token({"offset": 0}),
            "filter": "",
            "order_by": [],
            "source": f"runs:/{self.run_id}/model",
            "source_url": "http://source.example",
            "stage": "Staging",
            "alias": "champion",
            "status": "FINISHED",
            "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}],
            "params": [{"key": "p", "value": "1"}],
            "tags": [{"key": "t", "value": "1"}],
            "models": [{"model_id": self.model_id}],
            "path": "",
        }
        return table.get(field, "x")


class Fuzzer:
    def __init__(self, client: httpx.Client, seeds: Seeds, rng: random.Random) -> None:
        self.client = client
        self.seeds = seeds
        self.rng = rng

    def junk(self) -> Any:
        return self.rng.choice(JUNK)

    def message(self, route: Route) -> dict[str, Any]:
        rng = self.rng
        fields = fields_of(route)
        body: dict[str, Any] = {f: self.seeds.good(f) for f in fields if rng.random() < 0.8}
        for _ in range(rng.randint(1, 3)):
            target = rng.choice(fields + _EXTRA_FIELDS)
            roll = rng.random()
            if roll < 0.6:
                body[target] = self.junk()
            elif roll < 0.75:
                body.pop(target, None)
            elif roll < 0.9 and isinstance(body.get(target), list):
                body[target] = [self._mutate_item(x) for x in body[target]] or [self.junk()]
            else:
                body[target] = [self.junk() for _ in range(rng.randint(0, 300))]
        return body

    def _mutate_item(self, item: Any) -> Any:
        if isinstance(item, dict) and item:
            item = dict(item)
            item[self.rng.choice(list(item))] = self.junk()
        return item

    def path(self, route: Route) -> str:
        path = route.path
        for name in route.param_convertors:
            pattern = re.compile(r"\{" + name + r"(:[a-z]+)?\}")
            convertor = pattern.search(path)
            assert convertor is not None
            kind = convertor.group(1)
            if kind == ":int":
                value = self.rng.choice(["1", "0", str(2**63), str(2**64), "9" * 100])
            else:
                good = {"model_id": self.seeds.model_id, "workspace_name": self.seeds.workspace}.get(name, "a/b.txt")
                value = good if self.rng.random() < 0.3 else self.rng.choice(PATH_JUNK)
            safe = "/" if kind == ":path" else ""
            path = path[: convertor.start()] + quote(value, safe=safe) + path[convertor.end() :]
        return path

    def request(self, route: Route) -> tuple[str, str, dict[str, Any], bytes | None]:
        rng = self.rng
        method = rng.choice(sorted(route.methods or {"GET"}))
        if method == "HEAD":
            method = "GET"
        url = self.path(route)
        if url.startswith("/api/") and rng.random() < 0.2:
            url = f"/ajax-api/{url[len('/api/') :]}"  # the alias every API route also has
        if rng.random() < 0.05:
            workspace = rng.choice([self.seeds.workspace, "nope", FULLWIDTH_ONE, "a\x00b", "..", "x" * 300])
            url = f"/w/{quote(workspace, safe='')}{url}"
        headers: dict[str, Any] = dict(JSON_HEADERS)
        if rng.random() < 0.1:
            name = rng.choice(["nope", FULLWIDTH_ONE, "../x", "x" * 300, "%00", self.seeds.workspace])
            headers["X-MLFLOW-WORKSPACE"] = name.encode()  # UTF-8 bytes on the wire
        body = self.message(route)
        if method == "GET":
            pairs: list[tuple[str, str]] = []
            for key, value in body.items():
                for v in value if isinstance(value, list) else [value]:
                    pairs.append((key, v if isinstance(v, str) else dump(v, rng)))
            # httpx refuses URLs over 64 KiB (path and query together); uvicorn's limit is what a real
            # client meets first anyway.
            room = 64_000 - len(url)
            query = "&".join(f"{quote(k)}={quote(v[:8000], errors='surrogatepass')}" for k, v in pairs)[:room]
            if rng.random() < 0.05:
                query += "&name=%FF%FE&experiment_id=%C0%AF"  # invalid UTF-8
            return method, f"{url}?{query}" if query else url, headers, None
        roll = rng.random()
        if roll < 0.05:
            data = rng.choice([b"\xff\xfe{}", b'{"name": "\xff"}', b"{", b"[]", b"null", b"1e400", b"\x00"])
        elif roll < 0.08:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
        elif roll < 0.1:
            data = b"[" * 100_000
        else:
            data = dump(body, rng).encode("utf-8", errors="surrogatepass")
        return method, url, headers, data


# Routes that answer 501 NOT_IMPLEMENTED by design (a client falls back on it), as `mlflow server` does.
NOT_IMPLEMENTED_BY_DESIGN = ("/mlflow-artifacts/presigned/",)
# OAuth 2.0 endpoints answer errors in RFC 6749 §5.2's shape (`error`, `error_description`), which OAuth
# clients parse, not MLflow's.
OAUTH_PREFIX = "/oauth/"
# The browser pages answer errors as HTML pages a person reads.
PAGES = frozenset({"/login", "/logout", "/device", "/oauth/authorize", "/login/sso", "/login/sso/callback"})


def _assert_mlflow_shaped(resp: httpx.Response, context: str) -> None:
    if resp.status_code == 501 and any(p in resp.request.url.path for p in NOT_IMPLEMENTED_BY_DESIGN):
        assert resp.json()["error_code"] == "NOT_IMPLEMENTED", f"{resp.text[:500]}\n{context}"
        return
    assert resp.status_code < 500, f"{resp.status_code} {resp.text[:500]}\n{context}"
    local = re.sub(r"^/w/[^/]*", "", resp.request.url.path)
    if resp.status_code >= 400 and local in PAGES and resp.headers.get("content-type", "").startswith("text/html"):
        return
    if resp.status_code >= 400:
        try:
            body = resp.json()
        except ValueError:
            pytest.fail(f"error body is not JSON: {resp.text[:300]!r}\n{context}")
        if local.startswith(OAUTH_PREFIX) and not (isinstance(body, dict) and "error_code" in body):
            # (the request-string rule every route shares, e.g. no NUL, answers in MLflow's shape)
            assert isinstance(body, dict) and isinstance(body.get("error"), str), f"{body}\n{context}"
            return
        assert isinstance(body, dict) and "error_code" in body and "message" in body, f"{body}\n{context}"


@pytest.fixture(scope="module")
def fuzz_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    """A server of its own: the fuzzer deletes and renames whatever it finds."""
    data_dir: Path = tmp_path_factory.mktemp(f"fuzz-{backend}")
    pg = request.getfixturevalue("postgres_database_factory") if backend == "postgres" else None
    proc = ServerProcess(data_dir=data_dir, backend_store_uri=make_store_uri(backend, data_dir, pg)).start()
    yield proc
    proc.stop()


def _seed(client: httpx.Client) -> Seeds:
    tag = os.urandom(3).hex()
    exp = client.post(f"{API}/experiments/create", json={"name": f"fuzz-{tag}"}).json()["experiment_id"]
    run = client.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    client.post(f"{API}/runs/log-metric", json={"run_id": run, "key": "m", "value": 1, "timestamp": 1, "step": 0})
    model = client.post(f"{API}/logged-models", json={"experiment_id": exp, "source_run_id": run}).json()
    name = f"rm-{tag}"
    client.post(f"{API}/registered-models/create", json={"name": name})
    client.post(f"{API}/model-versions/create", json={"name": name, "source": f"runs:/{run}/model", "run_id": run})
    workspace = f"fuzz-{tag}"
    client.post("/api/3.0/mlflow/workspaces", json={"name": workspace})
    return Seeds(exp, run, model["model"]["info"]["model_id"], name, workspace)


def _unique_routes() -> list[Route]:
    """Every declared route once (the `ajax-api` aliases share the `api` handlers, and are sent
    a fifth of each route's requests)."""
    out: dict[tuple[str, str], Route] = {}
    for route in routes():
        if isinstance(route, Mount):
            continue  # the MLflow UI below a prefix (`runyard.api.mlflow_ui.PREFIX`): the same routes again
        assert isinstance(route, Route)
        key = (route.path.replace("/ajax-api/", "/api/", 1), ",".join(sorted(route.methods or [])))
        out.setdefault(key, route)
    return list(out.values())


def assert_healthy(client: httpx.Client) -> None:
    assert client.get("/health").status_code == 200
    name = f"after-fuzz-{os.urandom(4).hex()}"
    created = client.post(f"{API}/experiments/create", json={"name": name}, headers=JSON_HEADERS)
    assert created.status_code == 200, created.text
    got = client.get(f"{API}/experiments/get", params={"experiment_id": created.json()["experiment_id"]})
    assert got.status_code == 200 and got.json()["experiment"]["name"] == name


def fuzz(client: httpx.Client, seed: int, seconds: float, on_request: Callable[[], None] | None = None) -> int:
    """Requests over every route, round-robin in a shuffled order, for about `seconds` (every route at
    least once). Returns how many were sent."""
    rng = random.Random(seed)
    seeds = _seed(client)
    fuzzer = Fuzzer(client, seeds, rng)
    all_routes = _unique_routes()
    deadline = time.monotonic() + seconds
    sent = 0
    while True:
        order = list(all_routes)
        rng.shuffle(order)
        for route in order:
            method, url, headers, data = fuzzer.request(route)
            shown = (data or b"")[:300]
            context = f"seed={seed} (RUNYARD_FUZZ_SEED) request #{sent}: {method} {url[:300]} body={shown!r}"
            try:
                resp = client.request(method, url, headers=headers, content=data)
            except httpx.TransportError as e:
                pytest.fail(f"{type(e).__name__}: {e}\n{context}")
            _assert_mlflow_shaped(resp, context)
            sent += 1
        if time.monotonic() >= deadline:
            return sent


def test_fuzz_every_route(fuzz_server: ServerProcess) -> None:
    seed = int(os.environ.get("RUNYARD_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
    print(f"fuzz seed: {seed}")
    with httpx.Client(base_url=fuzz_server.url, timeout=120) as client:
        sent = fuzz(client, seed, FUZZ_SECONDS)
        assert sent >= len(_unique_routes())
        assert_healthy(client)


def test_fuzzer_covers_every_declared_route() -> None:
    """The route list is the application's own: every route (less the ajax aliases) is fuzzed."""
    declared = {(r.path, m) for r in routes() if isinstance(r, Route) for m in (r.methods or [])}
    fuzzed = {(r.path.replace("/ajax-api/", "/api/", 1), m) for r in _unique_routes() for m in (r.methods or [])}
    assert {(p.replace("/ajax-api/", "/api/", 1), m) for p, m in declared} == fuzzed
    assert len(fuzzed) > 70
