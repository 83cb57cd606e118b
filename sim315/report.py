"""Reports from result files: the target table, CSV/Markdown, fan charts, comparisons.

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

from .errors import Sim315Error
from .store import PERCENTILES


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


def _open(path: str | Path) -> h5py.File:
    path = Path(path)
    if not path.is_file():
        hint = " (an interrupted run leaves <name>.partial; continue it with --resume)"
        raise Sim315Error(str(path), "", "no such result file" + hint, "check the path")
    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise Sim315Error(
            str(path), "", "is not an HDF5 result file", "give a file made by sim315 run"
        ) from None
    if "summary" not in h5 or not h5.attrs.get("complete", False):
        h5.close()
        raise Sim315Error(str(path), "", "is not a complete sim315 result file", "rerun it")
    return h5


def _pct(name: str, h5: h5py.File, k: int) -> tuple[float, float, float]:
    q = h5["summary"][name][:, k]
    idx = {p: i for i, p in enumerate(PERCENTILES)}
    return float(q[idx[50.0]]), float(q[idx[5.0]]), float(q[idx[95.0]])


def target_rows(path: str | Path) -> list[Row]:
    """The target table; outputs without targets are listed at the final time."""
    with _open(path) as h5:
        times = h5["time"][:]
        names = json.loads(h5.attrs["outputs"])
        targets = [t.decode() if isinstance(t, bytes) else t for t in h5["summary/target"][:]]
        p_met = dict(zip(targets, h5["summary/p_met"][:], strict=True))
        rows = []
        for name in names:
            ds = h5[name]
            raw = ds.attrs.get("target")
            units = ds.attrs.get("units", "")
            if raw:
                from .modelfile import Target

                tgt = Target.model_validate_json(raw)
                k = int(np.argmin(np.abs(times - tgt.year)))
                med, lo, hi = _pct(name, h5, k)
                rows.append(
                    Row(
                        name,
                        units,
                        tgt.describe(),
                        float(times[k]),
                        med,
                        lo,
                        hi,
                        float(p_met[name]),
                    )
                )
        if not rows:
            k = times.size - 1
            for name in names:
                med, lo, hi = _pct(name, h5, k)
                units = h5[name].attrs.get("units", "")
                rows.append(Row(name, units, "-", float(times[k]), med, lo, hi, None))
        return rows


def run_info(path: str | Path) -> dict:
    with _open(path) as h5:
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
    return f"{v:.4g}"


_HEAD = ["output", "units", "target", "year", "median", "5%", "95%", "P(met)"]


def _cells(r: Row) -> list[str]:
    return [
        r.output,
        r.units,
        r.target,
        f"{r.year:g}",
        _fmt(r.median),
        _fmt(r.p5),
        _fmt(r.p95),
        _fmt(r.p_met, pct=True),
    ]


def text_table(rows: list[Row]) -> str:
    """The table for a terminal."""
    body = [_cells(r) for r in rows]
    widths = [max(len(x) for x in col) for col in zip(_HEAD, *body, strict=True)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(_HEAD), line(["-" * w for w in widths]), *map(line, body)])


def markdown_table(rows: list[Row]) -> str:
    out = ["| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    out += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(out) + "\n"


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
                r.year,
                r.median,
                r.p5,
                r.p95,
                "" if r.p_met is None else r.p_met,
            ]
        )
    return buf.getvalue()


def write_report(path: str | Path, outdir: str | Path, group: str | None = None) -> list[Path]:
    """Tables (CSV, Markdown) and figures (PNG) of a result file into ``outdir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Sim315Error(
            str(outdir), "--out", f"cannot create the folder ({exc.strerror})"
        ) from None
    rows = target_rows(path)
    written = []
    for name, text in (("targets.csv", csv_table(rows)), ("targets.md", markdown_table(rows))):
        p = outdir / name
        p.write_text(text, encoding="utf-8")
        written.append(p)
    with _open(path) as h5:
        times = h5["time"][:]
        units = h5.attrs.get("time_units", "")
        for r in rows:
            fig, ax = plt.subplots(figsize=(7, 4.2))
            q = h5["summary"][r.output][:]
            ax.fill_between(times, q[0], q[4], alpha=0.25, color="C0", label="90% of runs")
            ax.fill_between(times, q[1], q[3], alpha=0.45, color="C0", label="50% of runs")
            ax.plot(times, q[2], color="C0", lw=2, label="median")
            raw = h5[r.output].attrs.get("target")
            if raw:
                _mark_target(ax, json.loads(raw))
            ax.set_title(f"{r.output}" + (f" — target {r.target}" if raw else ""))
            ax.set_xlabel(f"time ({units})")
            ax.set_ylabel(r.units)
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize=8)
            fig.tight_layout()
            p = outdir / f"fan_{r.output}.png"
            fig.savefig(p, dpi=110)
            plt.close(fig)
            written.append(p)
        groups = json.loads(h5.attrs.get("groups", "{}"))
        saved = json.loads(h5.attrs["outputs"])
        if group is not None and group not in groups:
            from .errors import suggest

            raise Sim315Error(
                str(path), "--group", f"no stock group '{group}'", suggest(group, groups)
            )
        for gname, members in groups.items():
            if group is not None and gname != group:
                continue
            members = [m for m in members if m in saved]
            if not members:
                continue
            fig, ax = plt.subplots(figsize=(7, 4.2))
            for i, m in enumerate(members):
                q = h5["summary"][m][:]
                ax.fill_between(times, q[0], q[4], alpha=0.15, color=f"C{i}")
                ax.plot(times, q[2], color=f"C{i}", lw=2, label=m)
            ax.set_title(f"stocks: {gname} (median, 90% band)")
            ax.set_xlabel(f"time ({units})")
            member_units = {str(h5[m].attrs.get("units", "")) for m in members}
            if len(member_units) == 1:
                ax.set_ylabel(member_units.pop())
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize=8)
            fig.tight_layout()
            p = outdir / f"stocks_{gname}.png"
            fig.savefig(p, dpi=110)
            plt.close(fig)
            written.append(p)
    return written


