"""Authorization on the MLflow REST surface, through the real mlflow client (issue 12: "Authorization
model", "Deny by default, proven"): readers read, editors log, managers delete; a grant opens only
its resource, a folder grant what is below it, DENY vetoes a role; another workspace's user sees
nothing; lists are filtered in SQL with full pages; the known holes of MLflow's auth app stay shut.

One `--auth on` server for the module (SQLite); users and grants are made through the identity
services over the server's database (`auth_world`)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow.entities import Dataset, DatasetInput, Metric
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tests.integration.auth_world import ACTOR as ACTOR_TESTS
from tests.integration.auth_world import PASSWORD, AuthWorld, auth_world

TEAM = "team"
OTHER = "other"


@dataclass
class Fixture:
    world: AuthWorld
    a: str  # /Shared/proj/a: reader READ, editor EDIT, manager MANAGE
    b: str  # /proj/b: nobody but the folder user and the admin
    c: str  # /misc/c
    run_a: str
    run_b: str


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    with auth_world(tmp_path_factory.mktemp("authz")) as world:
        world.create_workspace(TEAM, "path")
        world.create_workspace(OTHER)
        with as_user(world, "admin"):
            client = MlflowClient(world.url)
            a = client.create_experiment("/Shared/proj/a")
            b = client.create_experiment("/Shared/proj/b")
            c = client.create_experiment("/Shared/misc/c")
            run_a = client.create_run(a).info.run_id
            client.log_metric(run_a, "loss", 0.5, step=1)
            client.log_text(run_a, "hello", "notes/hello.txt")
            run_b = client.create_run(b).info.run_id
            client.log_metric(run_b, "loss", 0.7, step=1)
            client.log_text(run_b, "secret", "notes/secret.txt")
        for name, level in (("reader", "READ"), ("editor", "EDIT"), ("manager", "MANAGE")):
            world.user(name)
            world.grant(name, TEAM, "experiment", a, level)
        world.user("folder")
        world.grant("folder", TEAM, "folder", "/Shared/proj/", "READ")
        world.user("denied")
        role = world.identity.grants.create_role(ACTOR_TESTS, TEAM, "readers", None)
        world.identity.grants.add_role_permission(ACTOR_TESTS, role.id, "workspace", "*", 1)
        world.identity.grants.assign(ACTOR_TESTS, role.id, "denied")
        world.grant("denied", TEAM, "experiment", a, "DENY")
        world.user("member")  # a member of the team with a grant on nothing it can see
        world.grant("member", TEAM, "experiment", "999999", "READ")
        world.user("outsider")
        world.grant("outsider", OTHER, "workspace", "*", "MANAGE")
        yield Fixture(world, a, b, c, run_a, run_b)


class as_user:
    """The mlflow client's environment for `user` in `workspace` (password or token)."""

    def __init__(self, world: AuthWorld, user: str, workspace: str = TEAM, token: str | None = None) -> None:
        from tests.integration.auth_world import ADMIN_PASSWORD

        self.env = {"MLFLOW_WORKSPACE": workspace}
        if token is not None:
            self.env["MLFLOW_TRACKING_TOKEN"] = token
        else:
            self.env["MLFLOW_TRACKING_USERNAME"] = user
            self.env["MLFLOW_TRACKING_PASSWORD"] = ADMIN_PASSWORD if user == "admin" else PASSWORD
        self.saved: dict[str, str | None] = {}
        self.workspace = workspace

    def __enter__(self) -> as_user:
        import mlflow

        for key in (
            "MLFLOW_WORKSPACE",
            "MLFLOW_TRACKING_TOKEN",
            "MLFLOW_TRACKING_USERNAME",
            "MLFLOW_TRACKING_PASSWORD",
        ):
            self.saved[key] = os.environ.pop(key, None)
        os.environ.update(self.env)
        mlflow.set_workspace(self.workspace)
        return self

    def __exit__(self, *_exc: object) -> None:
        import mlflow

        for key, value in self.saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value
        mlflow.set_workspace(None)


def denied(fn: object, *args: object, **kwargs: object) -> str:
    assert callable(fn)
    with pytest.raises(MlflowException) as info:
        fn(*args, **kwargs)
    return str(info.value.error_code)


