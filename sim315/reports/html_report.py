"""``sim315 report FILE... --html OUT.html``: one self-contained results explorer.

The page holds everything (Plotly's JavaScript inlined, the data as JSON), needs no server
and can be e-mailed. It shows, for one or more result files: a traffic-light P(met) table by
target and target kind; fan charts with the target and its accepted ("≈") band, the
scenarios overlaid; paired policy - baseline differences per run (same seed and run count:
common random numbers); Sobol' bars of a sweep file; and each file's provenance.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ..core.errors import Sim315Error
from ..results.reader import open_complete
from . import labels
from .charts import _accepted
from .compare import _KIND_NAMES, _KINDS
from .report import Row, target_rows

#: P(met) at or above LIKELY is green, below UNLIKELY red, amber between (IPCC's words).
LIKELY, UNLIKELY = 2 / 3, 1 / 3
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
PROVENANCE = (
    "scenario_file", "model_name", "model_hash", "runs", "n_failed", "seed", "seed_entropy",
    "sampler", "method", "dt", "save_every", "created_utc", "sim315_version",
    "numba_version", "numpy_version", "python_version",
)  # fmt: skip


@dataclass
class Scenario:
    """One result file, read once."""

    path: Path
    name: str
    attrs: dict
    rows: list[Row]
    times: np.ndarray
    summary: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, tuple[str, str]] = field(default_factory=dict)
    """element -> (title, friendly units)."""
    measured: dict[str, np.ndarray] = field(default_factory=dict)
    """target id -> the measured value of every run (NaN for failed runs)."""
    met: dict[str, np.ndarray] = field(default_factory=dict)


def _scenario(path: Path) -> Scenario:
    from ..language.targets import load, measure, time_index

    rows = target_rows(path)
    with open_complete(path) as h5:
        if "indices" in h5:
            raise Sim315Error(str(path), "FILE", "is a sweep file", "give it with --sweep")
        attrs = {k: _attr(v) for k, v in h5.attrs.items() if k != "model_text"}
        times = h5["time"][:]
        ok = h5["run_status"][:] == 0
        sc = Scenario(path, Path(str(attrs.get("scenario_file", path))).stem, attrs, rows, times)
        for r in rows:
            el = r.element or r.output
            if el not in sc.summary:
                sc.summary[el] = h5["summary"][el][:]
                a = h5[el].attrs
                sc.meta[el] = (
                    labels.title(el, str(a.get("long_name", ""))),
                    labels.units(str(a.get("units", ""))),
                )
            raw = h5[el].attrs.get("target")
            if raw and r.target != "-":
                tgt = load(raw)
                cols = sorted({time_index(times, y) for y in tgt.years_needed()} - {None})
                m = measure(tgt, h5[el][:, cols], times[cols])
                sc.measured[r.output] = np.where(ok, m.value, np.nan)
                sc.met[r.output] = m.met & ok
    return sc


def _attr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _light(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "none"
    return "green" if p >= LIKELY else ("red" if p < UNLIKELY else "amber")


def _cell(p: float | None) -> str:
    return f'<td class="light {_light(p)}">{labels.percent(p)}</td>'


def _esc(x) -> str:
    return html.escape(str(x))


def _value(r: Row, v: float | None) -> str:
    if r.kind == "growth" and v is not None and np.isfinite(v):
        return f"{100 * v:.1f}%/yr"
    return labels.number(v)


def _units(r: Row) -> str:
    if r.kind == "growth":
        return "%/yr"
    u = labels.units(r.units)
    return f"{u} a year" if r.kind == "every_year" else u


def _pmet_table(scens: list[Scenario]) -> str:
    head = "".join(f"<th>{_esc(s.name)}: median (5–95 %)</th><th>P(met)</th>" for s in scens)
    out = [
        '<table class="pmet"><thead><tr><th>target</th><th>what</th><th>target</th>',
        f"{head}</tr></thead><tbody>",
    ]
    by = [{r.output: r for r in s.rows} for s in scens]
    ids = list(dict.fromkeys(r.output for s in scens for r in s.rows))
    order = {k: i for i, k in enumerate(_KINDS)}
    first = {i: next(b[i] for b in by if i in b) for i in ids}
    ids.sort(key=lambda i: order.get(first[i].kind, len(_KINDS)))
    kind = None
    for i in ids:
        r0 = first[i]
        if r0.kind != kind:
            kind = r0.kind
            span = 3 + 2 * len(scens)
            name = _esc(_KIND_NAMES.get(kind, kind))
            out.append(f'<tr class="kind"><td colspan="{span}">{name}</td></tr>')
        el = r0.element or r0.output
        what = scens[0].meta.get(el, (el, ""))[0] if el in scens[0].meta else el
        cells = [f"<td><code>{_esc(i)}</code></td><td>{_esc(what)}</td><td>{_esc(r0.target)}</td>"]
        for b in by:
            r = b.get(i)
            if r is None:
                cells.append('<td>-</td><td class="light none">-</td>')
                continue
            band = f"{_value(r, r.median)} ({_value(r, r.p5)} – {_value(r, r.p95)})"
            cells.append(f"<td>{band}</td>{_cell(r.p_met)}")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    out.append('<table class="pmet kinds"><thead><tr><th>target kind</th><th>targets</th>')
    out.append("".join(f"<th>{_esc(s.name)}: mean P(met)</th>" for s in scens))
    out.append("".join(f"<th>{_esc(s.name)}: likely met</th>" for s in scens) + "</tr></thead>")
    for k in _KINDS:
        groups = [[r for r in s.rows if r.kind == k and r.p_met is not None] for s in scens]
        if not any(groups):
            continue
        row = [f"<td>{_esc(_KIND_NAMES[k])}</td><td>{max(len(g) for g in groups)}</td>"]
        row += [_cell(float(np.mean([r.p_met for r in g])) if g else None) for g in groups]
        row += [f"<td>{sum(r.p_met >= LIKELY for r in g)} of {len(g)}</td>" for g in groups]
        out.append("<tr>" + "".join(row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _fan(r: Row, scens: list[Scenario]):
    import plotly.graph_objects as go

    from ..language.targets import load

    el = r.element or r.output
    fig = go.Figure()
    for k, s in enumerate(scens):
        if el not in s.summary:
            continue
        q, t, c = s.summary[el], s.times, COLOURS[k % len(COLOURS)]
        for lo, hi, alpha, label in ((0, 4, 0.15, "90% of runs"), (1, 3, 0.3, "50% of runs")):
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=q[hi],
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    hoverinfo="skip",
                    legendgroup=s.name,
                )
            )
            fig.add_trace(go.Scatter(x=t, y=q[lo], mode="lines", line={"width": 0},
                                     fill="tonexty", fillcolor=_rgba(c, alpha),
                                     name=f"{s.name}: {label}", legendgroup=s.name,
                                     hoverinfo="skip"))  # fmt: skip
        fig.add_trace(go.Scatter(x=t, y=q[2], mode="lines", line={"color": c, "width": 2.5},
                                 name=f"{s.name}: median", legendgroup=s.name,
                                 hovertemplate="%{x:.0f}: %{y:,.4~g}"))  # fmt: skip
    raw = _target_json(scens, el)
    title, unit = scens[0].meta.get(el, (el, ""))
    if raw is not None:
        tgt = load(raw)
        if tgt.kind == "level":
            goals = list(tgt.value) if isinstance(tgt.value, tuple) else [tgt.value]
            for g in goals:
                fig.add_hline(y=g, line_dash="dash", line_color="#c0392b",
                              annotation_text=f"target {labels.number(g)}")  # fmt: skip
            lo, hi = _accepted(tgt)
            if np.isfinite(lo) and np.isfinite(hi):
                fig.add_hrect(y0=lo, y1=hi, fillcolor="#c0392b", opacity=0.12, line_width=0,
                              annotation_text="≈ band (met)")  # fmt: skip
            fig.add_vline(x=tgt.year, line_dash="dot", line_color="#c0392b")
        else:
            first, last = tgt.window
            note = f"{_KIND_NAMES[tgt.kind]} {first:g}–{last:g}"
            fig.add_vrect(x0=first - 1, x1=last, fillcolor="#27ae60", opacity=0.08, line_width=0,
                          annotation_text=note)  # fmt: skip
            if tgt.kind in ("cumulative", "growth"):
                _window_target(fig, tgt, scens[0], el)
    fig.update_layout(
        title={"text": f"{_esc(title)}<br><sub>{_esc(r.output)} · target {_esc(r.target)}</sub>"},
        yaxis={"title": unit, "tickformat": ",~r"},
        xaxis={"title": "year", "tickformat": "d"},
        height=380, margin={"l": 70, "r": 20, "t": 70, "b": 40},
        legend={"font": {"size": 10}}, template="plotly_white",
    )  # fmt: skip
    return fig


def _window_target(fig, tgt, s: Scenario, el: str) -> None:
    """Cumulative and growth targets: from the first scenario's median at the window's start,
    the target's path (dashed) and the range that meets it at the window's end (the ≈ band)."""
    from ..language.targets import time_index

    first, last = tgt.window
    k = time_index(s.times, first - 1)
    if k is None:
        return
    x0, years = float(s.summary[el][2, k]), last - first + 1
    top = float(np.nanmax(s.summary[el][4]))

    def reach(g: float) -> float:
        if not np.isfinite(g):
            return top if g > 0 else x0
        return x0 * (1 + g) ** years if tgt.kind == "growth" else x0 + g

    goals = list(tgt.value) if isinstance(tgt.value, tuple) else [tgt.value]
    for g in goals:
        fig.add_trace(_target_line([first - 1, last], [x0, reach(g)]))
    lo, hi = _accepted(tgt)
    fig.add_shape(type="rect", x0=last - 0.12, x1=last + 0.12, y0=reach(lo), y1=reach(hi),
                  fillcolor="#c0392b", opacity=0.3, line_width=0)  # fmt: skip
    band = "≈ band" if tgt.compare in ("~", "between") else "met"
    fig.add_annotation(x=last, y=reach(hi if np.isfinite(hi) else lo), text=band,
                       showarrow=False, yshift=10, font={"color": "#c0392b"})  # fmt: skip


def _target_line(x, y):
    import plotly.graph_objects as go

    return go.Scatter(x=x, y=y, mode="lines", line={"color": "#c0392b", "dash": "dash"},
                      name="target from the median start", hoverinfo="skip")  # fmt: skip


def _target_json(scens, el):
    for s in scens:
        with h5py.File(s.path, "r") as h5:
            raw = h5[el].attrs.get("target")
            if raw:
                return raw
    return None


def _paired(base: Scenario, pol: Scenario) -> tuple[str, object | None]:
    """Per-run differences policy - baseline of each target's measured value."""
    import plotly.graph_objects as go

    same = base.attrs.get("runs") == pol.attrs.get("runs") and str(
        base.attrs.get("seed_entropy")
    ) == str(pol.attrs.get("seed_entropy"))
    if not same:
        return (
            f"<p class='note'>{_esc(pol.name)} and {_esc(base.name)} were run with different "
            "seeds or run counts, so their runs are not paired: compare the fan charts.</p>",
            None,
        )
    rows_b = {r.output: r for r in base.rows}
    lines = [
        f"<table class='pmet'><thead><tr><th>target</th><th>units</th>"
        f"<th>median of {_esc(pol.name)} − {_esc(base.name)} per run</th><th>5–95 %</th>"
        "<th>ΔP(met)</th><th>runs met only under the policy</th>"
        "<th>runs met only under the baseline</th></tr></thead><tbody>"
    ]
    ys, xs, lo, hi = [], [], [], []
    for r in pol.rows:
        if r.output not in base.measured or r.output not in pol.measured:
            continue
        d = pol.measured[r.output] - base.measured[r.output]
        d = d[np.isfinite(d)]
        if not d.size:
            continue
        q5, q50, q95 = np.percentile(d, [5, 50, 95])
        dp = (r.p_met or 0) - (rows_b[r.output].p_met or 0)
        only_p = int(np.count_nonzero(pol.met[r.output] & ~base.met[r.output]))
        only_b = int(np.count_nonzero(base.met[r.output] & ~pol.met[r.output]))
        lines.append(
            f"<tr><td><code>{_esc(r.output)}</code></td><td>{_esc(_units(r))}</td>"
            f"<td>{_value(r, q50)}</td><td>{_value(r, q5)} – {_value(r, q95)}</td>"
            f"<td>{100 * dp:+.0f} pts</td><td>{only_p}</td><td>{only_b}</td></tr>"
        )
        scale = abs(rows_b[r.output].median) or 1.0
        ys.append(r.output)
        xs.append(100 * q50 / scale)
        lo.append(100 * (q50 - q5) / scale)
        hi.append(100 * (q95 - q50) / scale)
    lines.append("</tbody></table>")
    fig = go.Figure(
        go.Scatter(
            x=xs, y=ys, mode="markers", marker={"color": COLOURS[1], "size": 8},
            error_x={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo},
            name="median, 5–95 % of runs",
            hovertemplate="%{y}: %{x:+.1f}% of the baseline median",
        )
    )  # fmt: skip
    fig.add_vline(x=0, line_color="#555")
    fig.update_layout(
        title=f"{_esc(pol.name)} − {_esc(base.name)}, run by run (% of the baseline median)",
        xaxis={"title": "difference, % of the baseline's median", "ticksuffix": "%"},
        height=max(320, 22 * len(ys) + 120), margin={"l": 200, "r": 20, "t": 60, "b": 50},
        template="plotly_white",
    )  # fmt: skip
    return "\n".join(lines), fig


