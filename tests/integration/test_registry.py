"""The model registry through the real client: registered models, versions, tags, aliases, stages,
search with pagination, latest versions, download URIs and the reference server's error codes."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.conftest import ServerProcess

# Also run against PostgreSQL with artifacts in S3 (a moto server process; see tests/conftest.py).
ALSO_ON_S3 = True

warnings.filterwarnings("ignore", category=FutureWarning)


def _run_with_model(client: MlflowClient, tmp_path: Path, experiment: str) -> tuple[str, str]:
    """A run with a `model/MLmodel` artifact: (experiment id, run id)."""
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(experiment)
    run_id = client.create_run(exp_id).info.run_id
    model_dir = tmp_path / f"model-{run_id}"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    client.log_artifact(run_id, str(model_dir / "MLmodel"), "model")
    return exp_id, run_id


def _error(fn: Callable[..., object], *args: object, **kwargs: object) -> MlflowException:
    with pytest.raises(MlflowException) as err:
        fn(*args, **kwargs)
    return err.value


def test_create_get_update_rename_delete(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    name = f"reg-{unique}"
    created = client.create_registered_model(name, tags={"team": "ml"}, description="first")
    assert created.name == name and created.description == "first" and created.tags == {"team": "ml"}
    assert created.creation_timestamp == created.last_updated_timestamp > 0

    _, run_id = _run_with_model(client, tmp_path, f"exp-{unique}")
    v1 = client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    assert (v1.version, v1.status, v1.current_stage, v1.run_id) == ("1", "READY", "None", run_id)
    assert v1.source == f"runs:/{run_id}/model" and v1.description == "" and v1.run_link == ""

    got = client.get_registered_model(name)
    assert [v.version for v in got.latest_versions] == ["1"]
    assert got.last_updated_timestamp >= v1.creation_timestamp

    updated = client.update_registered_model(name, description="second")
    assert updated.description == "second"
    assert client.get_registered_model(name).description == "second"

    client.rename_registered_model(name, f"{name}-new")
    assert client.get_registered_model(f"{name}-new").name == f"{name}-new"
    assert client.get_model_version(f"{name}-new", "1").run_id == run_id
    assert _error(client.get_registered_model, name).error_code == "RESOURCE_DOES_NOT_EXIST"

    client.delete_registered_model(f"{name}-new")
    assert _error(client.get_registered_model, f"{name}-new").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert _error(client.get_model_version, f"{name}-new", "1").error_code == "RESOURCE_DOES_NOT_EXIST"
    # A re-created model starts again at version 1.
    client.create_registered_model(f"{name}-new")
    assert client.create_model_version(f"{name}-new", f"runs:/{run_id}/model", run_id).version == "1"


def test_duplicate_names_and_missing_models(tracking: ServerProcess, unique: str) -> None:
    client = MlflowClient()
    client.create_registered_model(f"dup-{unique}")
    err = _error(client.create_registered_model, f"dup-{unique}")
    assert err.error_code == "RESOURCE_ALREADY_EXISTS"
    assert f"Registered Model (name=dup-{unique}) already exists." in err.message
    client.create_registered_model(f"dup2-{unique}")
    assert _error(client.rename_registered_model, f"dup2-{unique}", f"dup-{unique}").error_code == (
        "RESOURCE_ALREADY_EXISTS"
    )
    err = _error(client.get_registered_model, f"missing-{unique}")
    assert err.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert f"Registered Model with name=missing-{unique} not found" in err.message
    assert _error(client.get_model_version, f"dup-{unique}", "7").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert _error(client.create_registered_model, "a/b").error_code == "INVALID_PARAMETER_VALUE"
    assert _error(client.get_model_version, f"dup-{unique}", "x").error_code == "INVALID_PARAMETER_VALUE"


def test_tags_on_models_and_versions(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    name = f"tags-{unique}"
    client.create_registered_model(name)
    _, run_id = _run_with_model(client, tmp_path, f"exp-{unique}")
    client.create_model_version(name, f"runs:/{run_id}/model", run_id, tags={"stage": "dev"})

    client.set_registered_model_tag(name, "task", "classification")
    client.set_registered_model_tag(name, "task", "regression")
    assert client.get_registered_model(name).tags == {"task": "regression"}
    client.delete_registered_model_tag(name, "task")
    client.delete_registered_model_tag(name, "never-set")
    assert client.get_registered_model(name).tags == {}

    client.set_model_version_tag(name, "1", "validated", "true")
    assert client.get_model_version(name, "1").tags == {"stage": "dev", "validated": "true"}
    client.delete_model_version_tag(name, "1", "stage")
    assert client.get_model_version(name, "1").tags == {"validated": "true"}
    assert _error(client.set_model_version_tag, name, "9", "k", "v").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert _error(client.set_registered_model_tag, name, "bad key!", "v").error_code == "INVALID_PARAMETER_VALUE"


def test_versions_update_delete_and_numbers_never_reused(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    name = f"ver-{unique}"
    client.create_registered_model(name)
    _, run_id = _run_with_model(client, tmp_path, f"exp-{unique}")
    for _ in range(3):
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    updated = client.update_model_version(name, "2", description="the second")
    assert updated.description == "the second"
    assert client.get_model_version(name, "2").description == "the second"

    client.set_registered_model_alias(name, "champion", "3")
    client.delete_model_version(name, "3")
    assert _error(client.get_model_version, name, "3").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_registered_model(name).aliases == {}
    # The deleted version's number is not handed out again (as in MLflow).
    assert client.create_model_version(name, f"runs:/{run_id}/model", run_id).version == "4"
    assert [v.version for v in client.search_model_versions(f"name='{name}'")] == ["4", "2", "1"]


def test_aliases(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    name = f"alias-{unique}"
    client.create_registered_model(name)
    _, run_id = _run_with_model(client, tmp_path, f"exp-{unique}")
    for _ in range(2):
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", "2")
    assert client.get_registered_model(name).aliases == {"challenger": "2", "champion": "1"}
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "1" and by_alias.aliases == ["champion"]
    assert client.get_model_version(name, "2").aliases == ["challenger"]

    client.set_registered_model_alias(name, "champion", "2")  # moves the alias
    assert client.get_model_version(name, "2").aliases == ["challenger", "champion"]
    assert client.get_model_version(name, "1").aliases == []
    # `latest` is the newest version, without being settable.
    assert client.get_model_version_by_alias(name, "latest").version == "2"

    client.delete_registered_model_alias(name, "challenger")
    client.delete_registered_model_alias(name, "never-set")
    assert client.get_registered_model(name).aliases == {"champion": "2"}

    err = _error(client.get_model_version_by_alias, name, "challenger")
    assert err.error_code == "INVALID_PARAMETER_VALUE"
    assert "Registered model alias challenger not found." in err.message
    for reserved in ("latest", "LATEST", "v1", "V12"):
        err = _error(client.set_registered_model_alias, name, reserved, "1")
        assert err.error_code == "INVALID_PARAMETER_VALUE", reserved
        assert "reserved" in err.message
    assert _error(client.set_registered_model_alias, name, "bad alias", "1").error_code == "INVALID_PARAMETER_VALUE"
    assert _error(client.set_registered_model_alias, name, "ok", "9").error_code == "RESOURCE_DOES_NOT_EXIST"


def test_stages_archiving_and_latest_versions(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    name = f"stage-{unique}"
    client.create_registered_model(name)
    _, run_id = _run_with_model(client, tmp_path, f"exp-{unique}")
    for _ in range(4):
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moved = client.transition_model_version_stage(name, "1", "staging")
        assert moved.current_stage == "Staging"
        client.transition_model_version_stage(name, "2", "Staging")
        client.transition_model_version_stage(name, "3", "Production")
        client.transition_model_version_stage(name, "4", "Staging", archive_existing_versions=True)
        stages = {v.version: v.current_stage for v in client.search_model_versions(f"name='{name}'")}
        assert stages == {"1": "Archived", "2": "Archived", "3": "Production", "4": "Staging"}

        latest = {v.current_stage: v.version for v in client.get_latest_versions(name)}
        assert latest == {"Archived": "2", "Production": "3", "Staging": "4"}
        assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["3"]
        # One per stage, stages in the order of their oldest version (as the reference lists them).
        assert [v.version for v in client.get_registered_model(name).latest_versions] == ["2", "3", "4"]

        err = _error(client.transition_model_version_stage, name, "1", "Archived", archive_existing_versions=True)
        assert err.error_code == "INVALID_PARAMETER_VALUE"
        assert _error(client.transition_model_version_stage, name, "1", "Retired").error_code == (
            "INVALID_PARAMETER_VALUE"
        )


def test_get_latest_versions_over_get(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    name = f"glv-{unique}"
    client.create_registered_model(name)
    _, run_id = _run_with_model(client, tmp_path, f"exp-{unique}")
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    resp = httpx.get(
        f"{tracking.url}/api/2.0/mlflow/registered-models/get-latest-versions",
        params=[("name", name), ("stages", "None"), ("stages", "Staging")],
    )
    assert resp.status_code == 200
    assert [v["version"] for v in resp.json()["model_versions"]] == ["1"]


def test_download_uri_resolves_to_the_artifacts(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    name = f"dl-{unique}"
    client.create_registered_model(name)
    exp_id, run_id = _run_with_model(client, tmp_path, f"exp-{unique}")
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    artifacts = f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts/model"
    client.create_model_version(name, artifacts, run_id)
    assert client.get_model_version_download_uri(name, "1") == artifacts
    assert client.get_model_version_download_uri(name, "2") == artifacts

    target = tmp_path / "downloaded"
    target.mkdir()
    from mlflow.artifacts import download_artifacts

    local = download_artifacts(f"models:/{name}/1", dst_path=str(target))
    assert (Path(local) / "MLmodel").read_text() == "flavors: {}\n"

    # A copy of a version (MlflowClient.copy_model_version) keeps the location and lineage.
    client.create_registered_model(f"{name}-copy")
    copied = client.copy_model_version(f"models:/{name}/1", f"{name}-copy")
    assert copied.source == f"models:/{name}/1" and copied.run_id == run_id
    assert client.get_model_version_download_uri(f"{name}-copy", copied.version) == artifacts


def test_search_registered_models(tracking: ServerProcess, unique: str) -> None:
    client = MlflowClient()
    names = [f"srm-{unique}-{i}" for i in range(7)]
    for i, name in enumerate(names):
        client.create_registered_model(name, tags={"grp": unique, "idx": str(i)})
    prompt_tags = [{"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "grp", "value": unique}]
    prompt = {"name": f"prompt-{unique}", "tags": prompt_tags}
    reg = f"{tracking.url}/api/2.0/mlflow/registered-models"
    assert httpx.post(f"{reg}/create", json=prompt).status_code == 200

    found = client.search_registered_models(f"name LIKE 'srm-{unique}-%'")
    assert [m.name for m in found] == names
    assert [m.name for m in client.search_registered_models(f"name ILIKE 'SRM-{unique.upper()}-%'")] == names
    assert client.search_registered_models(f"name LIKE 'SRM-{unique.upper()}-%'") == []
    assert [m.name for m in client.search_registered_models(f"name = '{names[2]}'")] == [names[2]]
    by_tag = client.search_registered_models(f"tags.grp = '{unique}' AND tags.idx != '3'")
    assert [m.name for m in by_tag] == [n for i, n in enumerate(names) if i != 3]
    # The client's appended prompt clause matches models without the tag; prompts stay out.
    assert f"prompt-{unique}" not in [m.name for m in client.search_registered_models(f"tags.grp = '{unique}'")]
    asked = f"tags.`mlflow.prompt.is_prompt` = 'true' AND tags.grp = '{unique}'"
    prompts = httpx.get(f"{reg}/search", params={"filter": asked}).json()["registered_models"]
    assert [m["name"] for m in prompts] == [f"prompt-{unique}"]
    assert [m.name for m in client.search_registered_models(f"name IN ('{names[0]}', '{names[5]}')")] == [
        names[0],
        names[5],
    ]

    desc = client.search_registered_models(f"tags.grp = '{unique}'", order_by=["name DESC"])
    assert [m.name for m in desc] == list(reversed(names))
    newest = client.search_registered_models(f"tags.grp = '{unique}'", order_by=["last_updated_timestamp DESC"])
    assert sorted(m.name for m in newest) == sorted(names)

    pages: list[str] = []
    token = None
    while True:
        page = client.search_registered_models(f"tags.grp = '{unique}'", max_results=3, page_token=token)
        assert len(page) <= 3
        pages.extend(m.name for m in page)
        token = page.token
        if not token:
            break
    assert pages == names

    err = _error(client.search_registered_models, max_results=1001)
    assert err.error_code == "INVALID_PARAMETER_VALUE"
    assert _error(client.search_registered_models, "run_id = 'x'").error_code == "INVALID_PARAMETER_VALUE"
    assert _error(client.search_registered_models, order_by=["foo"]).error_code == "INVALID_PARAMETER_VALUE"


def test_search_model_versions(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    a, b = f"smv-{unique}-a", f"smv-{unique}-b"
    client.create_registered_model(a)
    client.create_registered_model(b)
    _, run1 = _run_with_model(client, tmp_path, f"exp-{unique}")
    _, run2 = _run_with_model(client, tmp_path, f"exp-{unique}")
    for _ in range(3):
        client.create_model_version(a, f"runs:/{run1}/model", run1)
    client.create_model_version(b, f"runs:/{run2}/model", run2, tags={"kind": "tree"})
    client.create_model_version(b, f"runs:/{run1}/model", run1, tags={"kind": "linear"})

    def versions(filter_string: str, order_by: list[str] | None = None) -> list[tuple[str, str]]:
        return [(v.name, v.version) for v in client.search_model_versions(filter_string, order_by=order_by)]

    assert versions(f"name = '{a}'") == [(a, "3"), (a, "2"), (a, "1")]
    assert versions(f"run_id = '{run2}'") == [(b, "1")]
    assert sorted(versions(f"run_id IN ('{run1}', '{run2}') AND name LIKE 'smv-{unique}-%'")) == sorted(
        [(a, "1"), (a, "2"), (a, "3"), (b, "1"), (b, "2")]
    )
    assert versions(f"name = '{a}' AND version_number >= 2") == [(a, "3"), (a, "2")]
    assert versions(f"tags.kind = 'linear' AND name = '{b}'") == [(b, "2")]
    assert versions(f"source_path = 'runs:/{run2}/model'") == [(b, "1")]
    assert versions(f"name LIKE 'smv-{unique}-%'", order_by=["name ASC", "version_number ASC"]) == [
        (a, "1"),
        (a, "2"),
        (a, "3"),
        (b, "1"),
        (b, "2"),
    ]

    pages: list[tuple[str, str]] = []
    token = None
    while True:
        page = client.search_model_versions(
            f"name LIKE 'smv-{unique}-%'", max_results=2, order_by=["version_number DESC"], page_token=token
        )
        pages.extend((v.name, v.version) for v in page)
        token = page.token
        if not token:
            break
    assert pages == [(a, "3"), (a, "2"), (b, "2"), (a, "1"), (b, "1")]

    assert _error(client.search_model_versions, "stage = 'x'").error_code == "INVALID_PARAMETER_VALUE"
    assert _error(client.search_model_versions, "name = 'x'", max_results=200_001).error_code == (
        "INVALID_PARAMETER_VALUE"
    )


def test_raw_responses_match_the_reference_shapes(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    name = f"raw-{unique}"
    _, run_id = _run_with_model(client, tmp_path, f"exp-{unique}")
    api = f"{tracking.url}/api/2.0/mlflow"
    created = httpx.post(f"{api}/registered-models/create", json={"name": name}).json()
    assert set(created["registered_model"]) == {"name", "creation_timestamp", "last_updated_timestamp"}
    again = httpx.post(f"{api}/registered-models/create", json={"name": name})
    assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"

    version = httpx.post(
        f"{api}/model-versions/create", json={"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id}
    ).json()["model_version"]
    assert {k: version[k] for k in ("name", "version", "current_stage", "description", "status", "run_link")} == {
        "name": name,
        "version": "1",
        "current_stage": "None",
        "description": "",
        "status": "READY",
        "run_link": "",
    }
    missing = httpx.get(f"{api}/registered-models/get", params={"name": f"nope-{unique}"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    no_name = httpx.get(f"{api}/registered-models/get")
    assert no_name.status_code == 400 and no_name.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    deleted = httpx.request("DELETE", f"{api}/model-versions/delete", json={"name": name, "version": "1"})
    assert deleted.status_code == 200 and deleted.json() == {}


def test_models_are_confined_to_their_workspace(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    """A model of another workspace does not exist for the caller; names are unique per workspace."""
    api = f"{tracking.url}/api"
    made = httpx.post(f"{api}/3.0/mlflow/workspaces", json={"name": f"ws-{unique}"})
    if made.status_code == 404:
        pytest.skip("workspace administration is not served yet")
    assert made.status_code in (200, 201), made.text
    other = {"X-MLFLOW-WORKSPACE": f"ws-{unique}"}
    client = MlflowClient()
    name = f"iso-{unique}"
    client.create_registered_model(name)
    _, run_id = _run_with_model(client, tmp_path, f"exp-{unique}")
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    reg = f"{api}/2.0/mlflow/registered-models"
    assert httpx.get(f"{reg}/get", params={"name": name}, headers=other).status_code == 404
    found = httpx.get(f"{reg}/search", params={"filter": f"name = '{name}'"}, headers=other).json()
    assert found == {}
    version = httpx.get(f"{api}/2.0/mlflow/model-versions/get", params={"name": name, "version": "1"}, headers=other)
    assert version.status_code == 404
    # The same name is free in the other workspace, and a run of this workspace is no source there.
    assert httpx.post(f"{reg}/create", json={"name": name}, headers=other).status_code == 200
    stolen = httpx.post(
        f"{api}/2.0/mlflow/model-versions/create",
        json={"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id},
        headers=other,
    )
    assert stolen.status_code == 400 and stolen.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get_registered_model(name).latest_versions[0].version == "1"
