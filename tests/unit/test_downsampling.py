"""M4 downsampling (`runyard.domain.downsampling`): property tests over random series, with points
sharing a step or a timestamp, NaN and infinities; the same rules over blocks of points."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.domain.downsampling import (
    MIN_BUDGET,
    Block,
    Downsampled,
    Logged,
    Point,
    bucket_width,
    downsample,
    downsample_blocks,
    is_finite,
    leaves,
    merge,
    series_key,
    summarize,
)

_VALUES = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1.0, -1.0]),
)


def _stored(value: float) -> tuple[float, bool]:
    nan = value != value
    return (0.0 if nan else value, nan)


def _logged_key(p: Logged) -> tuple[int, int, float, bool]:
    """The store's order of logged points: step, timestamp, value, NaN stored as 0 and flagged."""
    return (p[0], p[1], *_stored(p[2]))


@st.composite
def logged(draw: st.DrawFn, *, ordered: bool | None = None, max_size: int = 400) -> list[Logged]:
    """A series as the store holds it: in step order, steps often shared; with `ordered`,
    timestamps never decrease along it (so time order is step order)."""
    ordered = draw(st.booleans()) if ordered is None else ordered
    gaps = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4)), min_size=1, max_size=max_size))
    step = draw(st.integers(-(10**6), 10**6))
    ts = draw(st.integers(0, 10**12))
    out: list[Logged] = []
    for step_gap, ts_gap in gaps:
        step += step_gap
        ts = ts + ts_gap if ordered else draw(st.integers(0, 40))
        out.append((step, ts, draw(_VALUES)))
    unique = {_logged_key(p): p for p in out}
    points = [unique[k] for k in sorted(unique)]
    if ordered:
        assert all(a[1] <= b[1] for a, b in itertools.pairwise(points))
    return points


def by_step(points: Sequence[Logged]) -> list[Point]:
    return [(s, s, t, v) for s, t, v in points]


def by_time(points: Sequence[Logged]) -> list[Point]:
    return sorted(((t, s, t, v) for s, t, v in points), key=series_key)


def _keys(points: Sequence[Point]) -> list[tuple[int, int, int, float, bool]]:
    return [series_key(p) for p in points]


def _check_subset_in_order(kept: Sequence[Point], points: Sequence[Point]) -> None:
    keys = _keys(kept)
    assert keys == sorted(set(keys)), "kept points are in series order, each once"
    assert set(keys) <= set(_keys(points))


def _check_bucket(kept: list[Point], inside: list[Point]) -> None:
    """A bucket's kept points hold its first and last point, its lowest and highest finite value,
    and a non-finite point if it has one (unless its first or last point is one)."""
    keys = set(_keys(kept))
    assert series_key(inside[0]) in keys and series_key(inside[-1]) in keys
    finite = [p[3] for p in inside if is_finite(p[3])]
    kept_finite = [p[3] for p in kept if is_finite(p[3])]
    if finite:
        assert min(kept_finite) == min(finite) and max(kept_finite) == max(finite)
    else:
        assert not kept_finite
    if len(finite) < len(inside):
        assert any(not is_finite(p[3]) for p in kept)
    assert len(kept) <= 5


