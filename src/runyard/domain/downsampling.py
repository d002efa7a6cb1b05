"""Min-max preserving downsampling of metric series for charts (M4), as pure functions.

A chart a few hundred pixels wide cannot show 100,000 points, but it must not lose a spike either
(evenly spaced samples do: mlflow#11444, #11660). M4 keeps, for each of about `budget / 4` buckets
of equal width on the x axis, the bucket's first and last point and its lowest and highest
point: every line drawn through what is kept has exactly the bucket's vertical extent, so no
spike is lost, and the line leaves each bucket where the full series does.

The rules, in the terms of the chart endpoint (`api/ui/charts.py`):

- Points come in series order: by x, then by the rest of the point (step axis: step, timestamp,
  value; time axes: timestamp, step, value). Several points may share one x (several values
  logged at one step); they share a bucket, so the bucket's extent includes all of them, and the
  output keeps them in series order (a vertical stroke at that x). Output is always in series
  order, without duplicates.
- A series with at most `budget` points comes back whole.
- Otherwise [first x, last x] is split into `budget // 4` buckets of equal integer width; x is
  an integer (a step or milliseconds). Per bucket: the first and last point (whatever their
  value), the first point with the lowest finite value and the first with the highest.
- NaN and ±Infinity never count as a bucket's lowest or highest value. They are points all the
  same: whole series return every one; in a sampled series, a bucket that holds any keeps its
  first non-finite point (when its first or last point is not already one), so the chart can mark
  that something is there. A bucket then has up to 5 points: when that would exceed the budget,
  the series is bucketed again with `budget // 5` buckets, so the result never holds more than
  `budget` points (`budget` is at least `MIN_BUDGET`).

Blocks (`summarize`, `merge`, `downsample_blocks`) let a store answer without reading every point:
a block summarizes consecutive points of a series (in step order) by what M4 needs of them. In
`downsample_blocks` a block falls into the bucket of its first x as a whole, so bucket edges move
to block edges (buckets stay within a block's width of equal), and each bucket still keeps its
first, last, lowest and highest point and a non-finite marker; blocks of one point each give
exactly `downsample`'s answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

# (x, step, timestamp, value): x is the step or the timestamp.
Point = tuple[int, int, int, float]
# (step, timestamp, value): a point as logged.
Logged = tuple[int, int, float]

# A block, as one flat tuple (stores read them as rows):
#   0 size: how many points; 1 ordered: whether timestamps never decrease along them;
#   2-4 first point, 5-7 last point (step, timestamp, value);
#   8-10 the first lowest finite point, 11-13 the first highest, (None, None, None) if none is
#   finite; 14-16 the first non-finite point, (None, None, None) if all are finite.
Block = tuple[Any, ...]
SIZE, ORDERED, FIRST, LAST, LOW, HIGH, ODD = 0, 1, 2, 5, 8, 11, 14
_NONE = (None, None, None)

MIN_BUDGET = 5
# Points a bucket keeps at most: first, last, lowest, highest, and one non-finite marker.
_MOST_PER_BUCKET = 5


class Downsampled(NamedTuple):
    """The points kept; `sampled`: by M4 (else all of them); `buckets`: how many M4 used;
    `bucket_sizes`: when sampled, how many of the kept points each non-empty bucket holds, in
    order (they sum to the points kept), so a chart can draw each bucket's exact low-high band:
    a bucket's lowest and highest finite points are always among its kept points."""

    points: list[Point]
    sampled: bool
    buckets: int = 0
    bucket_sizes: list[int] = []


def is_finite(value: float) -> bool:
    # False exactly for NaN and the infinities.
    return value - value == 0