def _sobol(path: Path) -> list:
    import plotly.graph_objects as go

    with open_complete(path) as h5:
        if "indices" not in h5:
            raise Sim315Error(str(path), "--sweep", "holds no indices", "give a sim315 sweep file")
        g = h5["indices"]
        if g.attrs.get("method") != "sobol":
            raise Sim315Error(str(path), "--sweep", "is not a Sobol' sweep", "use method: sobol")
        factors = [x.decode() if isinstance(x, bytes) else str(x) for x in g["factor"][:]]
        outs = [x.decode() if isinstance(x, bytes) else str(x) for x in g["output"][:]]
        years = g["year"][:]
        k = int(np.argmin(np.abs(years - 2027))) if years.size else 0
        s1, st = g["S1"][:, k, :], g["ST"][:, k, :]
        c1, ct = g["S1_conf"][:, k, :], g["ST_conf"][:, k, :]
        long = {o: labels.title(o, str(h5[o].attrs.get("long_name", ""))) for o in outs}
    figs = []
    for i, o in enumerate(outs):
        order = np.argsort(st[i])
        f = [factors[j] for j in order]
        fig = go.Figure()
        fig.add_trace(go.Bar(y=f, x=st[i][order], orientation="h", name="total (ST)",
                             error_x={"type": "data", "array": ct[i][order]},
                             marker_color=COLOURS[0]))  # fmt: skip
        fig.add_trace(go.Bar(y=f, x=s1[i][order], orientation="h", name="first order (S1)",
                             error_x={"type": "data", "array": c1[i][order]},
                             marker_color=COLOURS[4]))  # fmt: skip
        fig.update_layout(
            title=f"{_esc(long[o])}<br><sub>{_esc(o)}, {labels.year(years[k])}: Sobol' "
            "indices</sub>",
            barmode="group", height=max(320, 26 * len(f) + 120), template="plotly_white",
            margin={"l": 200, "r": 20, "t": 70, "b": 40}, xaxis={"title": "share of variance"},
        )  # fmt: skip
        figs.append(fig)
    return figs