def _buckets(points: Sequence[Point], buckets: int) -> dict[int, list[Point]]:
    lo, hi = points[0][0], points[-1][0]
    width = bucket_width(lo, hi, buckets)
    out: dict[int, list[Point]] = {}
    for p in points:
        out.setdefault((p[0] - lo) // width, []).append(p)
    assert len(out) <= buckets
    return out


@settings(max_examples=300, deadline=None)
@given(series=logged(), budget=st.integers(MIN_BUDGET, 80), time_axis=st.booleans())
def test_every_bucket_keeps_its_extremes_within_the_budget(series: list[Logged], budget: int, time_axis: bool) -> None:
    points = by_time(series) if time_axis else by_step(series)
    result = downsample(points, budget)
    assert len(result.points) <= budget
    _check_subset_in_order(result.points, points)
    if len(points) <= budget:
        assert result == Downsampled(points, False)
        return
    assert result.sampled and result.buckets in (budget // 4, budget // 5)
    assert series_key(result.points[0]) == series_key(points[0])
    assert series_key(result.points[-1]) == series_key(points[-1])
    # The kept points span the same x range, so they fall into the same buckets.
    kept = _buckets(result.points, result.buckets)
    for b, inside in _buckets(points, result.buckets).items():
        _check_bucket(kept[b], inside)
    # The sizes say which kept points belong to which bucket.
    assert result.bucket_sizes == [len(kept[b]) for b in sorted(kept)]


def _comparable(block: Block) -> tuple[Any, ...]:
    return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in block)


@st.composite
def parts(draw: st.DrawFn, series: list[Logged]) -> list[list[Logged]]:
    """`series` cut into consecutive non-empty parts."""
    cuts = draw(st.sets(st.integers(1, max(1, len(series) - 1)), max_size=len(series)))
    bounds = [0, *sorted(c for c in cuts if c < len(series)), len(series)]
    return [series[a:b] for a, b in itertools.pairwise(bounds) if a < b]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_merged_blocks_summarize_all_their_points(data: st.DataObject) -> None:
    series = data.draw(logged())
    pieces = data.draw(parts(series))
    assert _comparable(merge([summarize(p) for p in pieces])) == _comparable(summarize(series))


@settings(max_examples=200, deadline=None)
@given(series=logged(), size=st.integers(1, 20))
def test_leaves_are_the_summaries_of_consecutive_points(series: list[Logged], size: int) -> None:
    steps, stamps, values = (tuple(column) for column in zip(*series, strict=True))
    expected = [summarize(series[i : i + size]) for i in range(0, len(series), size)]
    assert [_comparable(b) for b in leaves(steps, stamps, values, size)] == [_comparable(b) for b in expected]


def test_summary_of_a_block() -> None:
    points: list[Logged] = [(0, 5, math.nan), (1, 5, 2.0), (2, 4, -1.0), (3, 6, 2.0), (4, 6, -math.inf)]
    assert _comparable(summarize(points)) == _comparable(
        (5, False, 0, 5, math.nan, 4, 6, -math.inf, 2, 4, -1.0, 1, 5, 2.0, 0, 5, math.nan)
    )
    assert summarize([(0, 1, 1.0), (0, 1, 2.0), (1, 1, 0.0)])[1] is True
    assert summarize([(0, 0, math.inf)])[8:14] == (None,) * 6


@settings(max_examples=300, deadline=None)
@given(data=st.data(), budget=st.integers(MIN_BUDGET, 80), time_axis=st.booleans())
def test_blocks_keep_every_buckets_extremes(data: st.DataObject, budget: int, time_axis: bool) -> None:
    series = data.draw(logged(ordered=True if time_axis else None))
    if len(series) <= budget:
        return
    pieces = data.draw(parts(series))
    convert = by_time if time_axis else by_step
    points = convert(series)
    result = downsample_blocks([summarize(p) for p in pieces], budget, by_time=time_axis)
    assert result.sampled and len(result.points) <= budget
    _check_subset_in_order(result.points, points)
    assert series_key(result.points[0]) == series_key(points[0])
    assert series_key(result.points[-1]) == series_key(points[-1])
    # Whole blocks per bucket: each in the bucket of its first point's x.
    x = 1 if time_axis else 0
    lo, hi = int(pieces[0][0][x]), int(pieces[-1][-1][x])
    width = bucket_width(lo, hi, result.buckets)
    buckets: dict[int, list[Logged]] = {}
    for piece in pieces:
        buckets.setdefault((int(piece[0][x]) - lo) // width, []).extend(piece)
    assert len(buckets) <= result.buckets
    assert sum(result.bucket_sizes) == len(result.points) and len(result.bucket_sizes) == len(buckets)
    at = 0
    for (_, inside), size in zip(sorted(buckets.items()), result.bucket_sizes, strict=True):
        inside_points = convert(inside)
        keys = set(_keys(inside_points))
        group = result.points[at : at + size]
        at += size
        # The bucket's kept points are exactly the next `size` points of the answer.
        assert set(_keys(group)) == {series_key(p) for p in result.points if series_key(p) in keys}
        _check_bucket(group, inside_points)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), budget=st.integers(MIN_BUDGET, 80), time_axis=st.booleans())