def bucket_width(lo: int, hi: int, buckets: int) -> int:
    """The integer width that splits [lo, hi] into at most `buckets` buckets: bucket of x is
    (x - lo) // width."""
    return -(-(hi - lo + 1) // buckets)


def series_key(p: Point) -> tuple[int, int, int, float, bool]:
    """The series order of a point, as the store sorts (x, step, timestamp, value, is_nan): NaN is
    stored as 0 with is_nan set. A series holds each point once, so equal keys are one point
    (`==` on the points themselves would tell two NaN apart)."""
    x, step, timestamp, value = p
    nan = value != value
    return (x, step, timestamp, 0.0 if nan else value, nan)


def downsample(points: Sequence[Point], budget: int) -> Downsampled:
    """At most `budget` points of a series (see the module docstring)."""
    _check_budget(budget)
    if len(points) <= budget:
        return Downsampled(list(points), False)
    for per_bucket in (4, _MOST_PER_BUCKET):
        buckets = max(1, budget // per_bucket)
        picked, sizes = _m4(points, buckets)
        if len(picked) <= budget:
            break
    return Downsampled([points[i] for i in picked], True, buckets, sizes)


def _check_budget(budget: int) -> None:
    if budget < MIN_BUDGET:
        raise ValueError(f"a budget of at least {MIN_BUDGET} points is needed, not {budget}")


def _m4(points: Sequence[Point], buckets: int) -> tuple[list[int], list[int]]:
    """The indexes of the points kept, and how many each non-empty bucket keeps."""
    lo, hi = points[0][0], points[-1][0]
    width = bucket_width(lo, hi, buckets)
    picked: list[int] = []
    sizes: list[int] = []
    bucket = -1
    first = low = high = odd = -1
    low_value = high_value = 0.0
    for i, (x, _, _, value) in enumerate(points):
        b = (x - lo) // width
        if b != bucket:
            if bucket >= 0:
                kept = _picks(first, i - 1, low, high, odd, points)
                picked += kept
                sizes.append(len(kept))
            bucket, first, low, high, odd = b, i, -1, -1, -1
        if value - value == 0:
            if low < 0:
                low = high = i
                low_value = high_value = value
            elif value < low_value:
                low, low_value = i, value
            elif value > high_value:
                high, high_value = i, value
        elif odd < 0:
            odd = i
    kept = _picks(first, len(points) - 1, low, high, odd, points)
    picked += kept
    sizes.append(len(kept))
    return picked, sizes


def _picks(first: int, last: int, low: int, high: int, odd: int, points: Sequence[Point]) -> list[int]:
    picks = {first, last}
    if low >= 0:
        picks.add(low)
        picks.add(high)
    if odd >= 0 and is_finite(points[first][3]) and is_finite(points[last][3]):
        picks.add(odd)
    return sorted(picks)


# --- blocks -------------------------------------------------------------------------------------


def summarize(points: Sequence[Logged]) -> Block:
    """The block of consecutive logged points `points` (at least one, in step order)."""
    values = [p[2] for p in points]
    stamps = [p[1] for p in points]
    ordered = stamps == sorted(stamps)
    total = sum(values)
    if total - total == 0:
        # Every value is finite (NaN and infinities survive a sum): the builtins find the first
        # lowest and the first highest.
        lowest, highest = points[values.index(min(values))], points[values.index(max(values))]
        return (len(points), ordered, *points[0], *points[-1], *lowest, *highest, *_NONE)
    low: Logged | None = None
    high: Logged | None = None
    odd: Logged | None = None
    for p in points:
        value = p[2]
        if value - value == 0:
            if low is None or value < low[2]:
                low = p
            if high is None or value > high[2]:
                high = p
        elif odd is None:
            odd = p
    return (len(points), ordered, *points[0], *points[-1], *(low or _NONE), *(high or _NONE), *(odd or _NONE))


def leaves(steps: Sequence[int], stamps: Sequence[int], values: Sequence[float], size: int) -> list[Block]:
    """`summarize` of every `size` consecutive points (the last block may hold fewer) of a series
    given column by column: what a store builds its smallest blocks with, from a whole series,
    without a Python step per point where the values are finite."""
    everywhere_ordered = list(stamps) == sorted(stamps)
    out: list[Block] = []
    for i in range(0, len(values), size):
        chunk = values[i : i + size]
        total = sum(chunk)
        if total - total != 0:
            out.append(summarize(list(zip(steps[i : i + size], stamps[i : i + size], chunk, strict=True))))
            continue
        stamp = stamps[i : i + size]
        ordered = everywhere_ordered or list(stamp) == sorted(stamp)
        j, low, high = i + len(chunk) - 1, i + chunk.index(min(chunk)), i + chunk.index(max(chunk))
        out.append(
            (
                len(chunk),
                ordered,
                steps[i],
                stamps[i],
                values[i],
                steps[j],
                stamps[j],
                values[j],
                steps[low],
                stamps[low],
                values[low],
                steps[high],
                stamps[high],
                values[high],
                *_NONE,
            )
        )
    return out


def merge(blocks: Sequence[Block]) -> Block:
    """The block of consecutive blocks (at least one, in step order): `summarize` of all their points."""
    first, last = blocks[0], blocks[-1]
    size = 0
    ordered = True
    low = high = odd = None
    previous = first[FIRST + 1]
    for b in blocks:
        size += b[SIZE]
        if not b[ORDERED] or b[FIRST + 1] < previous:
            ordered = False
        previous = b[LAST + 1]
        if b[LOW] is not None:
            if low is None or b[LOW + 2] < low[LOW + 2]:
                low = b
            if high is None or b[HIGH + 2] > high[HIGH + 2]:
                high = b
        if odd is None and b[ODD] is not None:
            odd = b
    return (
        size,
        ordered,
        *first[FIRST : FIRST + 3],
        *last[LAST : LAST + 3],
        *(low[LOW : LOW + 3] if low else _NONE),
        *(high[HIGH : HIGH + 3] if high else _NONE),
        *(odd[ODD : ODD + 3] if odd else _NONE),
    )


def downsample_blocks(blocks: Sequence[Block], budget: int, *, by_time: bool = False) -> Downsampled:
    """`downsample` over consecutive blocks of a series holding more than `budget` points in all:
    x is the step, or with `by_time` the timestamp (then the blocks must be ordered, and follow
    each other in time: step order is then time order). See the module docstring."""
    _check_budget(budget)
    for per_bucket in (4, _MOST_PER_BUCKET):
        buckets = max(1, budget // per_bucket)
        picked, sizes = _m4_blocks(blocks, buckets, 1 if by_time else 0)
        if len(picked) <= budget:
            break
    return Downsampled(picked, True, buckets, sizes)


def _m4_blocks(blocks: Sequence[Block], buckets: int, x: int) -> tuple[list[Point], list[int]]:
    """The points kept, and how many each non-empty bucket keeps."""
    fx, lx = FIRST + x, LAST + x
    lo, hi = blocks[0][fx], blocks[-1][lx]
    width = bucket_width(lo, hi, buckets)
    out: list[Point] = []
    sizes: list[int] = []
    bucket = -1
    first = low = high = odd = -1
    for i, block in enumerate(blocks):
        b = (block[fx] - lo) // width
        if b != bucket:
            if bucket >= 0:
                kept = _block_picks(blocks, first, i - 1, low, high, odd, x)
                out += kept
                sizes.append(len(kept))
            bucket, first, low, high, odd = b, i, -1, -1, -1
        if block[LOW] is not None:
            if low < 0 or block[LOW + 2] < blocks[low][LOW + 2]:
                low = i
            if high < 0 or block[HIGH + 2] > blocks[high][HIGH + 2]:
                high = i
        if odd < 0 and block[ODD] is not None:
            odd = i
    kept = _block_picks(blocks, first, len(blocks) - 1, low, high, odd, x)
    out += kept
    sizes.append(len(kept))
    return out, sizes


def _block_picks(blocks: Sequence[Block], first: int, last: int, low: int, high: int, odd: int, x: int) -> list[Point]:
    """A bucket's kept points, in series order and each once."""
    head, tail = blocks[first][FIRST : FIRST + 3], blocks[last][LAST : LAST + 3]
    chosen = [head, tail]
    if low >= 0:
        chosen += [blocks[low][LOW : LOW + 3], blocks[high][HIGH : HIGH + 3]]
    marker = odd >= 0 and is_finite(head[2]) and is_finite(tail[2])
    if marker or head[2] != head[2] or tail[2] != tail[2]:
        if marker:
            chosen.append(blocks[odd][ODD : ODD + 3])
        # NaN is in the way of comparing and of telling points apart: by series key.
        points = {series_key(p): p for p in ((s[x], s[0], s[1], s[2]) for s in chosen)}
        return [points[k] for k in sorted(points)]
    # Finite points: (step, timestamp, value) order is series order, on the step axis and (the
    # blocks being in time order then) on the time axis.
    return [(s[x], s[0], s[1], s[2]) for s in sorted(set(chosen))]
