"""``sim315 report FILE... --html OUT.html``: one self-contained results explorer.

The page holds everything (Plotly's JavaScript inlined, the data as JSON), needs no server
and can be e-mailed. It shows, for one or more result files: a traffic-light P(met) table by
target and target kind; fan charts with the target and its accepted ("≈") band, the
scenarios overlaid; paired policy - baseline differences per run (same seed and run count:
common random numbers); Sobol' bars of a sweep file; and each file's provenance. The data are
:mod:`.html_scenario`, the tables :mod:`.html_tables`, the figures :mod:`.html_charts`.
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import Sim315Error
from .html_charts import fan, paired_figure, sobol_figures
from .html_scenario import Scenario, pick_baseline, read_scenario
from .html_tables import LIKELY, UNLIKELY, esc, paired_table, pmet_table, provenance_table


def write_html(
    paths: list[Path], out: Path, sweep: Path | None = None, baseline: Path | None = None
) -> Path:
    """Write the explorer page for result files ``paths`` (and a sweep file) to ``out``."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    if not paths:
        raise Sim315Error("report", "FILE", "no result file given", "name one or more .h5 files")
    scens = [read_scenario(Path(p)) for p in paths]
    base = pick_baseline(scens, baseline)
    figs: list[str] = []

    def embed(fig) -> str:
        div = pio.to_html(fig, full_html=False, include_plotlyjs=False,
                          config={"displaylogo": False, "responsive": True})  # fmt: skip
        figs.append(div)
        return f'<div class="chart">{div}</div>'

    ids = list(dict.fromkeys(r.output for s in scens for r in s.rows))
    first = {i: next(r for s in scens for r in s.rows if r.output == i) for i in ids}
    fans = "\n".join(embed(fan(first[i], scens)) for i in ids)
    diffs = _differences(scens, base, embed)
    sobol = "".join(embed(f) for f in sobol_figures(Path(sweep))) if sweep is not None else ""
    info = ", ".join(
        f"{esc(s.name)} ({int(s.attrs.get('runs', 0)):,} runs, seed {esc(s.attrs.get('seed'))})"
        for s in scens
    )
    page = _PAGE.format(
        title=esc("sim315 results: " + ", ".join(s.name for s in scens)),
        plotly=get_plotlyjs(),
        info=info,
        likely=f"{100 * LIKELY:.0f}",
        unlikely=f"{100 * UNLIKELY:.0f}",
        pmet=pmet_table(scens),
        fans=fans,
        diffs=diffs,
        sobol=sobol
        or "<p class='note'>No sweep file given (sim315 report ... --sweep SWEEP.h5).</p>",
        provenance=provenance_table(scens),
        n_charts=len(figs),
    )
    return _write(Path(out), page)


def _differences(scens: list[Scenario], base: Scenario | None, embed) -> str:
    """The policy - baseline section: each other file against the baseline."""
    if base is None:
        return (
            "<p class='note'>Give a baseline file (a file named baseline, or --baseline) "
            "to see paired differences.</p>"
        )
    diffs = ""
    for s in scens:
        if s is not base:
            table, points = paired_table(base, s)
            diffs += f"<h3>{esc(s.name)} − {esc(base.name)}</h3>{table}"
            diffs += embed(paired_figure(base, s, points)) if points is not None else ""
    return diffs


def _write(out: Path, page: str) -> Path:
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
