"""``sim315 report``, ``export``, ``discover`` and ``compare``: reading result files."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.errors import Sim315Error
from .app import main, name_list


@main.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "outdir", type=click.Path(path_type=Path), help="Folder for the report.")
@click.option("--group", help="Only this group of stocks on the stocks figure.")
@click.option(
    "--html",
    "html_out",
    type=click.Path(path_type=Path),
    help="Write one self-contained HTML explorer of all the files here instead.",
)
@click.option("--sweep", type=click.Path(path_type=Path), help="A Sobol' sweep file (--html).")
@click.option("--baseline", type=click.Path(path_type=Path), help="The baseline file (--html).")
def report(results, outdir, group, html_out, sweep, baseline) -> None:
    """Target table as CSV and Markdown, fan charts and stock figures as PNG and SVG; with
    --html, one explorer page for several result files."""
    if html_out is not None:
        from ..reports.html_report import write_html

        click.echo(f"wrote {write_html(list(results), html_out, sweep, baseline)}")
        if outdir is None:
            return
    from ..reports.charts import write_report

    if outdir is not None and len(results) > 1:
        raise Sim315Error(str(outdir), "--out", "one folder for several files", "drop --out")
    for result in results:
        folder = outdir or result.with_suffix("")
        written = write_report(result, folder, group)
        click.echo(f"wrote {len(written)} files to {folder}/")
        for p in written:
            click.echo(f"  {p.name}")


@main.command("export")
@click.argument("result", type=click.Path(path_type=Path))
@click.option("--csv", "fmt", flag_value="csv", help="Write CSV (the default).")
@click.option("--xlsx", "fmt", flag_value="xlsx", help="Write an Excel workbook.")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Output file.")
@click.option("--vars", "variables", help="Comma-separated variables (default: all).")
@click.option("--percentiles", is_flag=True, help="The summary percentiles, not the runs.")
@click.option("--wide", is_flag=True, help="One column per variable (or percentile).")
def export_cmd(result, fmt, out, variables, percentiles, wide) -> None:
    """A result file's runs or percentiles as CSV or Excel, long (tidy) or wide."""
    from ..reports.export import export

    fmt = fmt or "csv"
    out = out or result.with_suffix(f".{fmt}")
    names = name_list(variables) if variables else None
    export(result, out, fmt=fmt, variables=names, percentiles=percentiles, wide=wide)
    click.echo(f"wrote {out}")


@main.command("discover")
@click.argument("result", type=click.Path(path_type=Path))
@click.option("--target", required=True, help="The target id.")
@click.option("--missed/--met", default=True, help="Find where the target is missed (default).")
@click.option("--density", default=0.8, show_default=True, help="Least density of the box.")
@click.option("--out", "outdir", type=click.Path(path_type=Path), help="Folder for the figure.")
def discover_cmd(result, target, missed, density, outdir) -> None:
    """Scenario discovery (PRIM): the box of uncertain inputs where a target is missed or met,
    its coverage, density and the significance of each restriction; the peeling trajectory."""
    from ..reports.discovery import discover, trajectory_figure

    found, _ = discover(result, target, missed=missed, min_density=density)
    click.echo(found.text())
    for p in trajectory_figure(found, outdir or result.with_suffix("")):
        click.echo(f"wrote {p}")


@main.command("compare")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option("--markdown", is_flag=True, help="A Markdown table (for documents).")
@click.option("--force", is_flag=True, help="Compare files of different models or targets.")
def compare(a, b, markdown, force) -> None:
    """Two result files' target tables side by side, with the differences A - B (A the
    policy, B the baseline); run by run too when both share seed and sampler."""
    from ..reports.compare import compare_text

    click.echo(compare_text(a, b, markdown=markdown, force=force))


@main.command("replay")
@click.argument("result", type=click.Path(path_type=Path))
@click.option("--runs", required=True, help="Run numbers, comma-separated: 17,42.")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Write the runs here (.h5).")
def replay_command(result, runs, out) -> None:
    """Compute runs of a result file again from the file alone (model text, parameter rows,
    seed, method, grid, lever tables) and say whether they equal the stored ones."""
    from ..analysis.replay import replay, write_replayed

    try:
        numbers = [int(r) for r in runs.split(",") if r.strip()]
    except ValueError:
        raise Sim315Error(
            str(result), "--runs", f"'{runs}' is not a list of run numbers", "e.g. --runs 17,42"
        ) from None
    done = replay(result, numbers)
    same = done.same()
    for i, r in enumerate(done.runs):
        if same is None:
            verdict = "computed (the file keeps only summaries: nothing to compare)"
        else:
            verdict = "identical to the file" if same[i] else "DIFFERS from the file"
        click.echo(f"run {r}: status {int(done.status[i])}, {verdict}")
    if out is not None:
        click.echo(f"wrote {write_replayed(done, out, result)}")
    if done.identical is False and done.elsewhere:
        click.echo(
            "note: the file was written with another toolchain ("
            + "; ".join(done.elsewhere)
            + "), which may round a last bit differently; replay it where it was written"
        )
    if done.identical is False:
        raise SystemExit(1)
