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

from ..core.errors import Sim315Error
from ..results.layout import PERCENTILES
from ..results.reader import open_complete, texts
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
        times = h5["time"][:]
        names = json.loads(h5.attrs["outputs"])
        s = h5["summary"]
        ids = texts(s["target"])
        rows = []
        if "target_value" in s:  # files with the measured values
            q = s["target_value"][:]
            idx = {p: i for i, p in enumerate(PERCENTILES)}
            elements = texts(s["target_element"])
            defs = texts(s["target_definition"])
            worst = s["target_worst_year"][:]
            for i, tid in enumerate(ids):
                from ..language.targets import load

                tgt = load(defs[i])
                el = elements[i]
                rows.append(
                    Row(
                        tid,
                        str(h5[el].attrs.get("units", "")),
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
        else:  # older files: level targets at the nearest saved time
            from ..language.targets import load

            p_met = dict(zip(ids, s["p_met"][:], strict=True))
            for name in names:
                raw = h5[name].attrs.get("target")
                if raw:
                    tgt = load(raw)
                    k = int(np.argmin(np.abs(times - tgt.last_year)))
                    med, lo, hi = _pct(name, h5, k)
                    units = str(h5[name].attrs.get("units", ""))
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
                            name,
                        )
                    )
        if not rows:
            k = times.size - 1
            for name in names:
                med, lo, hi = _pct(name, h5, k)
                units = h5[name].attrs.get("units", "")
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


def _thousands(ax) -> None:
    """Numbers on the y axis with thousands separators; years on the x axis as 2027."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: labels.number(v)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: labels.year(v)))


def _save(fig, outdir: Path, stem: str) -> list[Path]:
    import matplotlib.pyplot as plt

    out = []
    for ext in ("png", "svg"):
        p = outdir / f"{stem}.{ext}"
        fig.savefig(p, dpi=110)
        out.append(p)
    plt.close(fig)
    return out


def _scale_panels(members: list[str], scale: dict[str, float], units: dict[str, str]):
    """Members grouped so that each panel's largest value is at most 5x its smallest's
    (a 45,000-firm stock never flattens a 20-firm one), and each panel has one unit."""
    panels: list[list[str]] = []
    for m in sorted(members, key=lambda m: (units[m], -scale[m])):
        last = panels[-1] if panels else None
        if last and units[last[0]] == units[m] and scale[m] * 5 >= scale[last[0]] > 0:
            last.append(m)
        else:
            panels.append([m])
    return panels


def write_report(path: str | Path, outdir: str | Path, group: str | None = None) -> list[Path]:
    """Tables (CSV, Markdown) and figures (PNG and SVG) of a result file into ``outdir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .fonts import use_cjk_fonts

    use_cjk_fonts()
    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Sim315Error(
            str(outdir), "--out", f"cannot create the folder ({exc.strerror})"
        ) from None
    rows = target_rows(path)
    info = run_header(path)
    written = []
    md = header_block(info) + markdown_table(rows)
    for name, text in (("targets.csv", csv_table(rows)), ("targets.md", md)):
        p = outdir / name
        p.write_text(text, encoding="utf-8")
        written.append(p)
    about = f"{info['scenario']}, {info['runs']} runs, seed {info['seed']}"
    with open_complete(path) as h5:
        times = h5["time"][:]
        ok = h5["run_status"][:] == 0
        for r in rows:
            fig, ax = plt.subplots(figsize=(7.5, 4.6))
            el = r.element or r.output
            raw = h5[el].attrs.get("target")
            tgt = None
            if raw and r.target != "-":
                from ..language.targets import load

                tgt = load(raw)
            if tgt is not None and tgt.kind == "every_year":
                _additions_chart(ax, h5, r, tgt, times, ok)
            else:
                q = h5["summary"][el][:]
                ax.fill_between(times, q[0], q[4], alpha=0.25, color="C0", label="90% of runs")
                ax.fill_between(times, q[1], q[3], alpha=0.45, color="C0", label="50% of runs")
                ax.plot(times, q[2], color="C0", lw=2, label="median")
                if tgt is not None:
                    _mark_target(ax, tgt, times, q[2])
                ax.set_xlabel("year")
                ax.set_ylabel(labels.units(r.units))
            _thousands(ax)
            title = labels.title(el, str(h5[el].attrs.get("long_name", "")))
            sub = f"{about}"
            if tgt is not None:
                sub = f"target {r.target}: P(met) {labels.percent(r.p_met)}  ·  {about}"
            fig.suptitle(title, fontsize=12, x=0.01, ha="left")
            ax.set_title(sub, fontsize=8.5, loc="left", color="#444")
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize=8)
            fig.tight_layout()
            written += _save(fig, outdir, f"fan_{r.output}")
        groups = json.loads(h5.attrs.get("groups", "{}"))
        saved = json.loads(h5.attrs["outputs"])
        if group is not None and group not in groups:
            from ..core.errors import suggest

            raise Sim315Error(
                str(path), "--group", f"no stock group '{group}'", suggest(group, groups)
            )
        for gname, members in groups.items():
            if group is not None and gname != group:
                continue
            members = [m for m in members if m in saved]
            if not members:
                continue
            q = {m: h5["summary"][m][:] for m in members}
            scale = {m: float(np.nanmax(np.abs(q[m][2]), initial=0.0)) for m in members}
            units = {m: str(h5[m].attrs.get("units", "")) for m in members}
            panels = _scale_panels(members, scale, units)
            fig, axes = plt.subplots(
                len(panels), 1, figsize=(7.5, 1.2 + 2.4 * len(panels)), sharex=True, squeeze=False
            )
            for ax, panel in zip(axes[:, 0], panels, strict=True):
                for m in panel:
                    i = members.index(m)
                    name = labels.title(m, str(h5[m].attrs.get("long_name", "")))
                    ax.fill_between(times, q[m][0], q[m][4], alpha=0.15, color=f"C{i}")
                    ax.plot(times, q[m][2], color=f"C{i}", lw=2, label=name)
                ax.set_ylabel(labels.units(units[panel[0]]))
                ax.set_ylim(bottom=min(0.0, float(np.nanmin([q[m][0] for m in panel]))))
                _thousands(ax)
                ax.grid(alpha=0.3)
                ax.legend(loc="best", fontsize=7.5)
            axes[-1, 0].set_xlabel("year")
            fig.suptitle(f"Stocks: {gname} (median and 90% of runs)", fontsize=12, x=0.01,
                         ha="left")  # fmt: skip
            axes[0, 0].set_title(about, fontsize=8.5, loc="left", color="#444")
            fig.tight_layout()
            written += _save(fig, outdir, f"stocks_{gname}")
    return written


