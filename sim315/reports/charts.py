"""Static charts of a result file: fan charts of each output with its targets, PNG and SVG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.errors import Sim315Error
from ..core.textfile import make_folder
from ..results.reader import has_target_runs, open_complete, output_attrs, target_runs
from . import labels
from .facets import arrays_saved, element_figure
from .report import Row, _fmt, csv_table, header_block, markdown_table, run_header, target_rows


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
    from .fonts import use_cjk_fonts

    use_cjk_fonts()
    outdir = make_folder(outdir)
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
        for r in rows:
            written += _save(_fan_figure(h5, r, about), outdir, f"fan_{r.output}")
        groups = _stock_groups(h5, path, group)
        arrays = arrays_saved(json.loads(h5.attrs["outputs"]))  # a panel per element
        if group is not None:
            arrays = {a: els for a, els in arrays.items() if set(els) & set(groups[group])}
        drawn = {m for els in arrays.values() for m in els}
        for gname, members in groups.items():
            members = [m for m in members if m not in drawn]
            if members:
                fig = _stocks_figure(h5, gname, members, about)
                written += _save(fig, outdir, f"stocks_{gname}")
        for array, els in arrays.items():
            units = str(output_attrs(h5, els[0]).get("units", ""))
            fig = element_figure(h5, array, els, about, units)
            written += _save(fig, outdir, f"elements_{array}")
    return written


def _fan_figure(h5, r: Row, about: str):
    """One output's fan chart with its target (an every_year target: its additions)."""
    import matplotlib.pyplot as plt

    times = h5["time"][:]
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    el = r.element or r.output
    raw = output_attrs(h5, el).get("target")
    tgt = None
    if raw and r.target != "-":
        from ..schemas.target import Target

        tgt = Target.from_json(raw)
    if tgt is not None and tgt.kind == "every_year" and has_target_runs(h5, el):
        _additions_chart(ax, h5, r, tgt, times, h5["run_status"][:] == 0)
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
    title = labels.title(el, str(output_attrs(h5, el).get("long_name", "")))
    sub = f"{about}"
    if tgt is not None:
        sub = f"target {r.target}: P(met) {labels.percent(r.p_met)}  ·  {about}"
    fig.suptitle(title, fontsize=12, x=0.01, ha="left")
    ax.set_title(sub, fontsize=8.5, loc="left", color="#444")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def _stock_groups(h5, path, group: str | None) -> dict[str, list[str]]:
    """The stock groups to draw (only ``group`` when given), each with its saved members."""
    groups = json.loads(h5.attrs.get("groups", "{}"))
    saved = json.loads(h5.attrs["outputs"])
    if group is not None and group not in groups:
        from ..core.errors import suggest

        raise Sim315Error(str(path), "--group", f"no stock group '{group}'", suggest(group, groups))
    out = {}
    for gname, members in groups.items():
        if group is not None and gname != group:
            continue
        members = [m for m in members if m in saved]
        if members:
            out[gname] = members
    return out


def _stocks_figure(h5, gname: str, members: list[str], about: str):
    """A group's stocks, median and 90 % of runs, on panels of similar scale and one unit."""
    import matplotlib.pyplot as plt

    times = h5["time"][:]
    q = {m: h5["summary"][m][:] for m in members}
    scale = {m: float(np.nanmax(np.abs(q[m][2]), initial=0.0)) for m in members}
    units = {m: str(output_attrs(h5, m).get("units", "")) for m in members}
    panels = _scale_panels(members, scale, units)
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(7.5, 1.2 + 2.4 * len(panels)), sharex=True, squeeze=False
    )
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        for m in panel:
            i = members.index(m)
            name = labels.title(m, str(output_attrs(h5, m).get("long_name", "")))
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
    return fig


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

    x, when = target_runs(h5, r.element, t.years_needed())
    m = measure(t, x[ok], when)
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
