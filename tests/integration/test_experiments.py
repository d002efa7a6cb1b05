"""Experiments through the real client: create, get, by name, rename, tags, delete/restore, search."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Experiment, ViewType
from mlflow.exceptions import MlflowException


def test_default_experiment_exists(tracking: object) -> None:
    exp = MlflowClient().get_experiment("0")
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"
    assert exp.artifact_location == "mlflow-artifacts:/0"
    default = MlflowClient().get_experiment_by_name("Default")
    assert default is not None
    assert default.experiment_id == "0"


def test_set_experiment_creates_then_reuses(tracking: object, unique: str) -> None:
    name = f"iris-{unique}"
    first = mlflow.set_experiment(name)
    again = mlflow.set_experiment(name)
    assert first.experiment_id == again.experiment_id
    assert first.artifact_location == f"mlflow-artifacts:/{first.experiment_id}"
    assert MlflowClient().get_experiment_by_name(f"missing-{unique}") is None


def test_create_with_tags_rename_and_tag_changes(tracking: object, unique: str) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment(f"exp-{unique}", tags={"team": "ml", "k": "v"})
    exp = client.get_experiment(exp_id)
    assert exp.tags == {"team": "ml", "k": "v"}
    assert exp.creation_time is not None and exp.last_update_time is not None
    assert exp.creation_time > 0 and exp.last_update_time >= exp.creation_time

    client.set_experiment_tag(exp_id, "team", "research")
    client.delete_experiment_tag(exp_id, "k")
    assert client.get_experiment(exp_id).tags == {"team": "research"}

    client.rename_experiment(exp_id, f"renamed-{unique}")
    assert client.get_experiment(exp_id).name == f"renamed-{unique}"
    assert client.get_experiment_by_name(f"exp-{unique}") is None


def test_duplicate_name_is_refused(tracking: object, unique: str) -> None:
    client = MlflowClient()
    client.create_experiment(f"dup-{unique}")
    with pytest.raises(MlflowException) as err:
        client.create_experiment(f"dup-{unique}")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    other = client.create_experiment(f"dup2-{unique}")
    with pytest.raises(MlflowException) as err:
        client.rename_experiment(other, f"dup-{unique}")
    assert err.value.error_code == "BAD_REQUEST"  # as mlflow server 3.17.2 answers a rename (issue 11)


def test_delete_and_restore_cascade_to_runs(tracking: object, unique: str) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment(f"del-{unique}")
    run = client.create_run(exp_id)
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert exp_id in [e.experiment_id for e in deleted]
    assert exp_id not in [e.experiment_id for e in client.search_experiments()]
    with pytest.raises(MlflowException):
        client.create_run(exp_id)

    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_unknown_experiment_is_404(tracking: object) -> None:
    with pytest.raises(MlflowException) as err:
        MlflowClient().get_experiment("987654321")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_experiments_filter_order_and_pages(tracking: object, unique: str) -> None:
    client = MlflowClient()
    ids = [client.create_experiment(f"srch-{unique}-{i}", tags={"idx": str(i), "grp": unique}) for i in range(7)]
    found = client.search_experiments(filter_string=f"name LIKE 'srch-{unique}-%'", order_by=["name DESC"])
    assert [e.name for e in found] == [f"srch-{unique}-{i}" for i in reversed(range(7))]

    by_tag = client.search_experiments(filter_string=f"tags.grp = '{unique}' AND tags.idx = '3'")
    assert [e.experiment_id for e in by_tag] == [ids[3]]

    ilike = client.search_experiments(filter_string=f"name ILIKE 'SRCH-{unique.upper()}-%'")
    assert len(ilike) == 7
    like_is_case_sensitive = client.search_experiments(filter_string=f"name LIKE 'SRCH-{unique.upper()}-%'")
    assert like_is_case_sensitive == []

    pages: list[str] = []
    token = None
    while True:
        page = client.search_experiments(
            max_results=3, filter_string=f"tags.grp = '{unique}'", order_by=["name ASC"], page_token=token
        )
        pages.extend(e.name for e in page)
        token = page.token
        if not token:
            break
    assert pages == [f"srch-{unique}-{i}" for i in range(7)]

    # Default order: newest first, ties broken by id.
    default_order = client.search_experiments(filter_string=f"tags.grp = '{unique}'")

    def newest_first(e: Experiment) -> tuple[int, int]:
        assert e.creation_time is not None
        return -e.creation_time, int(e.experiment_id)

    expected = sorted(default_order, key=newest_first)
    assert [e.experiment_id for e in default_order] == [e.experiment_id for e in expected]
    assert sorted(e.experiment_id for e in default_order) == sorted(ids)


def test_invalid_experiment_filter(tracking: object) -> None:
    with pytest.raises(MlflowException) as err:
        MlflowClient().search_experiments(filter_string="name === 'x'")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