def _mark_target(ax, t: dict) -> None:
    v = t["value"]
    if isinstance(v, list):
        ax.axhspan(v[0], v[1], color="C3", alpha=0.12, label="target range")
    else:
        ax.axhline(v, color="C3", ls="--", lw=1.2, label=f"target {t['compare']} {v:g}")
    ax.axvline(t["year"], color="C3", ls=":", lw=1)


def compare_text(a: str | Path, b: str | Path, markdown: bool = False) -> str:
    """Two result files' tables side by side, with differences (B - A)."""
    ra = {r.output: r for r in target_rows(a)}
    rb = {r.output: r for r in target_rows(b)}
    names = [n for n in ra if n in rb] + [n for n in rb if n not in ra]
    head = ["output", "target", "median A", "median B", "B-A", "P(met) A", "P(met) B", "B-A"]
    if markdown:
        head = [
            "output",
            "target",
            "A: median",
            "A: 5-95 %",
            "A: P(met)",
            "B: median",
            "B: 5-95 %",
            "B: P(met)",
        ]
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for n in names:
            x, y = ra.get(n), rb.get(n)
            cells = [n, (x or y).target]
            for r in (x, y):
                cells += (
                    ["-", "-", "-"]
                    if r is None
                    else [_fmt(r.median), f"{_fmt(r.p5)} – {_fmt(r.p95)}", _fmt(r.p_met, True)]
                )
            out.append("| " + " | ".join(cells) + " |")
        return "\n".join([f"A: {a}, B: {b}", "", *out]) + "\n"
    body = []
    for n in names:
        x, y = ra.get(n), rb.get(n)
        med_a = x.median if x else None
        med_b = y.median if y else None
        pa = x.p_met if x else None
        pb = y.p_met if y else None
        d_med = med_b - med_a if med_a is not None and med_b is not None else None
        d_p = pb - pa if pa is not None and pb is not None else None
        body.append(
            [
                n,
                (x or y).target,
                _fmt(med_a),
                _fmt(med_b),
                "-" if d_med is None else f"{d_med:+.4g}",
                _fmt(pa, True),
                _fmt(pb, True),
                "-" if d_p is None else f"{100 * d_p:+.0f} pts",
            ]
        )
    widths = [max(len(c) for c in col) for col in zip(head, *body, strict=True)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join(
        [f"A: {a}", f"B: {b}", line(head), line(["-" * w for w in widths]), *map(line, body)]
    )
