"""Raw MLflow REST calls over keep-alive HTTP connections, for seeding and raw-HTTP workloads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
R = TypeVar("R")

API = "/api/2.0/mlflow"


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:500]}")
        self.status = status
        self.body = body


class EndpointMissing(ApiError):
    """The server does not implement the endpoint (404 where the request itself was valid)."""


class Api:
    """One keep-alive `httpx.Client` per thread; 5xx/429 answers and dropped connections are retried."""

    def __init__(
        self, base_url: str, retries: int = 8, timeout: float = 600.0, authorization: str | None = None
    ) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": authorization} if authorization else {}
        self.retries = retries
        self.timeout = timeout
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.base_url, timeout=self.timeout, headers=self.headers)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()

    def call(
        self, method: str, path: str, *, json: Any = None, params: Any = None, missing_ok: bool = False
    ) -> dict[str, Any]:
        """`path` is below /api/2.0/mlflow; a 404 raises EndpointMissing when `missing_ok`."""
        url = path if path.startswith("/api/") else API + path
        delay = 0.05
        for attempt in range(self.retries + 1):
            try:
                resp = self.client().request(method, url, json=json, params=params)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
                time.sleep(delay)
                delay *= 2
                continue
            if resp.is_success:  # 200, or 201 for a created workspace
                return resp.json() if resp.content else {}
            if missing_ok and resp.status_code == 404:
                raise EndpointMissing(method, url, resp.status_code, resp.text)
            if (resp.status_code >= 500 or resp.status_code == 429) and attempt < self.retries:
                time.sleep(delay)  # e.g. "database is locked" from a SQLite store under parallel seeding
                delay *= 2
                continue
            raise ApiError(method, url, resp.status_code, resp.text)
        raise AssertionError("unreachable")

    # -- the calls the seeders need ---------------------------------------------------------------

    def experiment(self, name: str) -> str:
        """The id of the experiment `name`, created if needed."""
        try:
            return str(self.call("POST", "/experiments/create", json={"name": name})["experiment_id"])
        except ApiError as e:
            if "RESOURCE_ALREADY_EXISTS" not in e.body:
                raise
        got = self.call("GET", "/experiments/get-by-name", params={"experiment_name": name})
        return str(got["experiment"]["experiment_id"])

    def create_run(self, experiment_id: str, name: str, start_time: int, tags: Iterable[tuple[str, str]] = ()) -> str:
        body = {
            "experiment_id": experiment_id,
            "run_name": name,
            "start_time": start_time,
            "tags": [{"key": k, "value": v} for k, v in tags],
        }
        return str(self.call("POST", "/runs/create", json=body)["run"]["info"]["run_id"])

    def log_batch(
        self,
        run_id: str,
        metrics: list[dict[str, Any]] | None = None,
        params: list[dict[str, str]] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        body = {"run_id": run_id, "metrics": metrics or [], "params": params or [], "tags": tags or []}
        self.call("POST", "/runs/log-batch", json=body)


def parallel(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """`fn` over `items` on `workers` threads, results in order; the first failure is raised."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-seed") as pool:
        return list(pool.map(fn, items))
