"""Rollups of long metric series, so a chart of 100,000 points reads a thousand rows, not all of them.

`metric_rollups` holds, per series, blocks of consecutive points in step order
(`domain.downsampling.Block`: size, first, last, lowest and highest finite point, first non-finite
point, whether timestamps never decrease): level 0 summarizes `LEAF` points each, every level
above `FANOUT` blocks of the level below, up to a top level of at most `FANOUT` blocks. Block
`seq` numbers count from 0 within a level, so the children of block s are the blocks 4s..4s+3
of the level below.

Keeping them current: every write of points lowers `latest_metrics.stale_from` to the lowest
step it wrote (`store.runs`, in the writer's transaction, at no extra statement). `refresh` keeps
the blocks that end before that step, rebuilds the rest from the points, then clears the mark: a
series being logged to rebuilds its last few blocks, not the whole. A series gets blocks when a
chart first reads it with more than `MIN_POINTS` points; smaller series are read whole.

Reading (`cover`): the blocks of one level that cover an x range, the level chosen so that
there are at least `want` of them (snapping buckets to whole blocks then moves bucket edges by a
fraction of a bucket): first the level that would hold that many were the points spread evenly,
a level lower while there are fewer (each read among the children of the blocks found above, an
index range). A block the range cuts is replaced by its children, down to the points of a
level-0 block. When even level 0 holds fewer than `want` blocks in range, `cover` gives the
first and last instead, and the caller reads the points between. On the time axes, blocks stand
for their points only when the series' timestamps never decrease along its steps (then time
order is step order); otherwise `cover` answers None and the caller reads points.

Rows store NaN as NULL (SQLite has no NaN); `_block` restores it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection

from runyard.domain.downsampling import FIRST, LAST, ODD, SIZE, Block, Logged, leaves, merge, summarize
from runyard.store import fastsql

LEAF = 16
FANOUT = 4
MIN_POINTS = 2048

_SERIES = "run_id = ? AND key_id = ?"
_BLOCK = (
    "size, ordered, first_step, first_ts, first_value, last_step, last_ts, last_value, "
    "low_step, low_ts, low_value, high_step, high_ts, high_value, odd_step, odd_ts, odd_value"
)
_ROW = f"metric_rollups (run_id, key_id, level, seq, {_BLOCK})"
# The row's columns as binary COPY writes them (PostgreSQL).
_COPY_TYPES = ["int4", "int4", "int4", "int8", "int8", "bool", *(("int8", "int8", "float8") * 5)]
_POINT_ORDER = "ORDER BY step, timestamp, value, is_nan"
# Aliased: PostgreSQL would name the CASE column `value`, and ORDER BY value would sort by it.
_POINT_COLUMNS = "SELECT step, timestamp, CASE WHEN is_nan THEN NULL ELSE value END AS v FROM metrics"


class RollupState(NamedTuple):
    """A series' rollups: the top level built (None: none yet) and the step from which they are
    out of date (None: they are not)."""

    top: int | None
    stale_from: int | None

    @property
    def current(self) -> bool:
        return self.top is not None and self.stale_from is None


class Cover(NamedTuple):
    """What covers an x range: the series' whole extent on the axis; the blocks holding exactly
    the range's points (None: too few points for blocks to help, read them); the first and last
    block the range touches (None: no point in range), between which its points lie."""

    extent: tuple[int, int]
    blocks: list[Block] | None
    span: tuple[Block, Block] | None


def has_more_points(conn: Connection, pk: int, key_id: int, n: int) -> bool:
    """Whether the series holds more than `n` points (an index walk of n entries)."""
    sql = f"SELECT 1 FROM metrics WHERE {_SERIES} {_POINT_ORDER} LIMIT 1 OFFSET ?"
    return fastsql.execute(conn, sql, (pk, key_id, n)).fetchone() is not None


def state(conn: Connection, pk: int, key_id: int) -> RollupState:
    row = fastsql.execute(
        conn,
        f"SELECT stale_from, (SELECT MAX(level) FROM metric_rollups WHERE {_SERIES}) "
        f"FROM latest_metrics WHERE {_SERIES}",
        (pk, key_id, pk, key_id),
    ).fetchone()
    return RollupState(None, None) if row is None else RollupState(row[1], row[0])


def states(conn: Connection, series: Sequence[tuple[int, int]]) -> dict[tuple[int, int], RollupState]:
    """`state` of each (run pk, key id) that has points, in one statement."""
    if not series:
        return {}
    runs, run_params = fastsql.one_of(conn, sorted({pk for pk, _ in series}))
    keys, key_params = fastsql.one_of(conn, sorted({key_id for _, key_id in series}))
    sql = (
        "SELECT lm.run_id, lm.key_id, lm.stale_from, (SELECT MAX(r.level) FROM metric_rollups r "
        "WHERE r.run_id = lm.run_id AND r.key_id = lm.key_id) "
        f"FROM latest_metrics lm WHERE lm.run_id {runs} AND lm.key_id {keys}"
    )
    wanted = set(series)
    rows = fastsql.execute(conn, sql, (*run_params, *key_params)).fetchall()
    return {(pk, key_id): RollupState(top, stale) for pk, key_id, stale, top in rows if (pk, key_id) in wanted}


def refresh_all(conn: Connection, series: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """`refresh` each (run pk, key id), in the caller's write transaction. In (run, key) order, as
    writers lock latest_metrics rows, so that the two cannot deadlock on PostgreSQL; there the
    commit need not wait for the WAL to be flushed: rollups lost in a crash go with their
    cleared marks, and are rebuilt. Returns the top level of each series that has points."""
    if conn.dialect.name == "postgresql":
        fastsql.execute(conn, "SET LOCAL synchronous_commit TO OFF")
    tops = {}
    for pk, key_id in sorted(set(series)):
        top = refresh(conn, pk, key_id)
        if top is not None:
            tops[(pk, key_id)] = top
    return tops


def refresh(conn: Connection, pk: int, key_id: int) -> int | None:
    """Bring the series' blocks up to date, in the caller's write transaction. On PostgreSQL the
    series' latest_metrics row is locked first: a writer that commits points meanwhile lowers the
    mark after this transaction clears it (its points may be invisible to the reads here).

    A few statements whatever the number of levels: the blocks kept before the rebuilt ones (at
    most 3 a level) are read in one, the stale ones deleted in one (PostgreSQL) or one a level
    (SQLite, in process), the new ones written in one. Returns the top level (None: the series
    has no point)."""
    lock = " FOR UPDATE OF latest_metrics" if conn.dialect.name == "postgresql" else ""
    row = fastsql.execute(
        conn,
        f"SELECT stale_from, (SELECT MAX(level) FROM metric_rollups WHERE {_SERIES}) "
        f"FROM latest_metrics WHERE {_SERIES}{lock}",
        (pk, key_id, pk, key_id),
    ).fetchone()
    if row is None:
        return None
    current = RollupState(row[1], row[0])
    if current.current:
        return current.top
    start = _rebuild_from(conn, pk, key_id, current)
    if start == 0 or current.top is None:
        kept: dict[int, list[Block]] = {}
        after = None
        fastsql.execute(conn, f"DELETE FROM metric_rollups WHERE {_SERIES}", (pk, key_id))
    else:
        # Level l is rebuilt from block start // 4**l on; each level's range is an index range.
        levels = range(current.top + 1)
        kept, after = _kept_before(conn, pk, key_id, start, levels)
        _delete_from(conn, pk, key_id, [(level, start >> (2 * level)) for level in levels])
    new = leaves(*_columns_after(conn, pk, key_id, after), LEAF)
    rows: list[Any] = []
    _append_rows(rows, pk, key_id, 0, start, new)
    level, total = 0, start + len(new)
    while total > FANOUT:
        parent = start // FANOUT
        new = [merge(group) for group in _chunks([*kept.get(level, []), *new], FANOUT)]
        level, start, total = level + 1, parent, parent + len(new)
        _append_rows(rows, pk, key_id, level, start, new)
    _insert(conn, rows)
    if current.top is not None and current.top > level:
        fastsql.execute(conn, f"DELETE FROM metric_rollups WHERE {_SERIES} AND level > ?", (pk, key_id, level))
    fastsql.execute(conn, f"UPDATE latest_metrics SET stale_from = NULL WHERE {_SERIES}", (pk, key_id))
    return level


assert FANOUT == 4, "refresh shifts block numbers by 2 bits a level"


def _kept_before(
    conn: Connection, pk: int, key_id: int, start: int, levels: range
) -> tuple[dict[int, list[Block]], Block]:
    """Per level l, the blocks that share a parent with the first rebuilt one (start // 4**l) and
    come before it: they are kept, and their parent is rebuilt from them and the new ones. And
    the leaf before the first rebuilt one (the new leaves hold the points after its last)."""
    bounds = [(level, ((start >> (2 * level)) >> 2) << 2, (start >> (2 * level)) - 1) for level in levels]
    bounds.append((0, start - 1, start - 1))
    # One index range each (SQLite scans the whole series for the same ranges ORed together).
    select = f"SELECT level, seq, {_BLOCK} FROM metric_rollups WHERE {_SERIES} AND level = ? AND seq >= ? AND seq <= ?"
    sql = " UNION ALL ".join([select] * len(bounds))
    params = [v for bound in bounds for v in (pk, key_id, *bound)]
    rows = {(row[0], row[1]): row for row in fastsql.execute(conn, sql, params).fetchall()}
    kept: dict[int, list[Block]] = {}
    for (level, seq), row in sorted(rows.items()):
        if seq >= bounds[level][1]:
            kept.setdefault(level, []).append(_block(row[2:]))
    before = rows.get((0, start - 1))
    if before is None:
        raise RuntimeError(f"metric_rollups: leaf {start - 1} of series ({pk}, {key_id}) is missing")
    return kept, _block(before[2:])


def _delete_from(conn: Connection, pk: int, key_id: int, starts: Sequence[tuple[int, int]]) -> None:
    """Delete each (level, first seq) level's blocks from that seq on: one statement of ORed index
    ranges on PostgreSQL (a bitmap OR), a statement a level on SQLite (which would scan)."""
    if conn.dialect.name == "postgresql":
        ranges = " OR ".join("(level = ? AND seq >= ?)" for _ in starts)
        params = [v for start in starts for v in start]
        fastsql.execute(conn, f"DELETE FROM metric_rollups WHERE {_SERIES} AND ({ranges})", (pk, key_id, *params))
        return
    for level, seq in starts:
        fastsql.execute(
            conn, f"DELETE FROM metric_rollups WHERE {_SERIES} AND level = ? AND seq >= ?", (pk, key_id, level, seq)
        )


def _rebuild_from(conn: Connection, pk: int, key_id: int, current: RollupState) -> int:
    """The first leaf to rebuild (0: all of them): the first that ends at or after the stale
    step, or the last leaf (it may be short). Points appended to the series touch the last leaf
    only, found by one index seek; older steps need a scan of the leaves."""
    if current.top is None or current.stale_from is None:
        return 0
    leaf = f"FROM metric_rollups WHERE {_SERIES} AND level = 0"
    row = fastsql.execute(conn, f"SELECT seq, last_step {leaf} ORDER BY seq DESC LIMIT 1", (pk, key_id)).fetchone()
    if row is None:
        return 0
    last, last_step = row
    if last_step < current.stale_from:
        return int(last)
    stale = fastsql.execute(conn, f"SELECT MIN(seq) {leaf} AND last_step >= ?", (pk, key_id, current.stale_from))
    return int(min(stale.fetchone()[0], last))


def _columns_after(
    conn: Connection, pk: int, key_id: int, block: Block | None
) -> tuple[Sequence[int], Sequence[int], Sequence[float]]:
    """Steps, timestamps and values of the series' points after the last point of `block` (all
    of them for None), in step order."""
    columns = "SELECT step, timestamp, value, is_nan FROM metrics"
    params: tuple[Any, ...] = (pk, key_id)
    if block is None:
        sql = f"{columns} WHERE {_SERIES} {_POINT_ORDER}"
    else:
        sql = f"{columns} WHERE {_SERIES} AND (step, timestamp, value, is_nan) > (?, ?, ?, ?) {_POINT_ORDER}"
        params += _key(block, LAST)
    rows = fastsql.execute(conn, sql, params, binary=True).fetchall()
    values = [r[2] for r in rows]
    nans = [r[3] for r in rows]
    if any(nans):
        for i, nan in enumerate(nans):
            if nan:
                values[i] = math.nan
    return [r[0] for r in rows], [r[1] for r in rows], values


def _key(block: Block, at: int) -> tuple[int, int, float, bool]:
    """The store key (step, timestamp, stored value, is_nan) of the block's point at `at`."""
    value = block[at + 2]
    nan = value != value
    return (block[at], block[at + 1], 0.0 if nan else value, nan)


