"""``sim315 calibrate``, ``backtest`` and ``sweep``: the analyses of a model against history
and across its factors."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.errors import Sim315Error
from .app import main


@main.command("calibrate")
@click.argument("fit", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Fitted-parameter file.")
@click.option(
    "--method", type=click.Choice(["least_squares", "differential_evolution"]), default=None
)
@click.option("--starts", type=int, help="Override the fit file's number of starts.")
@click.option("--plots", type=click.Path(path_type=Path), help="Folder for one PNG per series.")
def calibrate_cmd(fit, out, method, starts, plots) -> None:
    """Fit a model's free parameters to history; write estimates, intervals, statistics.

    Default output: <fit name>-result.yaml beside the fit file.
    """
    from ..analysis.calibration import calibrate
    from ..analysis.fitreport import plot_series, summary_text, write_result

    if starts is not None and starts < 1:
        raise Sim315Error(str(fit), "--starts", f"starts must be at least 1, not {starts}")
    from ..core.textfile import check_writable

    out = check_writable(out or fit.with_name(fit.stem + "-result.yaml"))  # before the fit
    result = calibrate(fit, method=method, starts=starts)
    write_result(result, out)
    click.echo(summary_text(result))
    click.echo(f"wrote {out}")
    if plots is not None:
        written = plot_series(result, plots)
        click.echo(f"wrote {len(written)} figures to {plots}/")


@main.command("backtest")
@click.argument("fit", type=click.Path(path_type=Path))
@click.option("--until", type=float, required=True, help="Fit the figures up to this year only.")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Report file (.yaml).")
def backtest_cmd(fit, until, out) -> None:
    """Out-of-sample evidence: refit up to --until and predict the later figures; predict the
    fit file's holdout figures from the full fit. Prints a Markdown table."""
    import yaml

    from ..analysis.backtest import backtest, markdown

    report = backtest(fit, until)
    click.echo(markdown(report), nl=False)
    for key in ("backtest", "held_out"):
        if key in report:
            r = report[key]
            err = r["max_abs_rel_error"]
            click.echo(
                f"{key}: {r['covered']}/{r['n']} figures inside the 90 % band; largest error "
                + ("-" if err is None else f"{100 * err:.1f} %")
            )
    if out is not None:
        try:
            out.write_text(yaml.safe_dump(report, sort_keys=False, allow_unicode=True))
        except OSError as exc:
            raise Sim315Error(str(out), "--out", f"cannot write ({exc.strerror})") from None
        click.echo(f"wrote {out}")


@main.command("sweep")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Result file (.h5).")
@click.option("--n", "n", type=int, help="Override the sweep's sample size.")
@click.option("--seed", type=int, help="Override the sweep's seed.")
@click.option("--threads", type=int, help="CPU threads (results do not depend on it).")
@click.option("--figures", type=click.Path(path_type=Path), help="Folder for the PNG figures.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
def sweep_cmd(file, out, n, seed, threads, figures, quiet) -> None:
    """Rank the factors of a sweep file: Sobol', Morris, one-at-a-time or factorial.

    Default output: results/<sweep name>.h5 (runs as in sim315 run, plus an indices group);
    figures go to results/<sweep name>/ unless --figures says otherwise.
    """
    from ..analysis.sweep import figures as draw
    from ..analysis.sweep import plan_sweep, ranked_table, run_sweep, warning_summary

    sp = plan_sweep(file, n=n, seed=seed)
    if out is None:
        out = Path("results") / (file.stem + ".h5")
        out.parent.mkdir(parents=True, exist_ok=True)
    outcome, res = run_sweep(sp, out, threads=threads, progress=not quiet)
    click.echo(
        f"wrote {outcome.path}: {sp.sweep.method}, {outcome.runs:,} runs, "
        f"{len(sp.design.names)} factors in {outcome.seconds:.1f} s"
    )
    click.echo(ranked_table(sp, res))
    for line in warning_summary(res):
        click.echo(line, err=True)
    written = draw(sp, res, figures or out.with_suffix(""))
    if written:
        click.echo(f"wrote {len(written)} figures to {written[0].parent}/")