def _accepted(t) -> tuple[float, float]:
    """The range of measured values that meet the target (an end may be infinite)."""
    v, inf = t.value, np.inf
    if t.compare in (">", ">="):
        return v, inf
    if t.compare in ("<", "<="):
        return -inf, v
    if t.compare == "~":
        lo, hi = v - t.tolerance * abs(v), v + t.tolerance * abs(v)
        return lo, (inf if t.overshoot == "met" else hi)
    return v[0], (inf if t.overshoot == "met" else v[1])


def _met_text(lo: float, hi: float, pct: bool = False) -> str:
    def f(x: float) -> str:
        return f"{100 * x:.3g} %/yr" if pct else _fmt(x)

    if np.isinf(hi):
        return f"met: ≥ {f(lo)}"
    if np.isinf(lo):
        return f"met: ≤ {f(hi)}"
    return f"met: {f(lo)} to {f(hi)}"


def _rounded(t) -> str:
    return " (rounded to whole numbers)" if t.count else ""


def _band(ax, lo: float, hi: float) -> tuple[float, float]:
    """``[lo, hi]`` clipped to the axes (infinite ends reach the edge), with headroom above
    the highest line so that a band above it shows."""
    y0, y1 = ax.get_ylim()
    y1 += 0.08 * (y1 - y0)
    ax.set_ylim(y0, y1)
    return max(lo, y0), min(hi, y1)