def test_a_reader_reads_searches_and_downloads_but_cannot_log(fx: Fixture, tmp_path: Path) -> None:
    with as_user(fx.world, "reader"):
        client = MlflowClient(fx.world.url)
        assert [e.experiment_id for e in client.search_experiments()] == [fx.a]
        assert client.get_run(fx.run_a).info.run_id == fx.run_a
        assert [m.value for m in client.get_metric_history(fx.run_a, "loss")] == [0.5]
        path = client.download_artifacts(fx.run_a, "notes/hello.txt", str(tmp_path))
        assert Path(path).read_text() == "hello"
        assert fx.run_a in {r.info.run_id for r in client.search_runs([fx.a])}
        assert denied(client.log_metric, fx.run_a, "loss", 1.0) == "PERMISSION_DENIED"
        assert denied(client.log_batch, fx.run_a, metrics=[Metric("x", 1.0, 0, 0)]) == "PERMISSION_DENIED"
        assert denied(client.set_tag, fx.run_a, "k", "v") == "PERMISSION_DENIED"
        assert denied(client.create_run, fx.a) == "PERMISSION_DENIED"
        with pytest.raises(Exception, match="PERMISSION_DENIED"):  # the artifact repository's HTTPError
            client.log_text(fx.run_a, "x", "x.txt")


def test_an_editor_logs_but_cannot_delete(fx: Fixture) -> None:
    with as_user(fx.world, "editor"):
        client = MlflowClient(fx.world.url)
        run = client.create_run(fx.a).info.run_id
        client.log_metric(run, "loss", 0.1)
        client.log_batch(run, metrics=[Metric("acc", 0.9, 0, 0)], params=[], tags=[])
        client.log_text(run, "ok", "out.txt")
        client.set_tag(run, "k", "v")
        client.delete_tag(run, "k")  # a tag delete is a write (MLflow: DeleteTag needs can_update)
        assert denied(client.delete_run, run) == "PERMISSION_DENIED"
        assert denied(client.delete_experiment, fx.a) == "PERMISSION_DENIED"
    with as_user(fx.world, "manager"):
        MlflowClient(fx.world.url).delete_run(run)
        MlflowClient(fx.world.url).restore_run(run)


def test_a_grant_on_one_experiment_opens_no_other(fx: Fixture) -> None:
    with as_user(fx.world, "reader"):
        client = MlflowClient(fx.world.url)
        assert denied(client.get_experiment, fx.b) == "PERMISSION_DENIED"
        assert denied(client.get_run, fx.run_b) == "PERMISSION_DENIED"
        assert denied(client.get_metric_history, fx.run_b, "loss") == "PERMISSION_DENIED"
        assert denied(client.get_experiment_by_name, "/Shared/proj/b") == "PERMISSION_DENIED"
        # As MLflow's auth app: experiments the caller may not read are dropped from a run search.
        runs = client.search_runs([fx.a, fx.b])
        assert fx.run_a in {r.info.run_id for r in runs} and {r.info.experiment_id for r in runs} == {fx.a}
        assert list(client.search_runs([fx.b])) == []
        with pytest.raises(Exception, match=r"PERMISSION_DENIED|403"):
            client.download_artifacts(fx.run_b, "notes/secret.txt")


def test_a_folder_grant_opens_what_is_below_it(fx: Fixture) -> None:
    with as_user(fx.world, "folder"):
        client = MlflowClient(fx.world.url)
        assert sorted(e.experiment_id for e in client.search_experiments()) == sorted([fx.a, fx.b])
        assert client.get_run(fx.run_b).info.run_id == fx.run_b
        assert denied(client.get_experiment, fx.c) == "PERMISSION_DENIED"
        assert denied(client.log_metric, fx.run_b, "loss", 1.0) == "PERMISSION_DENIED"


def test_deny_vetoes_a_roles_permission(fx: Fixture) -> None:
    with as_user(fx.world, "denied"):
        client = MlflowClient(fx.world.url)
        assert client.get_experiment(fx.b).experiment_id == fx.b
        assert denied(client.get_experiment, fx.a) == "PERMISSION_DENIED"
        assert denied(client.get_run, fx.run_a) == "PERMISSION_DENIED"
        assert fx.a not in {e.experiment_id for e in client.search_experiments()}
        assert {r.info.experiment_id for r in client.search_runs([fx.a, fx.b])} == {fx.b}


def test_a_member_without_grants_sees_no_experiment_in_lists(fx: Fixture) -> None:
    """mlflow#12546: users with no access saw every experiment in the list."""
    with as_user(fx.world, "member"):
        client = MlflowClient(fx.world.url)
        assert list(client.search_experiments()) == []
        assert list(client.search_registered_models()) == []
        assert list(client.search_runs([fx.a, fx.b, fx.c])) == []


