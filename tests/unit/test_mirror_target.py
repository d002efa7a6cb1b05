"""The mirror target client against scripted answers (`httpx.MockTransport`): which failures are
transient, Retry-After, the client-credentials token (discovery, caching, the one refresh on a
401), the headers each credential kind sends, the workspace header, that no secret reaches a
`TargetError`, NaN on the wire, batch splitting, tag filters and artifact path handling."""

from __future__ import annotations

import base64
import email.utils
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from runyard.domain.errors import MlflowError
from runyard.domain.mirror import TargetCredentials, backoff_seconds
from runyard.mirror.target import Target, TargetError
from runyard.mirror.target_errors import parse_retry_after
from runyard.mirror.target_paths import tag_filter

URL = "http://target.test:5000"
Handler = Callable[[httpx.Request], httpx.Response]
TOKEN = "tok-Sekr3t-value"
PASSWORD = "pw-Sekr3t-value"
CLIENT_SECRET = "cs-Sekr3t-value"


def json_answer(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class Recorder:
    """A scripted target: `handler` answers, `requests` keeps what was sent (bodies read)."""

    handler: Handler
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def target(
    handler: Handler,
    credentials: TargetCredentials | None = None,
    workspace: str | None = None,
    url: str = URL,
) -> tuple[Target, Recorder]:
    recorder = Recorder(handler)
    t = Target(url, workspace, credentials or TargetCredentials(), transport=httpx.MockTransport(recorder))
    return t, recorder


def fails_with(handler: Handler, credentials: TargetCredentials | None = None) -> TargetError:
    t, _ = target(handler, credentials)
    with pytest.raises(TargetError) as caught:
        t.call("GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": "1"})
    return caught.value


# -- error classification ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_statuses_a_retry_can_cure_are_transient(status: int) -> None:
    error = fails_with(lambda r: json_answer(status, {"error_code": "X", "message": "busy"}))
    assert error.status == status
    assert error.transient
    assert not error.not_found


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 501])
def test_other_failures_are_permanent(status: int) -> None:
    error = fails_with(lambda r: json_answer(status, {"error_code": "INVALID_PARAMETER_VALUE", "message": "no"}))
    assert error.status == status
    assert not error.transient
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    assert "GET /api/2.0/mlflow/experiments/get" in str(error)
    assert f"HTTP {status}" in str(error)
    assert "INVALID_PARAMETER_VALUE: no" in str(error)


