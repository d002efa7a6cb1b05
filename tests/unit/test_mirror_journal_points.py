"""The outbox's packed metric points: what `pack_points` writes, `unpack_columns` and
`unpack_points` read back exactly (NaN flags, 64-bit steps and timestamps, negative values)."""

from __future__ import annotations

import math

from runyard.services.mirror.journal import Point, pack_points, unpack_columns, unpack_points
from runyard.store.runs import PreparedPoints


def test_packed_points_read_back_as_columns_and_as_points() -> None:
    rows = [(7, 3, 2**40, 1700000000123, -2.5, False), (7, 9, -1, 0, 0.0, True), (8, 1, 5, 6, 1e300, False)]
    payload = pack_points(PreparedPoints([v for row in rows for v in row], []))
    columns = unpack_columns(payload)
    assert columns.key_ids == [3, 9, 1] and columns.steps == [2**40, -1, 5]
    assert columns.timestamps == [1700000000123, 0, 6] and columns.values == [-2.5, 0.0, 1e300]
    assert columns.is_nan == [False, True, False]
    points = unpack_points(payload)
    assert points == [
        Point(3, 2**40, 1700000000123, -2.5, False),
        Point(9, -1, 0, 0.0, True),
        Point(1, 5, 6, 1e300, False),
    ]
    assert all(isinstance(p.value, float) and not math.isnan(p.value) for p in points)
    assert unpack_columns(pack_points(PreparedPoints([], []))) == ([], [], [], [], [])