def _mark_target(ax, t, times, median) -> None:
    """The target on a fan chart of the output: its values and the range that meets it at
    the year (level) or at the window's end (cumulative, growth), the window shaded."""
    from ..language.targets import time_index

    lo, hi = _accepted(t)
    goals = list(t.value) if isinstance(t.value, tuple) else [t.value]
    if t.kind == "level":
        for g in goals:
            ax.axhline(g, color="C3", ls="--", lw=1.2)
        band = _band(ax, lo, hi)
        ax.axhspan(*band, color="C3", alpha=0.10, label=_met_text(lo, hi) + _rounded(t))
        ax.axvline(t.year, color="C3", ls=":", lw=1)
        return
    first, last = t.window
    ax.axvspan(first - 1, last, color="C2", alpha=0.08, label=f"window {first:g}–{last:g}")
    k = time_index(times, first - 1)
    if k is None:
        return
    x0 = float(median[k])
    growth = t.kind == "growth"
    xs = np.linspace(first - 1, last, 50)

    def path(g: float) -> np.ndarray:
        """The median start plus the target's addition, or grown at the target's rate."""
        if growth:
            return x0 * (1 + g) ** (xs - (first - 1))
        return x0 + g * (xs - (first - 1)) / (last - first + 1)

    for g in goals:
        text = f"{100 * g:.3g} %/yr" if growth else f"+ {g:g}"
        ax.plot(xs, path(g), color="C3", ls="--", lw=1.2, label=f"median start {text}")
    ends = [path(x)[-1] if np.isfinite(x) else x for x in (lo, hi)]
    label = f"{_met_text(lo, hi, growth)} by {last:g}{_rounded(t)}"
    ax.vlines(last, *_band(ax, *ends), color="C3", lw=7, alpha=0.35, label=label)


def _additions_chart(ax, h5, r: Row, t, times, ok) -> None:
    """every_year: each year's addition over the runs (median, 50 % and 90 %) and the target."""
    from ..language.targets import measure

    cols = [i for i, y in enumerate(times) if any(abs(y - n) < 1e-9 for n in t.years_needed())]
    m = measure(t, h5[r.element][:, cols][ok], times[cols])
    a = m.additions
    q = (
        np.percentile(a, [5, 25, 50, 75, 95], axis=0)
        if a.shape[0]
        else np.full((5, a.shape[1]), np.nan)
    )
    yrs = m.years
    ax.vlines(yrs, q[0], q[4], color="C0", lw=2, alpha=0.45, label="90% of runs")
    ax.vlines(yrs, q[1], q[3], color="C0", lw=9, alpha=0.6, label="50% of runs")
    ax.plot(yrs, q[2], "o", color="C0", ms=6, label="median")
    for y, med in zip(yrs, q[2], strict=True):
        ax.annotate(
            f"{med:.3g}",
            (y, med),
            xytext=(8, 0),
            textcoords="offset points",
            fontsize=8,
            va="center",
        )
    for g in list(t.value) if isinstance(t.value, tuple) else [t.value]:
        ax.axhline(g, color="C3", ls="--", lw=1.2)
    lo, hi = _accepted(t)
    ax.set_ylim(bottom=min(0, float(np.nanmin(q[0])) if np.isfinite(q[0]).any() else 0))
    ax.axhspan(
        *_band(ax, lo, hi),
        color="C3",
        alpha=0.10,
        label=_met_text(lo, hi) + " every year" + _rounded(t),
    )
    if r.worst_year is not None:
        ax.axvline(r.worst_year, color="C1", ls=":", lw=1, label=f"worst year {r.worst_year:g}")
    ax.set_xticks(yrs)
    ax.set_xticklabels([f"{y:g}" for y in yrs])
    ax.set_xlim(yrs[0] - 0.6, yrs[-1] + 0.9)
    ax.set_xlabel("year of the addition (x(y) - x(y-1))")
    ax.set_ylabel(f"{labels.units(r.units)} added in the year")


def _diff_text(r: Row, d: float | None) -> str:
    if d is None:
        return "-"
    return f"{100 * d:+.2g} pts/yr" if r.kind == "growth" else f"{d:+.4g}"


