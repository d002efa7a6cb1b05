"""The schema's resolvers: each field reads through the same service call its REST counterpart
makes (`runs.get`, `experiments.get`, `run_search.search`, `metric_history.sampled`,
`artifact_access.list_dir`, `model_versions.search`, `experiments.search_datasets`), with the
request's context, so the same workspace and access rules apply.

Resolvers run inside `execute`, on the service thread pool (see `endpoint`). A run's `experiment`
and `modelVersions` are read only when the document asks for them: each experiment once, and the
versions of a search's runs in one search per hundred runs rather than one per run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema

from runyard.api.graphql import schema, shapes
from runyard.api.graphql.shapes import Obj
from runyard.domain.entities import Run
from runyard.domain.errors import invalid
from runyard.domain.validation import missing_value_message
from runyard.services.container import Services
from runyard.services.context import RequestContext
from runyard.services.registry import SEARCH_VERSIONS_DEFAULT_MAX_RESULTS


@dataclass
class Resolution:
    """What one request's resolvers share: who asks where, the services, and what was read already."""

    ctx: RequestContext
    services: Services
    experiments: dict[int, Obj] = field(default_factory=dict)
    # The runs of one answer whose versions are read together, by run id; the versions read.
    siblings: dict[str, list[str]] = field(default_factory=dict)
    versions: dict[str, list[Obj]] = field(default_factory=dict)


Input = dict[str, Any]

# Runs whose model versions one search reads (one `run_id IN (...)` comparison).
_VERSIONS_BATCH = 100


def _resolution(info: GraphQLResolveInfo) -> Resolution:
    context = info.context
    assert isinstance(context, Resolution)
    return context


def _strings(values: list[str | None] | None) -> list[str]:
    return [v for v in values or [] if v is not None]


def _required(value: Any, name: str) -> Any:
    if value is None or value == "":
        raise invalid(missing_value_message(name))
    return value


# --- roots ----------------------------------------------------------------------------------


def get_experiment(_root: None, info: GraphQLResolveInfo, input: Input | None = None) -> Obj:
    r = _resolution(info)
    experiment_id = _required((input or {}).get("experimentId"), "experiment_id")
    return {"experiment": shapes.experiment(r.services.experiments.get(r.ctx, experiment_id)), "apiError": None}


def get_run(_root: None, info: GraphQLResolveInfo, input: Input | None = None) -> Obj:
    r = _resolution(info)
    args = input or {}
    run_id = _required(args.get("runId") or args.get("runUuid"), "run_id")
    return {"run": shapes.run(r.services.runs.get(r.ctx, run_id)), "apiError": None}


def search_runs(_root: None, info: GraphQLResolveInfo, input: Input | None = None) -> Obj:
    r = _resolution(info)
    args = input or {}
    page = r.services.run_search.search(
        r.ctx,
        experiment_ids=_strings(args.get("experimentIds")),
        filter_string=args.get("filter"),
        run_view_type=args.get("runViewType") or "ACTIVE_ONLY",
        max_results=args.get("maxResults"),
        order_by=_strings(args.get("orderBy")),
        page_token=args.get("pageToken"),
    )
    run_ids = [x.info.run_uuid for x in page.items]
    for i in range(0, len(run_ids), _VERSIONS_BATCH):
        batch = run_ids[i : i + _VERSIONS_BATCH]
        r.siblings.update(dict.fromkeys(batch, batch))
    return {"runs": [shapes.run(x) for x in page.items], "nextPageToken": page.next_page_token or "", "apiError": None}


def sampled_history(_root: None, info: GraphQLResolveInfo, input: Input | None = None) -> Obj:
    r = _resolution(info)
    args = input or {}
    points = r.services.metric_history.sampled(
        r.ctx,
        _strings(args.get("runIds")),
        _required(args.get("metricKey"), "metric_key"),
        args.get("startStep"),
        args.get("endStep"),
        args.get("maxResults"),
    )
    return {"metrics": [shapes.sampled_metric(p.run_id, p.metric) for p in points], "apiError": None}


