"""Field types for MLflow's JSON messages: proto-JSON doubles (with NaN/Infinity strings) and int64."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}


def _double(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number (a double), not a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if value in _SPECIAL:
            return _SPECIAL[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError('must be a number (a double); NaN and infinities are written "NaN", "Infinity", "-Infinity"')


def _int64(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be an integer (int64), not a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer (int64)")
        value = int(value)
    elif isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError("must be an integer (int64)") from None
    if not isinstance(value, int):
        raise ValueError("must be an integer (int64)")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError("is outside the int64 range")
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("must be a boolean")


Double = Annotated[float, BeforeValidator(_double)]
Int64 = Annotated[int, BeforeValidator(_int64)]
Bool = Annotated[bool, BeforeValidator(_boolean)]
