"""The results explorer's tables: P(met) by target and target kind with traffic lights,
paired policy - baseline differences per run, and each file's provenance."""

from __future__ import annotations

import html

import numpy as np

from . import labels
from .compare import _KIND_NAMES, _KINDS
from .html_scenario import Scenario
from .report import Row

#: P(met) at or above LIKELY is green, below UNLIKELY red, amber between (IPCC's words).
LIKELY, UNLIKELY = 2 / 3, 1 / 3
PROVENANCE = (
    "scenario_file", "model_name", "model_hash", "runs", "n_failed", "seed", "seed_entropy",
    "sampler", "method", "dt", "save_every", "created_utc", "sim315_version",
    "numba_version", "numpy_version", "python_version", "cpu", "platform",
)  # fmt: skip


def esc(x) -> str:
    """``x`` as HTML text."""
    return html.escape(str(x))


def _light(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "none"
    return "green" if p >= LIKELY else ("red" if p < UNLIKELY else "amber")


def _cell(p: float | None) -> str:
    return f'<td class="light {_light(p)}">{labels.percent(p)}</td>'


def _value(r: Row, v: float | None) -> str:
    if r.kind == "growth" and v is not None and np.isfinite(v):
        return f"{100 * v:.1f}%/yr"
    return labels.number(v)


def _units(r: Row) -> str:
    if r.kind == "growth":
        return "%/yr"
    u = labels.units(r.units)
    return f"{u} a year" if r.kind == "every_year" else u


def pmet_table(scens: list[Scenario]) -> str:
    head = "".join(f"<th>{esc(s.name)}: median (5–95 %)</th><th>P(met)</th>" for s in scens)
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
            name = esc(_KIND_NAMES.get(kind, kind))
            out.append(f'<tr class="kind"><td colspan="{span}">{name}</td></tr>')
        el = r0.element or r0.output
        what = scens[0].meta.get(el, (el, ""))[0] if el in scens[0].meta else el
        cells = [f"<td><code>{esc(i)}</code></td><td>{esc(what)}</td><td>{esc(r0.target)}</td>"]
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
    out.append("".join(f"<th>{esc(s.name)}: mean P(met)</th>" for s in scens))
    out.append("".join(f"<th>{esc(s.name)}: likely met</th>" for s in scens) + "</tr></thead>")
    for k in _KINDS:
        groups = [[r for r in s.rows if r.kind == k and r.p_met is not None] for s in scens]
        if not any(groups):
            continue
        row = [f"<td>{esc(_KIND_NAMES[k])}</td><td>{max(len(g) for g in groups)}</td>"]
        row += [_cell(float(np.mean([r.p_met for r in g])) if g else None) for g in groups]
        row += [f"<td>{sum(r.p_met >= LIKELY for r in g)} of {len(g)}</td>" for g in groups]
        out.append("<tr>" + "".join(row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def paired_table(base: Scenario, pol: Scenario) -> tuple[str, tuple | None]:
    """Per-run differences policy - baseline of each target's measured value: the table, and
    the points of :func:`sim315.reports.html_charts.paired_figure` (None when the files'
    runs are not paired)."""
    same = base.attrs.get("runs") == pol.attrs.get("runs") and str(
        base.attrs.get("seed_entropy")
    ) == str(pol.attrs.get("seed_entropy"))
    if not same:
        return (
            f"<p class='note'>{esc(pol.name)} and {esc(base.name)} were run with different "
            "seeds or run counts, so their runs are not paired: compare the fan charts.</p>",
            None,
        )
    rows_b = {r.output: r for r in base.rows}
    lines = [
        f"<table class='pmet'><thead><tr><th>target</th><th>units</th>"
        f"<th>median of {esc(pol.name)} − {esc(base.name)} per run</th><th>5–95 %</th>"
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
            f"<tr><td><code>{esc(r.output)}</code></td><td>{esc(_units(r))}</td>"
            f"<td>{_value(r, q50)}</td><td>{_value(r, q5)} – {_value(r, q95)}</td>"
            f"<td>{100 * dp:+.0f} pts</td><td>{only_p}</td><td>{only_b}</td></tr>"
        )
        scale = abs(rows_b[r.output].median) or 1.0
        ys.append(r.output)
        xs.append(100 * q50 / scale)
        lo.append(100 * (q50 - q5) / scale)
        hi.append(100 * (q95 - q50) / scale)
    lines.append("</tbody></table>")
    return "\n".join(lines), (ys, xs, lo, hi)


def provenance_table(scens: list[Scenario]) -> str:
    head = "".join(f"<th>{esc(s.name)}</th>" for s in scens)
    out = [f"<table class='prov'><thead><tr><th></th>{head}</tr></thead><tbody>"]
    for key in PROVENANCE:
        out.append(
            f"<tr><th>{esc(key)}</th>"
            + "".join(f"<td>{esc(s.attrs.get(key, '-'))}</td>" for s in scens)
            + "</tr>"
        )
    out.append("</tbody></table>")
    for s in scens:
        out.append(
            f"<details><summary>{esc(s.name)}: scenario as run ({esc(s.path.name)})</summary>"
            f"<pre>{esc(s.attrs.get('scenario', ''))}</pre></details>"
        )
    return "\n".join(out)