def test_another_workspaces_user_sees_nothing(fx: Fixture, tmp_path: Path) -> None:
    with as_user(fx.world, "outsider", workspace=TEAM):
        client = MlflowClient(fx.world.url)
        assert denied(client.search_experiments) == "RESOURCE_DOES_NOT_EXIST"
        assert denied(client.get_run, fx.run_a) == "RESOURCE_DOES_NOT_EXIST"
    with as_user(fx.world, "outsider", workspace=OTHER):
        client = MlflowClient(fx.world.url)
        assert list(client.search_runs([fx.a, fx.b])) == []
        assert denied(client.get_run, fx.run_a) == "RESOURCE_DOES_NOT_EXIST"
        client.create_registered_model("stolen")
        with pytest.raises(MlflowException):
            client.create_model_version("stolen", f"runs:/{fx.run_a}/notes", run_id=fx.run_a)
        with fx.world.http("outsider", OTHER) as http:
            got = http.get(f"/api/2.0/mlflow-artifacts/artifacts/{fx.a}/{fx.run_a}/artifacts/notes/hello.txt")
            assert got.status_code in (400, 403, 404)
            listing = http.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{fx.a}/{fx.run_a}/artifacts"})
            assert listing.status_code in (400, 403, 404) and b"file_size" not in listing.content
            spaces = http.get("/api/3.0/mlflow/workspaces").json()
            assert TEAM not in {w["name"] for w in spaces.get("workspaces", [])}
            assert http.get(f"/api/3.0/mlflow/workspaces/{TEAM}").status_code == 404


def test_lists_hold_only_readable_items_in_full_pages(fx: Fixture) -> None:
    world = fx.world
    with as_user(world, "admin"):
        admin = MlflowClient(world.url)
        ids = [admin.create_experiment(f"/Shared/pages/e{i}") for i in range(6)]
        for i in range(6):
            admin.create_registered_model(f"pages-m{i}")
    world.user("pager")
    for exp_id in ids[::2]:
        world.grant("pager", TEAM, "experiment", exp_id, "READ")
    for i in (1, 3, 5):
        world.grant("pager", TEAM, "registered_model", f"pages-m{i}", "READ")
    with as_user(world, "pager"):
        client = MlflowClient(world.url)
        first = client.search_experiments(max_results=2)
        assert len(first) == 2 and first.token
        second = client.search_experiments(max_results=2, page_token=first.token)
        assert len(second) == 1 and not second.token
        assert {e.experiment_id for e in [*first, *second]} == set(ids[::2])
        models = client.search_registered_models(max_results=2)
        assert len(models) == 2 and models.token
        rest = client.search_registered_models(max_results=2, page_token=models.token)
        assert {m.name for m in [*models, *rest]} == {"pages-m1", "pages-m3", "pages-m5"}
        assert not rest.token


def test_creators_manage_what_they_create_and_model_grants_follow_renames(fx: Fixture) -> None:
    world = fx.world
    world.user("maker")
    world.grant("maker", TEAM, "experiment", "999998", "READ")  # a member, nothing else
    with as_user(world, "maker"):
        client = MlflowClient(world.url)
        exp = client.create_experiment("/Shared/maker/own")
        run = client.create_run(exp).info.run_id
        client.log_metric(run, "m", 1.0)
        client.delete_run(run)
        client.create_registered_model("maker-model")
        client.rename_registered_model("maker-model", "maker-model-2")
        assert client.get_registered_model("maker-model-2").name == "maker-model-2"
        client.delete_registered_model("maker-model-2")
        # In a `path` workspace every user owns `/Users/<name>/`.
        own = client.create_experiment("/Users/maker/mine")
        client.delete_experiment(own)
    with as_user(world, "admin"):
        MlflowClient(world.url).create_registered_model("maker-model-2")
    with as_user(world, "maker"):
        # The deleted model's grants went with it: a new model of that name is not the maker's.
        assert denied(MlflowClient(world.url).get_registered_model, "maker-model-2") == "PERMISSION_DENIED"


def test_multipart_parts_need_write_access(fx: Fixture) -> None:
    """GHSA-8c7q-86fq-vvmh: the part upload named only the upload id and was not checked."""
    directory = f"{fx.a}/{fx.run_a}/artifacts"
    with fx.world.http("editor", TEAM) as editor, fx.world.http("reader", TEAM) as reader:
        created = editor.post(f"/api/2.0/mlflow-artifacts/mpu/create/{directory}", json={"path": "big.bin"})
        assert created.status_code == 200, created.text
        upload_id = created.json()["upload_id"]
        part = f"/api/2.0/mlflow-artifacts/mpu/part/{upload_id}/1"
        assert reader.put(part, content=b"x" * 10).status_code == 403
        assert reader.post(f"/api/2.0/mlflow-artifacts/mpu/create/{directory}", json={"path": "b"}).status_code == 403
        abort = {"path": "big.bin", "upload_id": upload_id}
        assert reader.post(f"/api/2.0/mlflow-artifacts/mpu/abort/{directory}", json=abort).status_code == 403
        put = editor.put(part, content=b"y" * 10)
        assert put.status_code == 200, put.text
        etag = put.headers["ETag"].strip('"')
        body = {"path": "big.bin", "upload_id": upload_id, "parts": [{"part_number": 1, "etag": etag}]}
        assert reader.post(f"/api/2.0/mlflow-artifacts/mpu/complete/{directory}", json=body).status_code == 403
        assert editor.post(f"/api/2.0/mlflow-artifacts/mpu/complete/{directory}", json=body).status_code == 200