def test_no_answer_is_transient_without_a_status() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def stall(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    refused, stalled = fails_with(refuse), fails_with(stall)
    assert refused.status is None and refused.transient and "could not reach" in str(refused)
    assert stalled.status is None and stalled.transient and "timed out" in str(stalled)


def test_not_found_is_told_apart_from_a_missing_endpoint() -> None:
    t, _ = target(lambda r: json_answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"}))
    assert t.experiment("1") is None
    assert t.experiment_by_name("x") is None
    assert t.run("abc") is None
    assert t.logged_model("m-1") is None
    html = "<!doctype html><html><title>404 Not Found</title><h1>Not Found</h1></html>"
    t, _ = target(lambda r: httpx.Response(404, text=html, headers={"Content-Type": "text/html"}))
    with pytest.raises(TargetError) as caught:
        t.logged_model("m-1")  # an MLflow 2 server: no such route, which is not "no such model"
    assert caught.value.endpoint_missing and not caught.value.not_found
    assert caught.value.error_code is None
    assert "404 Not Found" in str(caught.value) and "<" not in str(caught.value)


def test_a_long_message_is_truncated() -> None:
    error = fails_with(lambda r: json_answer(400, {"error_code": "BAD_REQUEST", "message": "x" * 5000}))
    assert 300 <= len(error.message) < 450


def test_a_2xx_answer_that_is_not_a_json_object_is_an_error() -> None:
    error = fails_with(lambda r: httpx.Response(200, text="<html>sign in</html>"))
    assert error.status == 200 and not error.transient and "not a JSON object" in str(error)
    t, _ = target(lambda r: httpx.Response(200, content=b""))
    assert t.call("POST", "/api/2.0/mlflow/runs/delete", {"run_id": "r"}) == {}


def test_retry_after_in_seconds_and_as_a_date() -> None:
    error = fails_with(lambda r: json_answer(429, {}, {"Retry-After": "7"}))
    assert error.retry_after == 7.0
    assert error.retry_delay(3) == 7.0
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    error = fails_with(lambda r: json_answer(503, {}, {"Retry-After": when}))
    assert error.retry_after is not None and 100 < error.retry_after <= 120
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert parse_retry_after(past) == 0.0
    assert parse_retry_after("soon") is None
    error = fails_with(lambda r: json_answer(500, {}, {"Retry-After": "7"}))
    assert error.retry_after is None  # only a 429 or 503 says when to come back
    assert error.retry_delay(3) == backoff_seconds(3)


# -- credentials ---------------------------------------------------------------------------------


def test_bearer_and_basic_headers() -> None:
    t, rec = target(lambda r: json_answer(200, {"experiment": {}}), TargetCredentials(kind="token", token=TOKEN))
    t.experiment("1")
    assert rec.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    t, rec = target(
        lambda r: json_answer(200, {"experiment": {}}),
        TargetCredentials(kind="basic", username="alice", password=PASSWORD),
    )
    t.experiment("1")
    expected = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert rec.requests[-1].headers["Authorization"] == f"Basic {expected}"
    t, rec = target(lambda r: json_answer(200, {"experiment": {}}))
    t.experiment("1")
    assert "Authorization" not in rec.requests[-1].headers


def test_incomplete_credentials_are_refused() -> None:
    with pytest.raises(MlflowError):
        Target(URL, None, TargetCredentials(kind="basic", username="alice"))


@dataclass
class OAuthTarget:
    """A target with a client-credentials token endpoint; `reject` API calls answer 401."""

    discovery: dict[str, dict[str, object]] = field(default_factory=dict)
    expires_in: int | None = 3600
    reject: int = 0
    issued: list[str] = field(default_factory=list)
    token_requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in self.discovery:
            return json_answer(200, self.discovery[path])
        if path.startswith("/.well-known/"):
            return httpx.Response(404, text="not here")
        if path.endswith("/token"):
            self.token_requests.append(request)
            token = f"access-{len(self.issued) + 1}"
            self.issued.append(token)
            answer: dict[str, object] = {"access_token": token, "token_type": "Bearer"}
            if self.expires_in is not None:
                answer["expires_in"] = self.expires_in
            return json_answer(200, answer)
        if self.reject > 0:
            self.reject -= 1
            return json_answer(401, {"error_code": "UNAUTHENTICATED", "message": "expired"})
        if request.headers.get("Authorization") != f"Bearer {self.issued[-1]}":
            return json_answer(401, {"error_code": "UNAUTHENTICATED", "message": "unknown token"})
        return json_answer(200, {"experiment": {"experiment_id": "1"}})


CLIENT = TargetCredentials(kind="client_credentials", client_id="mirror-bot", client_secret=CLIENT_SECRET)


def test_client_credentials_token_is_fetched_once_and_cached() -> None:
    oauth = OAuthTarget()
    t, rec = target(oauth, CLIENT)
    for _ in range(3):
        assert t.experiment("1") == {"experiment_id": "1"}
    assert len(oauth.token_requests) == 1
    token_request = oauth.token_requests[0]
    assert token_request.url.path == "/oauth/token"  # no discovery document: the fallback
    assert token_request.content == b"grant_type=client_credentials"
    expected = base64.b64encode(f"mirror-bot:{CLIENT_SECRET}".encode()).decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"
    assert rec.paths()[:2] == ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]


def test_a_token_is_renewed_shortly_before_it_expires() -> None:
    oauth = OAuthTarget(expires_in=100)
    t, _ = target(oauth, CLIENT)
    now = [1000.0]
    t._auth.clock = lambda: now[0]
    t.experiment("1")
    now[0] += 75  # a fifth of the lifetime before the end: still good
    t.experiment("1")
    assert len(oauth.issued) == 1
    now[0] += 10
    t.experiment("1")
    assert len(oauth.issued) == 2


def test_a_401_renews_the_token_once_and_retries_once() -> None:
    oauth = OAuthTarget()
    t, rec = target(oauth, CLIENT)
    t.experiment("1")
    oauth.reject = 1
    assert t.experiment("1") == {"experiment_id": "1"}
    assert len(oauth.issued) == 2
    assert rec.requests[-1].headers["Authorization"] == "Bearer access-2"
    oauth.reject = 5
    with pytest.raises(TargetError) as caught:
        t.experiment("1")
    assert caught.value.status == 401 and not caught.value.transient
    assert len(oauth.issued) == 3  # one renewal, one retry: no loop
    api_calls = [r for r in rec.requests if r.url.path == "/api/2.0/mlflow/experiments/get"]
    assert len(api_calls) == 1 + 2 + 2


def test_a_401_with_a_static_token_is_not_retried() -> None:
    t, rec = target(lambda r: json_answer(401, {}), TargetCredentials(kind="token", token=TOKEN))
    with pytest.raises(TargetError) as caught:
        t.experiment("1")
    assert caught.value.status == 401 and not caught.value.transient
    assert len(rec.requests) == 1


def test_discovery_prefers_rfc8414_then_openid_configuration() -> None:
    oauth = OAuthTarget(
        discovery={"/.well-known/openid-configuration": {"token_endpoint": "http://idp.test/realms/x/token"}}
    )
    t, rec = target(oauth, CLIENT)
    t.experiment("1")
    assert str(oauth.token_requests[0].url) == "http://idp.test/realms/x/token"
    oauth = OAuthTarget(
        discovery={
            "/.well-known/oauth-authorization-server": {"token_endpoint": f"{URL}/auth/token"},
            "/.well-known/openid-configuration": {"token_endpoint": "http://wrong.test/token"},
        }
    )
    t, rec = target(oauth, CLIENT)
    t.experiment("1")
    t.experiment("1")
    assert str(oauth.token_requests[0].url) == f"{URL}/auth/token"
    assert rec.paths().count("/.well-known/oauth-authorization-server") == 1  # remembered
    assert "/.well-known/openid-configuration" not in rec.paths()


def test_client_secret_post_when_the_metadata_lists_only_that() -> None:
    oauth = OAuthTarget(
        discovery={
            "/.well-known/oauth-authorization-server": {
                "token_endpoint": f"{URL}/oauth/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            }
        }
    )
    t, _ = target(oauth, CLIENT)
    t.experiment("1")
    request = oauth.token_requests[0]
    assert "Authorization" not in request.headers
    assert b"client_id=mirror-bot" in request.content and CLIENT_SECRET.encode() in request.content


def test_a_failed_token_request_is_an_error_without_the_secret() -> None:
    def deny(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            said = f"invalid client mirror-bot:{CLIENT_SECRET} ({request.headers.get('Authorization')})"
            return json_answer(401, {"error": "invalid_client", "error_description": said})
        return httpx.Response(404)

    error = fails_with(deny, CLIENT)
    assert error.status == 401 and error.error_code == "invalid_client" and not error.transient
    assert "token request to http://target.test:5000/oauth/token" in str(error)
    assert CLIENT_SECRET not in str(error) and CLIENT_SECRET not in repr(error)
    assert base64.b64encode(f"mirror-bot:{CLIENT_SECRET}".encode()).decode() not in str(error)


@pytest.mark.parametrize(
    ("credentials", "secrets"),
    [
        (TargetCredentials(kind="token", token=TOKEN), [TOKEN]),
        (
            TargetCredentials(kind="basic", username="alice", password=PASSWORD),
            [PASSWORD, base64.b64encode(f"alice:{PASSWORD}".encode()).decode()],
        ),
        (CLIENT, [CLIENT_SECRET, "access-1"]),
    ],
)
def test_credentials_never_appear_in_errors(credentials: TargetCredentials, secrets: list[str]) -> None:
    """A target that echoes the request's Authorization header back in its error message."""

    def echo(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return json_answer(200, {"access_token": "access-1", "expires_in": 60})
        if request.url.path.startswith("/.well-known/"):
            return httpx.Response(404)
        said = f"bad credentials: {request.headers.get('Authorization')}"
        return json_answer(403, {"error_code": "PERMISSION_DENIED", "message": said})

    error = fails_with(echo, credentials)
    assert "bad credentials: " in str(error)
    for secret in secrets:
        assert secret not in str(error)
        assert secret not in repr(error)
    assert repr(credentials) == f"TargetCredentials(kind={credentials.kind!r})"


# -- what is sent --------------------------------------------------------------------------------


def test_the_workspace_header_goes_with_every_call_but_not_to_the_token_endpoint() -> None:
    oauth = OAuthTarget()
    t, rec = target(oauth, CLIENT, workspace="team-a")
    t.experiment("1")
    api = [r for r in rec.requests if r.url.path.startswith("/api/")]
    assert api and all(r.headers["X-MLFLOW-WORKSPACE"] == "team-a" for r in api)
    assert "X-MLFLOW-WORKSPACE" not in oauth.token_requests[0].headers
    t, rec = target(lambda r: json_answer(200, {"experiment": {}}))
    t.experiment("1")
    assert "X-MLFLOW-WORKSPACE" not in rec.requests[0].headers


def test_a_path_prefix_in_the_url_is_kept() -> None:
    t, rec = target(lambda r: json_answer(200, {"experiment": {}}), url="http://target.test/mlflow/")
    t.experiment("7")
    assert str(rec.requests[0].url) == "http://target.test/mlflow/api/2.0/mlflow/experiments/get?experiment_id=7"


def test_nan_and_infinities_go_out_as_mlflow_strings() -> None:
    t, rec = target(lambda r: json_answer(200, {}))
    metrics = [
        {"key": "m", "value": v, "timestamp": 1700000000123, "step": 2**40}
        for v in (float("nan"), float("inf"), float("-inf"), 0.5)
    ]
    t.log_batch("r1", metrics=metrics, params=[("p", "1")], tags=[("t", "x")])
    raw = rec.requests[0].content.decode()
    assert "NaN," not in raw and "Infinity," not in raw  # no bare JSON tokens
    body = json.loads(raw)
    assert [m["value"] for m in body["metrics"]] == ["NaN", "Infinity", "-Infinity", 0.5]
    assert body["metrics"][0]["step"] == 2**40 and body["metrics"][0]["timestamp"] == 1700000000123
    assert body["params"] == [{"key": "p", "value": "1"}] and body["tags"] == [{"key": "t", "value": "x"}]
    assert rec.requests[0].headers["Content-Type"] == "application/json"


def test_log_batch_is_split_within_mlflow_limits() -> None:
    t, rec = target(lambda r: json_answer(200, {}))
    metrics = [{"key": "m", "value": float(i), "timestamp": i, "step": i} for i in range(2500)]
    params = [(f"p{i}", "v") for i in range(150)]
    tags = [(f"t{i}", "v") for i in range(30)]
    t.log_batch("r1", metrics=metrics, params=params, tags=tags)
    bodies = [json.loads(r.content) for r in rec.requests]
    for body in bodies:
        counts = [len(body.get(k, [])) for k in ("metrics", "params", "tags")]
        assert counts[0] <= 1000 and counts[1] <= 100 and counts[2] <= 100 and sum(counts) <= 1000
    assert [m["step"] for b in bodies for m in b.get("metrics", [])] == list(range(2500))
    assert sum(len(b.get("params", [])) for b in bodies) == 150
    t.log_batch("r1")
    assert len(rec.requests) == len(bodies)  # nothing to send: no call


def test_tag_filters_quote_values_the_grammar_can_hold() -> None:
    assert tag_filter("k", "plain", double_quoted_values=True) == "tags.`k` = 'plain'"
    assert tag_filter("k", 'say "hi"', double_quoted_values=True) == "tags.`k` = 'say \"hi\"'"
    assert tag_filter("k", "it's", double_quoted_values=True) == 'tags.`k` = "it\'s"'
    assert tag_filter("k", "it's", double_quoted_values=False) == "tags.`k` LIKE 'it_s'"
    assert tag_filter("k", 'it\'s "x" \\', double_quoted_values=True) == "tags.`k` LIKE 'it_s _x_ _'"


def test_find_runs_by_tag_pages_and_keeps_exact_matches_only() -> None:
    def run(run_id: str, value: str) -> dict[str, object]:
        return {"info": {"run_id": run_id}, "data": {"tags": [{"key": "src", "value": value}]}}

    pages = {
        None: {"runs": [run("a", 'it\'s "x"'), run("b", "it_s _x_")], "next_page_token": "p2"},
        "p2": {"runs": [run("c", 'it\'s "x"')]},
    }

    def search(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["run_view_type"] == "ALL" and body["experiment_ids"] == ["3"]
        assert body["filter"] == "tags.`src` LIKE 'it_s _x_'"
        return json_answer(200, pages[body.get("page_token")])

    t, rec = target(search)
    assert [r["info"]["run_id"] for r in t.find_runs_by_tag("3", "src", 'it\'s "x"')] == ["a", "c"]
    assert len(rec.requests) == 2


def test_find_logged_models_by_tag_uses_single_quotes() -> None:
    def search(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["filter"] == "tags.`runyard.source.model_id` = 'm-1'"
        tags = [{"key": "runyard.source.model_id", "value": "m-1"}]
        return json_answer(200, {"models": [{"info": {"model_id": "m-9", "tags": tags}}]})

    t, rec = target(search)
    assert [m["info"]["model_id"] for m in t.find_logged_models_by_tag("3", "runyard.source.model_id", "m-1")] == [
        "m-9"
    ]
    assert rec.requests[0].url.path == "/api/2.0/mlflow/logged-models/search"


def test_logged_model_ids_and_tag_keys_are_quoted_in_paths() -> None:
    t, rec = target(lambda r: json_answer(200, {}))
    t.delete_logged_model_tag("m-1", "a/b c")
    t.finalize_logged_model("m-1", "READY")
    assert rec.requests[0].method == "DELETE"
    assert rec.requests[0].url.raw_path == b"/api/2.0/mlflow/logged-models/m-1/tags/a%2Fb%20c"
    assert json.loads(rec.requests[1].content) == {"model_id": "m-1", "status": "LOGGED_MODEL_READY"}


def test_kind_probes_once() -> None:
    t, rec = target(lambda r: json_answer(200, {"version": "1"}))
    assert t.kind() == "runyard" and t.kind() == "runyard"
    assert t.mirror_info() == {"version": "1"}
    assert rec.paths() == ["/api/2.0/runyard/mirror/info"]
    t, _ = target(lambda r: httpx.Response(404, text="<html>no</html>"))
    assert t.kind() == "mlflow" and t.mirror_info() is None
    t, _ = target(lambda r: httpx.Response(200, text="<html>a UI page</html>"))
    assert t.kind() == "mlflow"
    answers = iter([json_answer(503, {}), json_answer(200, {})])
    t, _ = target(lambda r: next(answers))
    with pytest.raises(TargetError):
        t.kind()
    assert t.kind() == "runyard"  # a failed probe is not remembered


# -- artifacts -----------------------------------------------------------------------------------


def test_artifact_paths_are_quoted_per_segment() -> None:
    t, rec = target(lambda r: httpx.Response(200))
    t.upload_artifact("mlflow-artifacts:/1/abc/artifacts", "dir/a b?c%d+ü.txt", iter([b"x"]), size=1)
    t.upload_artifact("mlflow-artifacts://other-host:5000/1/abc/artifacts/", "./x//y.bin", iter([b"x"]), size=1)
    assert rec.requests[0].url.raw_path == (
        b"/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/dir/a%20b%3Fc%25d%2B%C3%BC.txt"
    )
    assert rec.requests[1].url.raw_path == b"/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/x/y.bin"
    assert rec.requests[1].url.host == "target.test"


@pytest.mark.parametrize("rel_path", ["/etc/passwd", "../x", "a/../../b", "a\\b", "C:/x", "", "."])
def test_unsafe_artifact_paths_are_refused(rel_path: str) -> None:
    t, rec = target(lambda r: httpx.Response(200))
    with pytest.raises(TargetError) as caught:
        t.upload_artifact("mlflow-artifacts:/1/abc/artifacts", rel_path, iter([b"x"]))
    assert not caught.value.transient and caught.value.status is None
    assert rec.requests == []


@pytest.mark.parametrize("uri", ["/srv/mlruns/1/abc/artifacts", "file:///srv/mlruns/1", "s3://bucket/1/abc"])
def test_artifact_uris_the_target_does_not_proxy_are_refused(uri: str) -> None:
    t, rec = target(lambda r: httpx.Response(200))
    for attempt in (
        lambda: t.upload_artifact(uri, "a.txt", iter([b"x"])),
        lambda: t.list_artifacts(uri),
        lambda: b"".join(t.download_artifact(uri, "a.txt")),
    ):
        with pytest.raises(TargetError) as caught:
            attempt()
        assert not caught.value.transient
        assert "does not proxy artifacts" in str(caught.value)
    assert rec.requests == []


def test_uploads_stream_with_or_without_a_length() -> None:
    t, rec = target(lambda r: httpx.Response(200))

    def chunks() -> Iterator[bytes]:
        yield b"abc"
        yield b"def"

    t.upload_artifact("mlflow-artifacts:/1/r/artifacts", "sized.bin", chunks(), size=6)
    t.upload_artifact("mlflow-artifacts:/1/r/artifacts", "chunked.bin", chunks())
    t.upload_artifact("mlflow-artifacts:/1/r/artifacts", "file.bin", io.BytesIO(b"0123456789"))
    sized, chunked, file = rec.requests
    assert sized.method == "PUT" and sized.headers["Content-Length"] == "6" and sized.content == b"abcdef"
    assert "Transfer-Encoding" not in sized.headers
    assert chunked.headers["Transfer-Encoding"] == "chunked" and chunked.content == b"abcdef"
    assert file.headers["Content-Length"] == "10" and file.content == b"0123456789"


def test_a_401_during_an_upload_replays_a_file_but_not_an_iterator() -> None:
    oauth = OAuthTarget()
    t, rec = target(oauth, CLIENT)
    t.experiment("1")
    oauth.reject = 1
    t.upload_artifact("mlflow-artifacts:/1/r/artifacts", "f.bin", io.BytesIO(b"payload"))
    puts = [r for r in rec.requests if r.method == "PUT"]
    assert [p.content for p in puts] == [b"payload", b"payload"]
    oauth.reject = 1
    with pytest.raises(TargetError) as caught:
        t.upload_artifact("mlflow-artifacts:/1/r/artifacts", "g.bin", iter([b"once"]))
    assert caught.value.status == 401 and caught.value.transient  # the next attempt has a new token
    t.upload_artifact("mlflow-artifacts:/1/r/artifacts", "g.bin", iter([b"once"]))
    assert len(oauth.issued) == 3
    assert rec.requests[-1].headers["Authorization"] == "Bearer access-3"


def test_list_and_download() -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/2.0/mlflow-artifacts/artifacts":
            assert request.url.params["path"] == "1/r/artifacts/sub"
            files = [{"path": "a.txt", "is_dir": False, "file_size": "12"}, {"path": "d", "is_dir": True}]
            return json_answer(200, {"files": files})
        return httpx.Response(200, content=b"x" * (3 * 1024 * 1024 + 5))

    t, _ = target(serve)
    assert t.list_artifacts("mlflow-artifacts:/1/r/artifacts", "sub") == [
        ("sub/a.txt", False, 12),
        ("sub/d", True, None),
    ]
    assert (
        sum(len(c) for c in t.download_artifact("mlflow-artifacts:/1/r/artifacts", "sub/a.txt")) == 3 * 1024 * 1024 + 5
    )


def test_the_fast_encoding_gives_the_bytes_of_the_careful_one() -> None:
    from runyard.mirror.target import _jsonable, encode_json

    def careful(body: dict[str, object]) -> bytes:
        return json.dumps(_jsonable(body), allow_nan=False, separators=(",", ":")).encode()

    metrics = [{"key": "m", "value": 0.1 * i, "step": i} for i in range(5)]
    finite: dict[str, object] = {"run_id": "r", "metrics": metrics, "t": (1, "x")}
    nested_nan: dict[str, object] = {"a": [{"b": (1.5, float("-inf"))}], "c": {"d": float("nan")}}
    for body in (finite, nested_nan, {}):
        assert encode_json(body) == careful(body)
    assert json.loads(encode_json(nested_nan)) == {"a": [{"b": [1.5, "-Infinity"]}], "c": {"d": "NaN"}}
