"""The legacy `runs/log-model` record: the run tag `mlflow.log-model.history`, a JSON list with one
entry per model logged the MLflow 2.x way, written exactly as the reference server writes it.

The reference parses `model_json` into an `mlflow.models.Model` and appends `Model.get_tags_dict()`:
`run_id` and `artifact_path` (each left out when null), `utc_time_created` (as a string; the current
UTC time `YYYY-MM-DD HH:MM:SS.ffffff` when empty), `model_uuid` (null when absent) and `flavors`
(each flavor's `config` key dropped), in that order, serialised by Python's `json.dumps`
(`", "`/`": "` separators, non-ASCII escaped). The rest of the model (signature, input example,
metadata) is not recorded, so Runyard does not parse it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Final

from runyard.domain.errors import invalid
from runyard.domain.limits import MAX_TAG_VALUE_LENGTH

LOG_MODEL_HISTORY_TAG: Final = "mlflow.log-model.history"
_MANDATORY: Final = ("artifact_path", "flavors", "run_id", "utc_time_created")


def history_entry(model_json: str, now: datetime | None = None) -> dict[str, Any]:
    """The history entry for one `model_json`, or INVALID_PARAMETER_VALUE saying what is wrong."""
    try:
        model = json.loads(model_json)
    except ValueError:
        raise invalid(f"Malformed model info. \n {model_json} \n is not a valid JSON.") from None
    if not isinstance(model, dict):
        raise invalid(f"Malformed model info. \n {model_json} \n is not a JSON object.")
    missing = [f for f in _MANDATORY if f not in model]
    if missing:
        raise invalid(f"Model json is missing mandatory fields: {{{', '.join(repr(f) for f in missing)}}}")
    flavors = model["flavors"] if model["flavors"] is not None else {}
    if not isinstance(flavors, dict):
        raise invalid(f"Model json field 'flavors' must be a JSON object, got {json.dumps(flavors)[:200]}.")
    created = model["utc_time_created"]
    if created and isinstance(created, (dict, list)):
        raise invalid("Model json field 'utc_time_created' must be a string.")
    entry: dict[str, Any] = {}
    if model["run_id"] is not None:
        entry["run_id"] = model["run_id"]
    if model["artifact_path"] is not None:
        entry["artifact_path"] = model["artifact_path"]
    entry["utc_time_created"] = _python_str(created) if created else _utc_now(now)
    entry["model_uuid"] = model.get("model_uuid")
    entry["flavors"] = {
        name: ({k: v for k, v in config.items() if k != "config"} if isinstance(config, dict) else config)
        for name, config in flavors.items()
    }
    return entry


def append_entry(previous: str | None, entry: dict[str, Any]) -> str:
    """The tag's new value: the previous list (if any) with `entry` appended. Refused when the
    result would pass the tag value limit (the reference stores it anyway on SQLite, beyond its own
    limit, and fails on databases that enforce the column's length)."""
    history: list[Any] = []
    if previous is not None:
        try:
            loaded = json.loads(previous)
        except ValueError:
            loaded = None
        if not isinstance(loaded, list):
            raise invalid(f"The run's '{LOG_MODEL_HISTORY_TAG}' tag does not hold a JSON list; cannot append to it.")
        history = loaded
    value = json.dumps([*history, entry])
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise invalid(
            f"The run's '{LOG_MODEL_HISTORY_TAG}' tag would be {len(value)} characters long with this model, "
            f"more than the tag value limit of {MAX_TAG_VALUE_LENGTH}."
        )
    return value


def _python_str(value: object) -> str:
    """`str(value)` as Python writes a JSON scalar (`True`, `12.5`), which is what the reference stores."""
    return str(value)


def _utc_now(now: datetime | None) -> str:
    return str((now or datetime.now(timezone.utc)).replace(tzinfo=None))
