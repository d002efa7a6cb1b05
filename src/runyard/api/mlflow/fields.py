"""Field types for MLflow's JSON messages: proto-JSON doubles (with NaN/Infinity strings) and int64."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict

from runyard.domain.errors import invalid
from runyard.domain.validation import invalid_value_message

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}


def as_double(value: float | str, path: str) -> float:
    """A `Double` field's value as a float: proto-JSON also writes doubles as strings ("NaN", "1.5")."""
    if isinstance(value, float):
        return value
    text = value.strip()
    number = _SPECIAL.get(text)
    if number is not None:
        return number
    try:
        return float(text)
    except ValueError:
        raise invalid(
            invalid_value_message(
                path,
                value,
                'must be a number (a double); NaN and infinities are written "NaN", "Infinity", "-Infinity"',
            )
        ) from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("must be a boolean")


# Validated natively by pydantic-core (no Python call per field: log-batch carries 1,000 of them).
# A JSON number arrives as a float; a string is kept for `as_double`; a boolean is refused.
Double = Annotated[float, Strict()] | str
Int64 = Annotated[int, Field(ge=_INT64_MIN, le=_INT64_MAX)]
Bool = Annotated[bool, BeforeValidator(_boolean)]
