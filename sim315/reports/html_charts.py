"""The results explorer's Plotly figures: fan charts with the target and its accepted band,
the paired policy - baseline differences, and the Sobol' bars of a sweep file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import Sim315Error
from ..results.reader import open_complete, output_attrs
from . import labels
from .charts import _accepted
from .compare import _KIND_NAMES
from .html_scenario import Scenario
from .html_tables import esc
from .report import Row

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def fan(r: Row, scens: list[Scenario]):
    """The fan chart of one target's output, every scenario overlaid, with the target."""
    import plotly.graph_objects as go

    from ..schemas.target import Target

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
        tgt = Target.from_json(raw)
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
        title={"text": f"{esc(title)}<br><sub>{esc(r.output)} · target {esc(r.target)}</sub>"},
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


def _target_json(scens: list[Scenario], el: str) -> str | None:
    return next((s.definitions[el] for s in scens if el in s.definitions), None)


def paired_figure(base: Scenario, pol: Scenario, points: tuple):
    """The :func:`sim315.reports.html_tables.paired_table` differences as % of the baseline's
    median, with their 5-95 % of runs."""
    import plotly.graph_objects as go

    ys, xs, lo, hi = points
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
        title=f"{esc(pol.name)} − {esc(base.name)}, run by run (% of the baseline median)",
        xaxis={"title": "difference, % of the baseline's median", "ticksuffix": "%"},
        height=max(320, 22 * len(ys) + 120), margin={"l": 200, "r": 20, "t": 60, "b": 50},
        template="plotly_white",
    )  # fmt: skip
    return fig


def sobol_figures(path: Path) -> list:
    """One bar chart of Sobol' indices per output of a sweep file (in 2027)."""
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
        long = {o: labels.title(o, str(output_attrs(h5, o).get("long_name", ""))) for o in outs}
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
            title=f"{esc(long[o])}<br><sub>{esc(o)}, {labels.year(years[k])}: Sobol' "
            "indices</sub>",
            barmode="group", height=max(320, 26 * len(f) + 120), template="plotly_white",
            margin={"l": 200, "r": 20, "t": 70, "b": 40}, xaxis={"title": "share of variance"},
        )  # fmt: skip
        figs.append(fig)
    return figs