def test_log_inputs_checks_the_run(fx: Fixture) -> None:
    """GHSA-3p64-6gvh-82v5: LogInputs bypassed the run's permission check."""
    dataset = DatasetInput(Dataset(name="d", digest="abc", source_type="local", source="/tmp/d"), tags=[])
    with as_user(fx.world, "reader"):
        assert denied(MlflowClient(fx.world.url).log_inputs, fx.run_a, [dataset]) == "PERMISSION_DENIED"
    with as_user(fx.world, "member"):
        assert denied(MlflowClient(fx.world.url).log_inputs, fx.run_b, [dataset]) == "PERMISSION_DENIED"
    with fx.world.http("reader", TEAM) as http:
        body = {"run_id": fx.run_a, "models": [{"model_id": "m-0"}]}
        assert http.post("/api/2.0/mlflow/runs/outputs", json=body).status_code == 403


def test_a_model_version_source_must_be_readable(fx: Fixture) -> None:
    world = fx.world
    world.user("registrar")
    world.grant("registrar", TEAM, "experiment", fx.a, "READ")
    with as_user(world, "registrar"):
        client = MlflowClient(world.url)
        client.create_registered_model("registrar-model")
        client.create_model_version("registrar-model", f"runs:/{fx.run_a}/notes", run_id=fx.run_a)
        code = denied(client.create_model_version, "registrar-model", f"runs:/{fx.run_b}/notes", run_id=fx.run_b)
        assert code == "PERMISSION_DENIED"
        mv = client.get_model_version("registrar-model", "1")
        assert mv.run_id == fx.run_a
    with as_user(world, "reader"):
        client = MlflowClient(world.url)
        assert denied(client.get_registered_model, "registrar-model") == "PERMISSION_DENIED"
        assert denied(client.get_model_version_download_uri, "registrar-model", "1") == "PERMISSION_DENIED"
        assert [m.name for m in client.search_model_versions("name='registrar-model'")] == []


def test_tokens_sign_in_the_client_and_revoked_or_expired_ones_do_not(fx: Fixture) -> None:
    world = fx.world
    token = world.token("reader")
    with as_user(world, "reader", token=token):
        assert MlflowClient(world.url).get_experiment(fx.a).experiment_id == fx.a
    with world.bearer(token, TEAM) as http:
        assert (
            http.post(
                "/api/2.0/mlflow/runs/log-metric", json={"run_id": fx.run_a, "key": "x", "value": 1, "timestamp": 0}
            ).status_code
            == 403
        )
    soon = world.token("reader", expires_at=int(time.time() * 1000) + 1500)
    revoked = world.identity.accounts.create_token(ACTOR_TESTS, "reader", "to-revoke", None)
    world.identity.accounts.revoke_token(ACTOR_TESTS, revoked.id)
    with world.bearer(revoked.token, TEAM) as http:
        assert http.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": fx.a}).status_code == 401
    time.sleep(1.6)
    with world.bearer(soon, TEAM) as http:
        assert http.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": fx.a}).status_code == 401


def test_the_mlflow_ui_needs_sign_in_and_runyards_page_holds_no_data(fx: Fixture) -> None:
    with fx.world.http(None) as anonymous:
        assert anonymous.get("/mlflow/").status_code == 401
        assert anonymous.get("/mlflow/static-files/app.js").status_code == 401
        # Runyard's page is public (it sends an unsigned browser to /login); what it asks for is not.
        assert anonymous.get("/").status_code == 200
        assert anonymous.get("/ajax-api/2.0/runyard/ui/session").status_code == 401
        assert anonymous.post("/ajax-api/2.0/mlflow/experiments/search", json={}).status_code == 401
    with fx.world.http("member") as member:
        assert member.get("/mlflow/").status_code != 401
        assert member.get("/ajax-api/2.0/runyard/ui/session").json()["user"]["username"] == "member"