def test_blocks_of_one_point_are_exactly_m4(data: st.DataObject, budget: int, time_axis: bool) -> None:
    series = data.draw(logged(ordered=True if time_axis else None))
    if len(series) <= budget:
        return
    points = by_time(series) if time_axis else by_step(series)
    blocks = [summarize([p]) for p in series]
    assert _keys(downsample_blocks(blocks, budget, by_time=time_axis).points) == _keys(
        downsample(points, budget).points
    )


def test_a_spike_survives_in_a_long_series() -> None:
    points: list[Point] = [(i, i, 1_000 + i, math.sin(i / 500)) for i in range(100_000)]
    points[61_234] = (61_234, 61_234, 62_234, 1e9)
    points[7] = (7, 7, 1_007, -1e9)
    result = downsample(points, 1000)
    assert result.sampled and len(result.points) <= 1000
    values = [p[3] for p in result.points]
    assert max(values) == 1e9 and min(values) == -1e9
    assert result.points[0][0] == 0 and result.points[-1][0] == 99_999
    blocks = [summarize([(s, t, v) for _, s, t, v in points[i : i + 64]]) for i in range(0, len(points), 64)]
    for time_axis in (False, True):
        kept = downsample_blocks(blocks, 1000, by_time=time_axis).points
        assert len(kept) <= 1000 and {1e9, -1e9} <= {p[3] for p in kept}
        assert kept[0][1] == 0 and kept[-1][1] == 99_999


def test_non_finite_values_are_markers_never_extremes() -> None:
    points: list[Point] = [(i, i, 0, float(i % 7)) for i in range(1000)]
    points[500] = (500, 500, 0, math.inf)
    points[501] = (501, 501, 0, math.nan)
    points[502] = (502, 502, 0, -math.inf)
    result = downsample(points, 40)
    finite = [p[3] for p in result.points if is_finite(p[3])]
    assert min(finite) == 0.0 and max(finite) == 6.0
    assert any(not is_finite(p[3]) for p in result.points)
    assert len(result.points) <= 40


def test_every_point_non_finite() -> None:
    points: list[Point] = [(i, i, 0, math.nan if i % 2 else math.inf) for i in range(100)]
    result = downsample(points, 10)
    assert result.sampled and 0 < len(result.points) <= 10
    assert all(not is_finite(p[3]) for p in result.points)


def test_points_sharing_one_step_keep_its_extent() -> None:
    """Many values logged at few steps: a bucket per step at most, each with its lowest and highest."""
    points: list[Point] = [(step, step, ts, float((ts * 37) % 101)) for step in range(3) for ts in range(500)]
    result = downsample(points, 100)
    assert result.sampled
    for step in range(3):
        values = [p[3] for p in result.points if p[1] == step]
        assert min(values) == 0.0 and max(values) == 100.0


def test_a_series_within_the_budget_comes_back_whole() -> None:
    points: list[Point] = [(i, i, 0, math.nan) for i in range(10)]
    assert downsample(points, 10) == Downsampled(points, False)
    assert downsample([], 10) == Downsampled([], False)


def test_budget_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError):
        downsample([(0, 0, 0, 1.0)], MIN_BUDGET - 1)
    with pytest.raises(ValueError):
        downsample_blocks([summarize([(0, 0, 1.0)])], MIN_BUDGET - 1)