def list_artifacts(_root: None, info: GraphQLResolveInfo, input: Input | None = None) -> Obj:
    """One directory of a run's artifacts, as `GET .../artifacts/list` (the reference sends no
    page token back)."""
    r = _resolution(info)
    args = input or {}
    access = r.services.artifact_access
    root = access.run_root(r.ctx, args.get("runId") or args.get("runUuid") or "")
    files = access.list_dir(root, args.get("path"))
    return {"rootUri": root.uri, "files": [shapes.file_info(f) for f in files], "nextPageToken": "", "apiError": None}


def search_datasets(_root: None, info: GraphQLResolveInfo, input: Input | None = None) -> Obj:
    r = _resolution(info)
    summaries = r.services.experiments.search_datasets(r.ctx, _strings((input or {}).get("experimentIds")))
    return {"datasetSummaries": [shapes.dataset_summary(d) for d in summaries], "apiError": None}


def search_model_versions(_root: None, info: GraphQLResolveInfo, input: Input | None = None) -> Obj:
    r = _resolution(info)
    args = input or {}
    page = r.services.model_versions.search(
        r.ctx,
        filter_string=args.get("filter"),
        max_results=args.get("maxResults"),
        order_by=_strings(args.get("orderBy")),
        page_token=args.get("pageToken"),
    )
    return {
        "modelVersions": [shapes.model_version(v) for v in page.items],
        "nextPageToken": page.next_page_token or "",
        "apiError": None,
    }


def echo(_root: None, _info: GraphQLResolveInfo, inputString: str | None = None) -> Obj:
    return {"output": inputString}


def echo_mutation(_root: None, _info: GraphQLResolveInfo, inputString: str | None = None) -> None:
    """The reference's `testMutation` answers null (its resolver is never found): so does this."""
    return None


# --- a run's lazily read fields ---------------------------------------------------------------


def _entity(root: Obj) -> Run:
    run = root["_run"]
    assert isinstance(run, Run)
    return run


def run_experiment(root: Obj, info: GraphQLResolveInfo) -> Obj:
    r = _resolution(info)
    experiment_id = _entity(root).info.experiment_id
    if experiment_id not in r.experiments:
        r.experiments[experiment_id] = shapes.experiment(r.services.experiments.get(r.ctx, experiment_id))
    return r.experiments[experiment_id]


def run_model_versions(root: Obj, info: GraphQLResolveInfo) -> list[Obj]:
    """The versions registered from this run: the reference's search, `run_id='<id>'`, first page
    (in the search's default order). Read for the run's whole batch of siblings at once."""
    r = _resolution(info)
    run_id = _entity(root).info.run_uuid
    if run_id not in r.versions:
        batch = [x for x in r.siblings.get(run_id, [run_id]) if x not in r.versions]
        for x in batch:
            r.versions[x] = []
        quoted = ", ".join(f"'{x}'" for x in batch)
        token: str | None = None
        while True:
            page = r.services.model_versions.search(
                r.ctx, filter_string=f"run_id IN ({quoted})", max_results=None, order_by=[], page_token=token
            )
            for v in page.items:
                found = r.versions.get(v.row.run_id or "")
                if found is not None and len(found) < SEARCH_VERSIONS_DEFAULT_MAX_RESULTS:
                    found.append(shapes.model_version(v))
            token = page.next_page_token
            if not token:
                break
    return r.versions[run_id]


_RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("Query", "mlflowGetExperiment"): get_experiment,
    ("Query", "mlflowGetRun"): get_run,
    ("Query", "mlflowSearchRuns"): search_runs,
    ("Query", "mlflowGetMetricHistoryBulkInterval"): sampled_history,
    ("Query", "mlflowListArtifacts"): list_artifacts,
    ("Query", "mlflowSearchModelVersions"): search_model_versions,
    ("Query", "test"): echo,
    ("Mutation", "mlflowSearchDatasets"): search_datasets,
    ("Mutation", "mlflowSearchRuns"): search_runs,
    ("Mutation", "testMutation"): echo_mutation,
    ("MlflowRunExtension", "experiment"): run_experiment,
    ("MlflowRunExtension", "modelVersions"): run_model_versions,
}


def build_schema() -> GraphQLSchema:
    """The schema with every root field and lazily read field wired to its resolver."""
    built = schema.build()
    for (type_name, field_name), resolve in _RESOLVERS.items():
        graphql_type = built.type_map[type_name]
        graphql_type.fields[field_name].resolve = resolve  # type: ignore[attr-defined]
    return built


SCHEMA = build_schema()