def _logged(rows: list[Any]) -> list[Logged]:
    for i, row in enumerate(rows):
        if row[2] is None:
            rows[i] = (row[0], row[1], math.nan)
    return rows


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _append_rows(rows: list[Any], pk: int, key_id: int, level: int, start: int, blocks: Sequence[Block]) -> None:
    """Blocks as metric_rollups rows (NaN as NULL)."""
    for seq, block in enumerate(blocks, start):
        row = [pk, key_id, level, seq, *block]
        for at in (FIRST, LAST, ODD):
            value = block[at + 2]
            if value is not None and value != value:
                row[4 + at + 2] = None
        rows.append(row)


def _insert(conn: Connection, rows: list[Any]) -> None:
    """Insert rollup rows: on PostgreSQL by a binary COPY, which psycopg writes ~3x faster than
    it dumps the rows as arrays to unnest (8,300 rows of 21 columns: 48 ms against 130 ms)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        fastsql.insert_flat(conn, f"INSERT INTO {_ROW}", len(_COPY_TYPES), [v for row in rows for v in row])
        return
    cursor = fastsql.driver_cursor(conn)
    with cursor.copy(f"COPY {_ROW} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_COPY_TYPES)
        for row in rows:
            copy.write_row(row)


def _block(row: Any) -> Block:
    """A block row as the domain has it: NaN values restored."""
    if row[FIRST + 2] is None or row[LAST + 2] is None or (row[ODD] is not None and row[ODD + 2] is None):
        row = list(row)
        for at in (FIRST, LAST, ODD):
            if row[at] is not None and row[at + 2] is None:
                row[at + 2] = math.nan
        row = tuple(row)
    return row  # type: ignore[no-any-return]


def _blocks(conn: Connection, pk: int, key_id: int, level: int, first: int, last: int) -> list[Block]:
    """The blocks first..last (seq, inclusive) of one level."""
    if last < first:
        return []
    sql = f"SELECT {_BLOCK} FROM metric_rollups WHERE {_SERIES} AND level = ? AND seq >= ? AND seq <= ? ORDER BY seq"
    return [_block(r) for r in fastsql.execute(conn, sql, (pk, key_id, level, first, last), binary=True).fetchall()]


def _overlapping(
    conn: Connection, pk: int, key_id: int, level: int, x: str, lo: int, hi: int, first: int, last: int
) -> tuple[int, list[Block]]:
    """The first seq and the blocks, among first..last of one level, that hold some x within
    [lo, hi] (they follow each other)."""
    sql = (
        f"SELECT {_BLOCK}, seq FROM metric_rollups WHERE {_SERIES} AND level = ? AND seq >= ? AND seq <= ? "
        f"AND last_{x} >= ? AND first_{x} <= ? ORDER BY seq"
    )
    rows = fastsql.execute(conn, sql, (pk, key_id, level, first, last, lo, hi), binary=True).fetchall()
    return (rows[0][-1] if rows else 0), [_block(r[:-1]) for r in rows]


def cover(
    conn: Connection, pk: int, key_id: int, top: int, *, by_time: bool, lo: int | None, hi: int | None, want: int
) -> Cover | None:
    """What covers [lo, hi] (by default the series' extent) on the step or the time axis, in at
    least `want` blocks when there are that many leaves in range (see the module docstring)."""
    x = "ts" if by_time else "step"
    at = 1 if by_time else 0
    tops = _blocks(conn, pk, key_id, top, 0, FANOUT)
    if not tops or (by_time and not _in_time_order(tops)):
        return None
    extent = (tops[0][FIRST + at], tops[-1][LAST + at])
    lo = extent[0] if lo is None else max(lo, extent[0])
    hi = extent[1] if hi is None else min(hi, extent[1])
    touched = [i for i, b in enumerate(tops) if b[LAST + at] >= lo and b[FIRST + at] <= hi]
    if not touched:
        return Cover(extent, None, None)
    # The level that would hold `want` blocks in range were the points spread evenly over the
    # extent, read among the descendants of the top blocks the range touches; a level lower
    # (among the children of what was found) while there are fewer.
    in_range = sum(b[SIZE] for b in tops) * (hi - lo + 1) / (extent[1] - extent[0] + 1)
    level = top
    while level > 0 and in_range / (LEAF * FANOUT**level) < want:
        level -= 1
    scale = FANOUT ** (top - level)
    first, last = touched[0] * scale, (touched[-1] + 1) * scale - 1
    while True:
        start, blocks = _overlapping(conn, pk, key_id, level, x, lo, hi, first, last)
        if level == 0 or len(blocks) >= want or not blocks:
            break
        level, first, last = level - 1, start * FANOUT, (start + len(blocks)) * FANOUT - 1
    if not blocks:
        return Cover(extent, None, None)
    span = (blocks[0], blocks[-1])
    if len(blocks) < want:
        return Cover(extent, None, span)
    return Cover(extent, _cut(conn, pk, key_id, level, start, blocks, at, lo, hi), span)


def extent(conn: Connection, pk: int, key_id: int, top: int, *, by_time: bool) -> tuple[int, int] | None:
    """The series' first and last step, or timestamp (None if its timestamps ever decrease)."""
    tops = _blocks(conn, pk, key_id, top, 0, FANOUT)
    if not tops or (by_time and not _in_time_order(tops)):
        return None
    at = 1 if by_time else 0
    return (tops[0][FIRST + at], tops[-1][LAST + at])


def _in_time_order(blocks: Sequence[Block]) -> bool:
    previous = blocks[0][FIRST + 1]
    for b in blocks:
        if not b[1] or b[FIRST + 1] < previous:
            return False
        previous = b[LAST + 1]
    return True


def _cut(
    conn: Connection, pk: int, key_id: int, level: int, start: int, blocks: list[Block], at: int, lo: int, hi: int
) -> list[Block]:
    """`blocks` (from seq `start`) with the first and last replaced by what of them lies in [lo, hi]."""
    if len(blocks) == 1:
        return _refine(conn, pk, key_id, level, start, blocks[0], at, lo, hi)
    head = _refine(conn, pk, key_id, level, start, blocks[0], at, lo, hi)
    tail = _refine(conn, pk, key_id, level, start + len(blocks) - 1, blocks[-1], at, lo, hi)
    return [*head, *blocks[1:-1], *tail]


def _refine(
    conn: Connection, pk: int, key_id: int, level: int, seq: int, block: Block, at: int, lo: int, hi: int
) -> list[Block]:
    """The parts of `block` within [lo, hi]: itself, its children refined, or for a level-0
    block the summary of its points in range."""
    if block[FIRST + at] >= lo and block[LAST + at] <= hi:
        return [block]
    if block[LAST + at] < lo or block[FIRST + at] > hi:
        return []
    if level == 0:
        points = [p for p in points_of(conn, pk, key_id, block) if lo <= p[at] <= hi]
        return [summarize(points)] if points else []
    children = _blocks(conn, pk, key_id, level - 1, seq * FANOUT, seq * FANOUT + FANOUT - 1)
    out: list[Block] = []
    for i, child in enumerate(children):
        out += _refine(conn, pk, key_id, level - 1, seq * FANOUT + i, child, at, lo, hi)
    return out


def points_of(conn: Connection, pk: int, key_id: int, block: Block) -> list[Logged]:
    """The points a block summarizes, in step order."""
    return points_between(conn, pk, key_id, block, block)


def points_between(conn: Connection, pk: int, key_id: int, first: Block, last: Block) -> list[Logged]:
    """The points from the first point of block `first` to the last of block `last`, in step order."""
    sql = (
        f"{_POINT_COLUMNS} WHERE {_SERIES} AND (step, timestamp, value, is_nan) >= (?, ?, ?, ?) "
        f"AND (step, timestamp, value, is_nan) <= (?, ?, ?, ?) {_POINT_ORDER}"
    )
    params = (pk, key_id, *_key(first, FIRST), *_key(last, LAST))
    return _logged(fastsql.execute(conn, sql, params, binary=True).fetchall())
