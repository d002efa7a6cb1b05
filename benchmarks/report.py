"""Result rows, the printed table and the JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.workloads.base import Figure, Quantity

EXPLANATION = (
    "ratio: how many times better Runyard is than mlflow (times: mlflow/runyard; throughputs: runyard/mlflow);"
    " >1 means Runyard is better.\n"
    "x floor: Runyard as a multiple of the client floor (times: runyard/floor; throughputs: floor/runyard);"
    " 1.0 means as fast as a stub that answers at once. Every figure is the median of the repetitions.\n"
    "auth/off (with --auth-compare): Runyard --auth on relative to auth off (times: on/off; throughputs: off/on);"
    " 1.10 means 10 % slower with authentication.\n"
    "runyard xN (with --processes N): N Runyard processes on one PostgreSQL database behind a round-robin proxy;"
    " xN/x1: how many times better than one process (times: x1/xN; throughputs: xN/x1).\n"
    "vs fml (when FastTrackML is measured): how many times better Runyard is than FastTrackML, as ratio is for mlflow."
)


@dataclass
class Row:
    """One quantity of one workload on one backend, for every target."""

    backend: str
    workload: str
    title: str
    quantity: str
    label: str
    unit: str
    better: str
    mlflow: float | None
    runyard: float | None
    floor: float | None
    ratio: float | None
    runyard_vs_floor: float | None
    rss_mlflow: int | None = None  # peak bytes over the server's process tree, during the workload
    rss_runyard: int | None = None
    # `--auth-compare`: Runyard with --auth on, and its cost: >1 means slower than auth off
    # (times: auth/off; throughputs: off/auth), 1.10 = 10 % slower.
    runyard_auth: float | None = None
    auth_cost: float | None = None
    # `--processes N`: N Runyard processes on one database behind the round-robin proxy, and how many
    # times better that is than one process (times: one/N; throughputs: N/one).
    runyard_multi: float | None = None
    multi_gain: float | None = None
    rss_runyard_multi: int | None = None
    # FastTrackML, when measured, and how many times better Runyard is than it (as `ratio`).
    fasttrackml: float | None = None
    vs_fasttrackml: float | None = None
    rss_fasttrackml: int | None = None
    # `--s3-compare`: Runyard with its artifacts in S3 (a local moto server), artifact workloads only.
    runyard_s3: float | None = None
    rss_runyard_s3: int | None = None
    notes: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        backend: str,
        workload: str,
        title: str,
        quantity: Quantity,
        figures: dict[str, Figure],
        rss: dict[str, dict[str, int]],
    ) -> Row:
        value = {name: f.value for name, f in figures.items()}
        m, r, f = value.get("mlflow"), value.get("runyard"), value.get("floor")
        fml = value.get("fasttrackml")
        ratio = vs_floor = vs_fml = None
        if quantity.unit != "count":
            ratio = _ratio(m, r) if quantity.better == "lower" else _ratio(r, m)
            vs_floor = _ratio(r, f) if quantity.better == "lower" else _ratio(f, r)
            vs_fml = _ratio(fml, r) if quantity.better == "lower" else _ratio(r, fml)
        return cls(
            backend=backend,
            workload=workload,
            title=title,
            quantity=quantity.key,
            label=quantity.label,
            unit=quantity.unit,
            better=quantity.better,
            mlflow=m,
            runyard=r,
            floor=f,
            ratio=ratio,
            runyard_vs_floor=vs_floor,
            rss_mlflow=rss.get("mlflow", {}).get("tree"),
            rss_runyard=rss.get("runyard", {}).get("tree"),
            runyard_auth=value.get("runyard-auth"),
            auth_cost=_auth_cost(quantity, r, value.get("runyard-auth")),
            runyard_multi=value.get("runyard-multi"),
            multi_gain=_gain(quantity, r, value.get("runyard-multi")),
            rss_runyard_multi=rss.get("runyard-multi", {}).get("tree"),
            fasttrackml=fml,
            vs_fasttrackml=vs_fml,
            rss_fasttrackml=rss.get("fasttrackml", {}).get("tree"),
            runyard_s3=value.get("runyard-s3"),
            rss_runyard_s3=rss.get("runyard-s3", {}).get("tree"),
            notes={name: fig.note for name, fig in figures.items() if fig.note},
            samples={name: fig.samples for name, fig in figures.items() if fig.samples},
        )


def _auth_cost(quantity: Quantity, off: float | None, on: float | None) -> float | None:
    if quantity.unit == "count":
        return None
    return _ratio(on, off) if quantity.better == "lower" else _ratio(off, on)


def _gain(quantity: Quantity, one: float | None, many: float | None) -> float | None:
    if quantity.unit == "count":
        return None
    return _ratio(one, many) if quantity.better == "lower" else _ratio(many, one)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_mib(b: int | None) -> str:
    return "-" if b is None else f"{b / 2**20:,.0f}"


def _cell(row: Row, target: str) -> str:
    value = getattr(row, target.replace("-", "_"))
    if value is None and target in row.notes:
        note = row.notes[target]
        return "n/a" if note.startswith("n/a") else "error"
    if row.unit == "count" and value is not None:
        return f"{value:,.0f}"
    return fmt(value)


def table(rows: list[Row]) -> str:
    header = [
        "backend",
        "workload",
        "quantity",
        "unit",
        "mlflow",
        "runyard",
        "ratio",
        "floor",
        "x floor",
        "RSS mlflow MiB",
        "RSS runyard MiB",
    ]
    body: list[list[str]] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        first = (row.backend, row.workload) not in seen
        seen.add((row.backend, row.workload))
        body.append(
            [
                row.backend if first else "",
                row.workload if first else "",
                row.label,
                row.unit + (" (lower)" if row.better == "lower" else " (higher)") if row.unit != "count" else row.unit,
                _cell(row, "mlflow"),
                _cell(row, "runyard"),
                f"{row.ratio:.2f}x" if row.ratio is not None else "-",
                _cell(row, "floor"),
                f"{row.runyard_vs_floor:.2f}" if row.runyard_vs_floor is not None else "-",
                fmt_mib(row.rss_mlflow) if first else "",
                fmt_mib(row.rss_runyard) if first else "",
            ]
        )
    if any(row.fasttrackml is not None or "fasttrackml" in row.notes for row in rows):
        header[7:7] = ["fasttrackml", "vs fml"]
        header.append("RSS fml MiB")
        seen_rss: set[tuple[str, str]] = set()
        for row, cells in zip(rows, body, strict=True):
            versus = f"{row.vs_fasttrackml:.2f}x" if row.vs_fasttrackml is not None else "-"
            cells[7:7] = [_cell(row, "fasttrackml"), versus]
            first = (row.backend, row.workload) not in seen_rss
            seen_rss.add((row.backend, row.workload))
            cells.append(fmt_mib(row.rss_fasttrackml) if first else "")
    if any(row.runyard_auth is not None or "runyard-auth" in row.notes for row in rows):
        header[6:6] = ["runyard auth", "auth/off"]
        for row, cells in zip(rows, body, strict=True):
            cost = f"{row.auth_cost:.2f}" if row.auth_cost is not None else "-"
            cells[6:6] = [_cell(row, "runyard-auth"), cost]
    if any(row.runyard_multi is not None or "runyard-multi" in row.notes for row in rows):
        at = header.index("ratio")
        header[at:at] = ["runyard xN", "xN/x1"]
        header.append("RSS xN MiB")
        seen_multi: set[tuple[str, str]] = set()
        for row, cells in zip(rows, body, strict=True):
            gain = f"{row.multi_gain:.2f}" if row.multi_gain is not None else "-"
            cells[at:at] = [_cell(row, "runyard-multi"), gain]
            first = (row.backend, row.workload) not in seen_multi
            seen_multi.add((row.backend, row.workload))
            cells.append(fmt_mib(row.rss_runyard_multi) if first else "")
    if any(row.runyard_s3 is not None for row in rows):
        header += ["runyard s3", "RSS runyard s3 MiB"]
        seen_s3: set[tuple[str, str]] = set()
        for row, cells in zip(rows, body, strict=True):
            first = (row.backend, row.workload) not in seen_s3
            seen_s3.add((row.backend, row.workload))
            cells += [_cell(row, "runyard-s3"), fmt_mib(row.rss_runyard_s3) if first else ""]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    right = set(range(4, len(header)))

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in pairs)

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in body]
    notes = [
        f"  [{row.backend} {row.workload} {row.label.strip()} / {target}] {note}"
        for row in rows
        for target, note in row.notes.items()
    ]
    out += ["", EXPLANATION]
    if notes:
        out += ["notes:", *notes]
    return "\n".join(out)


def write_json(path: Path, meta: dict[str, Any], rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
