"""Reports from result files: the target table, as text, CSV and Markdown (the charts are
:mod:`.charts`, comparisons :mod:`.compare`).

Everything here reads the HDF5 file alone (its summary group and attributes), so a report
can be made on another machine than the run.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..results.layout import PERCENTILES
from ..results.reader import open_complete, output_attrs, texts
from ..schemas.target import Target
from . import labels


@dataclass(frozen=True)
class Row:
    """One line of the target table."""

    output: str
    units: str
    target: str
    year: float
    median: float
    p5: float
    p95: float
    p_met: float | None
    element: str = ""
    """The output measured (default: the same as ``output``, the target id)."""
    kind: str = "level"
    """level, every_year, cumulative or growth (then the values are fractions a year)."""
    worst_year: float | None = None
    """every_year: the year with the worst median addition."""

    def value_text(self, v: float | None) -> str:
        """A measured value as shown: growth as a percentage a year."""
        if self.kind == "growth" and v is not None and np.isfinite(v):
            return f"{100 * v:.1f}%"
        return _fmt(v)

    @property
    def shown_units(self) -> str:
        if self.kind == "growth":
            return "%/yr"
        if self.kind == "every_year":
            return f"{self.units}/yr"
        return self.units


def _pct(name: str, h5: h5py.File, k: int) -> tuple[float, float, float]:
    q = h5["summary"][name][:, k]
    idx = {p: i for i, p in enumerate(PERCENTILES)}
    return float(q[idx[50.0]]), float(q[idx[5.0]]), float(q[idx[95.0]])


def target_rows(path: str | Path) -> list[Row]:
    """The target table, one row per target id; without targets, the outputs at the end."""
    with open_complete(path) as h5:
        # older files have no measured values: level targets at the nearest saved time
        measured = "target_value" in h5["summary"]
        rows = _measured_rows(h5) if measured else _level_rows(h5)
        return rows or _output_rows(h5)


def _measured_rows(h5: h5py.File) -> list[Row]:
    """One row per target from the summary's measured values."""
    s = h5["summary"]
    q = s["target_value"][:]
    idx = {p: i for i, p in enumerate(PERCENTILES)}
    elements = texts(s["target_element"])
    defs = texts(s["target_definition"])
    worst = s["target_worst_year"][:]
    rows = []
    for i, tid in enumerate(texts(s["target"])):
        tgt = Target.from_json(defs[i])
        el = elements[i]
        rows.append(
            Row(
                tid,
                str(output_attrs(h5, el).get("units", "")),
                tgt.describe(),
                float(tgt.last_year),
                float(q[i, idx[50.0]]),
                float(q[i, idx[5.0]]),
                float(q[i, idx[95.0]]),
                float(s["p_met"][i]),
                el,
                tgt.kind,
                None if not np.isfinite(worst[i]) else float(worst[i]),
            )
        )
    return rows


def _level_rows(h5: h5py.File) -> list[Row]:
    """Files from before measured values: the outputs' percentiles at each target's year."""
    times = h5["time"][:]
    s = h5["summary"]
    p_met = dict(zip(texts(s["target"]), s["p_met"][:], strict=True))
    rows = []
    for name in json.loads(h5.attrs["outputs"]):
        raw = output_attrs(h5, name).get("target")
        if raw:
            tgt = Target.from_json(raw)
            k = int(np.argmin(np.abs(times - tgt.last_year)))
            med, lo, hi = _pct(name, h5, k)
            units = str(output_attrs(h5, name).get("units", ""))
            met = float(p_met[name])
            rows.append(Row(name, units, tgt.describe(), float(times[k]), med, lo, hi, met, name))
    return rows


def _output_rows(h5: h5py.File) -> list[Row]:
    """No targets: every saved output at the end."""
    times = h5["time"][:]
    k = times.size - 1
    rows = []
    for name in json.loads(h5.attrs["outputs"]):
        med, lo, hi = _pct(name, h5, k)
        units = output_attrs(h5, name).get("units", "")
        rows.append(Row(name, units, "-", float(times[k]), med, lo, hi, None, name))
    return rows


def run_info(path: str | Path) -> dict:
    with open_complete(path) as h5:
        return {
            "runs": int(h5.attrs["runs"]),
            "failed": int(h5.attrs.get("n_failed", 0)),
            "scenario": str(h5.attrs.get("scenario_file", "")),
            "model": str(h5.attrs.get("model_name", "")),
        }


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "-"
    if pct:
        return f"{100 * v:.0f}%"
    if not np.isfinite(v):
        return "nan"
    if 1e4 <= abs(v) < 1e12:
        return f"{v:,.0f}"
    return f"{v:.4g}"


_HEAD = ["target id", "units", "target", "median", "5%", "95%", "worst year", "P(met)"]


def _cells(r: Row) -> list[str]:
    return [
        r.output,
        r.shown_units,
        r.target,
        r.value_text(r.median),
        r.value_text(r.p5),
        r.value_text(r.p95),
        "-" if r.worst_year is None else f"{r.worst_year:g}",
        _fmt(r.p_met, pct=True),
    ]


def text_table(rows: list[Row]) -> str:
    """The table for a terminal."""
    body = [_cells(r) for r in rows]
    widths = [max(len(x) for x in col) for col in zip(_HEAD, *body, strict=True)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    out = [line(_HEAD), line(["-" * w for w in widths]), *map(line, body)]
    return "\n".join(out + _notes(rows))


def markdown_table(rows: list[Row]) -> str:
    out = ["| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    out += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    notes = _notes(rows)
    return "\n".join(out + (["", *notes] if notes else [])) + "\n"


def _notes(rows: list[Row]) -> list[str]:
    """What the measured values of the kinds present are."""
    kinds = {r.kind for r in rows if r.target != "-"}
    notes = {
        "every_year": "every year: median and 5-95 % of each run's worst yearly addition; "
        "worst year: the year with the worst median addition; met when every year is",
        "cumulative": "cumulative: the addition over the window, x(last) - x(first - 1)",
        "growth": "realised growth: (x(last) / x(first - 1))^(1/years) - 1, per year",
    }
    return [f"note: {notes[k]}" for k in ("every_year", "cumulative", "growth") if k in kinds]


def csv_table(rows: list[Row]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["output", "units", "target", "year", "median", "p5", "p95", "p_met"])
    for r in rows:
        w.writerow(
            [
                r.output,
                r.units,
                r.target,
                labels.year(r.year),
                r.median,
                r.p5,
                r.p95,
                "" if r.p_met is None else r.p_met,
            ]
        )
    return buf.getvalue()


def run_header(path: str | Path) -> dict[str, str]:
    """What a table or chart says it shows: scenario, seed, runs, model hash."""
    with open_complete(path) as h5:
        a = h5.attrs
        failed = int(a.get("n_failed", 0))
        return {
            "scenario": Path(str(a.get("scenario_file", path))).stem,
            "seed": str(a.get("seed", "-")),
            "runs": f"{int(a['runs']):,}" + (f" ({failed:,} failed)" if failed else ""),
            "model hash": str(a.get("model_hash", "-"))[:12],
        }


def header_block(info: dict[str, str]) -> str:
    """The Markdown lines above a table."""
    return "\n".join(f"- **{k}**: {v}" for k, v in info.items()) + "\n\n"