def compare_text(a: str | Path, b: str | Path, markdown: bool = False, force: bool = False) -> str:
    """Two result files' tables side by side, with differences A - B (A the policy, B the
    baseline).

    Files made from different model files, or whose targets are defined differently, are
    refused unless ``force``. When both share the seed and sampler (and run count), run *i*
    of A and run *i* of B drew the same uncertain inputs, and the differences are also given
    run by run: the median and 5-95 % of the paired difference, and the share of runs where
    A meets a target that B misses.
    """
    check_comparable(a, b, force)
    ra = {r.output: r for r in target_rows(a)}
    rb = {r.output: r for r in target_rows(b)}
    names = [n for n in ra if n in rb] + [n for n in rb if n not in ra]
    paired = paired_differences(a, b)
    if markdown:
        return _compare_markdown(a, b, ra, rb, names, paired)
    head = ["output", "target", "median A", "median B", "A-B", "P(met) A", "P(met) B", "A-B"]
    if paired:
        head += ["paired A-B: median [5-95 %]", "A met, B not"]
    body = []
    for n in names:
        x, y = ra.get(n), rb.get(n)
        med_a = x.median if x else None
        med_b = y.median if y else None
        pa = x.p_met if x else None
        pb = y.p_met if y else None
        d_med = med_a - med_b if med_a is not None and med_b is not None else None
        d_p = pa - pb if pa is not None and pb is not None else None
        row = [
            n,
            (x or y).target,
            (x or y).value_text(med_a),
            (x or y).value_text(med_b),
            _diff_text(x or y, d_med),
            _fmt(pa, True),
            _fmt(pb, True),
            "-" if d_p is None else f"{100 * d_p:+.0f} pts",
        ]
        if paired:
            row += _paired_cells(x or y, paired.get(n))
        body.append(row)
    widths = [max(len(c) for c in col) for col in zip(head, *body, strict=True)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    note = (
        ["paired: both files share seed, sampler and run count, so run i of A is run i of B"]
        if paired
        else []
    )
    return "\n".join(
        [
            f"A: {a}",
            f"B: {b}",
            *note,
            line(head),
            line(["-" * w for w in widths]),
            *map(line, body),
        ]
    )


def _paired_cells(r: Row, d: dict | None) -> list[str]:
    if d is None:
        return ["-", "-"]
    band = f"{_diff_text(r, d['median'])} [{_diff_text(r, d['p5'])}, {_diff_text(r, d['p95'])}]"
    return [band, _fmt(d["a_only"], True)]


def _identity(path: str | Path) -> dict:
    """What must agree for two files to be compared: the model file and the targets."""
    import hashlib

    with open_complete(path) as h5:
        text = str(h5.attrs.get("model_text", ""))
        s = h5["summary"]
        defs = {}
        if "target_definition" in s:
            defs = dict(zip(texts(s["target"]), texts(s["target_definition"]), strict=True))
        return {
            "model": hashlib.sha256(text.encode()).hexdigest()[:12],
            "model_name": str(h5.attrs.get("model_name", "")),
            "targets": defs,
            "pairing": (
                str(h5.attrs.get("seed_entropy", "")),
                str(h5.attrs.get("sampler", "")),
                int(h5.attrs.get("runs", -1)),
            ),
        }


def check_comparable(a: str | Path, b: str | Path, force: bool = False) -> None:
    """Refuse two files of different models or target definitions, unless ``force``."""
    ia, ib = _identity(a), _identity(b)
    if force:
        return
    if ia["model"] != ib["model"]:
        raise Sim315Error(
            str(b),
            "model",
            f"was made from another model file than {a} ('{ib['model_name']}' "
            f"{ib['model']} vs '{ia['model_name']}' {ia['model']})",
            "compare runs of one model, or pass --force",
        )
    for tid in sorted(ia["targets"].keys() | ib["targets"].keys()):
        if ia["targets"].get(tid) != ib["targets"].get(tid):
            state = "is missing" if tid not in ib["targets"] else "is defined differently"
            raise Sim315Error(
                str(b),
                f"target {tid}",
                f"{state} than in {a}",
                "compare runs with the same targets, or pass --force",
            )


def paired_differences(a: str | Path, b: str | Path) -> dict[str, dict]:
    """Per target, the run-by-run difference A - B of the measured value, when the files
    share seed, sampler and run count (else empty); runs that failed in either are left out.
    """
    from ..language import targets as tg

    if _identity(a)["pairing"] != _identity(b)["pairing"]:
        return {}
    out: dict[str, dict] = {}
    with open_complete(a) as ha, open_complete(b) as hb:
        sa, sb = ha["summary"], hb["summary"]
        if "target_definition" not in sa or "target_definition" not in sb:
            return {}
        ok = (ha["run_status"][:] == 0) & (hb["run_status"][:] == 0)
        ids_b = set(texts(sb["target"]))
        for tid, el, raw in zip(
            texts(sa["target"]),
            texts(sa["target_element"]),
            texts(sa["target_definition"]),
            strict=True,
        ):
            if tid not in ids_b or el not in hb:
                continue
            tgt = tg.load(raw)
            values = []
            for h5 in (ha, hb):
                times = h5["time"][:]
                cols = sorted({tg.time_index(times, y) for y in tgt.years_needed()} - {None})
                values.append(tg.measure(tgt, h5[el][:, cols], times[cols]))
            ma, mb = values
            d = (ma.value - mb.value)[ok]
            d = d[np.isfinite(d)]
            if not d.size:
                continue
            p5, med, p95 = np.percentile(d, [5.0, 50.0, 95.0])
            a_only = np.count_nonzero(ma.met[ok] & ~mb.met[ok]) / max(1, ok.size)
            out[tid] = {
                "median": float(med),
                "p5": float(p5),
                "p95": float(p95),
                "a_only": float(a_only),
            }
    return out


_KINDS = ("level", "every_year", "cumulative", "growth")
_KIND_NAMES = {
    "level": "level in a year",
    "every_year": "every year",
    "cumulative": "cumulative",
    "growth": "realised growth",
}


def _compare_markdown(a, b, ra: dict, rb: dict, names: list[str], paired=None) -> str:
    """Rows grouped by target kind (median, 90 % interval, P(met) of each file), then
    P(met) by kind: the mean over the kind's targets and how many are met in most runs."""
    head = ["output", "kind", "target", "A: median", "A: 5-95 %", "A: P(met)"]
    head += ["B: median", "B: 5-95 %", "B: P(met)"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = {k: i for i, k in enumerate(_KINDS)}
    names = sorted(names, key=lambda n: order.get((ra.get(n) or rb.get(n)).kind, len(_KINDS)))
    for n in names:
        x, y = ra.get(n), rb.get(n)
        first = x or y
        cells = [n, _KIND_NAMES.get(first.kind, first.kind), first.target]
        for r in (x, y):
            cells += (
                ["-", "-", "-"]
                if r is None
                else [
                    r.value_text(r.median),
                    f"{r.value_text(r.p5)} – {r.value_text(r.p95)}",
                    _fmt(r.p_met, True),
                ]
            )
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "| kind | targets | A: mean P(met) | A: met in ≥ 50 % of runs | "
        "B: mean P(met) | B: met in ≥ 50 % of runs |",
        "|---|---|---|---|---|---|",
    ]
    for kind in _KINDS:
        cells = [_KIND_NAMES[kind]]
        groups = [[r for r in rows.values() if r.kind == kind] for rows in (ra, rb)]
        if not any(groups):
            continue
        cells.append(str(max(len(g) for g in groups)))
        for g in groups:
            p = [r.p_met for r in g if r.p_met is not None]
            cells += [
                _fmt(float(np.mean(p)), True) if p else "-",
                f"{sum(v >= 0.5 for v in p)} of {len(p)}",
            ]
        out.append("| " + " | ".join(cells) + " |")
    if paired:
        out += [
            "",
            "Paired differences A - B (run i of A and of B drew the same inputs):",
            "",
            "| output | A - B: median | A - B: 5-95 % | A met, B not |",
            "|---|---|---|---|",
        ]
        for n in names:
            r, d = ra.get(n) or rb.get(n), paired.get(n)
            if d is None:
                continue
            band = f"{_diff_text(r, d['p5'])} – {_diff_text(r, d['p95'])}"
            out.append(
                f"| {n} | {_diff_text(r, d['median'])} | {band} | {_fmt(d['a_only'], True)} |"
            )
    return "\n".join([f"A: {a}, B: {b}", "", *out]) + "\n"