def _provenance(scens: list[Scenario]) -> str:
    head = "".join(f"<th>{_esc(s.name)}</th>" for s in scens)
    out = [f"<table class='prov'><thead><tr><th></th>{head}</tr></thead><tbody>"]
    for key in PROVENANCE:
        out.append(
            f"<tr><th>{_esc(key)}</th>"
            + "".join(f"<td>{_esc(s.attrs.get(key, '-'))}</td>" for s in scens)
            + "</tr>"
        )
    out.append("</tbody></table>")
    for s in scens:
        out.append(
            f"<details><summary>{_esc(s.name)}: scenario as run ({_esc(s.path.name)})</summary>"
            f"<pre>{_esc(s.attrs.get('scenario', ''))}</pre></details>"
        )
    return "\n".join(out)


def _baseline(scens: list[Scenario], baseline: Path | None) -> Scenario | None:
    if baseline is not None:
        for s in scens:
            if s.path.resolve() == Path(baseline).resolve():
                return s
        raise Sim315Error(str(baseline), "--baseline", "is not one of the files", "list it too")
    named = [s for s in scens if "baseline" in s.name]
    return named[0] if named and len(scens) > 1 else None


def write_html(
    paths: list[Path], out: Path, sweep: Path | None = None, baseline: Path | None = None
) -> Path:
    """Write the explorer page for result files ``paths`` (and a sweep file) to ``out``."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    if not paths:
        raise Sim315Error("report", "FILE", "no result file given", "name one or more .h5 files")
    scens = [_scenario(Path(p)) for p in paths]
    base = _baseline(scens, baseline)
    figs: list[str] = []

    def embed(fig) -> str:
        div = pio.to_html(fig, full_html=False, include_plotlyjs=False,
                          config={"displaylogo": False, "responsive": True})  # fmt: skip
        figs.append(div)
        return f'<div class="chart">{div}</div>'

    ids = list(dict.fromkeys(r.output for s in scens for r in s.rows))
    first = {i: next(r for s in scens for r in s.rows if r.output == i) for i in ids}
    fans = "\n".join(embed(_fan(first[i], scens)) for i in ids)
    diffs = ""
    if base is not None:
        for s in scens:
            if s is not base:
                table, fig = _paired(base, s)
                diffs += f"<h3>{_esc(s.name)} − {_esc(base.name)}</h3>{table}"
                diffs += embed(fig) if fig is not None else ""
    else:
        diffs = "<p class='note'>Give a baseline file (a file named baseline, or --baseline) "
        diffs += "to see paired differences.</p>"
    sobol = "".join(embed(f) for f in _sobol(Path(sweep))) if sweep is not None else ""
    info = ", ".join(
        f"{_esc(s.name)} ({int(s.attrs.get('runs', 0)):,} runs, seed {_esc(s.attrs.get('seed'))})"
        for s in scens
    )
    page = _PAGE.format(
        title=_esc("sim315 results: " + ", ".join(s.name for s in scens)),
        plotly=get_plotlyjs(),
        info=info,
        likely=f"{100 * LIKELY:.0f}",
        unlikely=f"{100 * UNLIKELY:.0f}",
        pmet=_pmet_table(scens),
        fans=fans,
        diffs=diffs,
        sobol=sobol
        or "<p class='note'>No sweep file given (sim315 report ... --sweep SWEEP.h5).</p>",
        provenance=_provenance(scens),
        n_charts=len(figs),
    )
    out = Path(out)
    if not out.parent.is_dir():
        raise Sim315Error(str(out), "--html", "its folder does not exist", "create it first")
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise Sim315Error(str(out), "--html", f"cannot write ({exc.strerror})") from None
    return out


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script type="text/javascript">{plotly}</script>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1em 2em; color: #222; }}
nav a {{ margin-right: 1.2em; }}
table {{ border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }}
thead th {{ background: #f3f3f3; position: sticky; top: 0; }}
tr.kind td {{ background: #eef2f7; font-weight: 600; }}
td.light {{ text-align: center; font-weight: 600; }}
td.green {{ background: #c8e6c9; }} td.amber {{ background: #ffe0a3; }}
td.red {{ background: #f6c1c1; }} td.none {{ background: #eee; }}
.legend span {{ padding: 0.1em 0.6em; margin-right: 0.6em; }}
.chart {{ border: 1px solid #eee; margin: 0.6em 0; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 0.6em; }}
.note {{ color: #666; }} pre {{ background: #f7f7f7; padding: 0.6em; overflow-x: auto; }}
</style></head>
<body data-charts="{n_charts}">
<h1>Will the targets be met, and how likely?</h1>
<p>{info}</p>
<nav><a href="#pmet">P(met)</a><a href="#fans">fan charts</a><a href="#diffs">policy − baseline</a>
<a href="#sobol">Sobol' indices</a><a href="#provenance">provenance</a></nav>
<h2 id="pmet">P(target met) by target and target kind</h2>
<p class="legend"><span class="light green" style="background:#c8e6c9">likely ≥ {likely}%</span>
<span style="background:#ffe0a3">as likely as not</span>
<span style="background:#f6c1c1">unlikely &lt; {unlikely}%</span>
P(met) is the share of all runs meeting the target (failed runs do not).</p>
{pmet}
<h2 id="fans">Fan charts: median, 50 % and 90 % of runs, with the target</h2>
<div class="grid">{fans}</div>
<h2 id="diffs">Policy − baseline, run by run</h2>
<p class="note">Runs with the same number in two files share their uncertain inputs (same seed
and run count), so their difference isolates the policy.</p>
{diffs}
<h2 id="sobol">What drives the outcomes: Sobol' indices</h2>
{sobol}
<h2 id="provenance">Provenance</h2>
{provenance}
</body></html>
"""
