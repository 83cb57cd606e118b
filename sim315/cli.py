"""The ``sim315`` command line: a thin layer over the public API.

Every bad input ends as one line on stderr naming the file, the field and the fix, with exit
code 2 and no traceback (``--debug`` shows it).
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from pathlib import Path

import click

from .core.errors import Sim315Error

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


class _Group(click.Group):
    """Runs a command and turns errors into one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Sim315Error as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            _exit_now_if_files_are_stuck_open()
            ctx.exit(EXIT_BAD_INPUT)
        except click.UsageError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # the reader went away (`sim315 ... | head`): stop quietly, as Unix tools do
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except Exception as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the "
                "traceback, and please report it)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


def _exit_now_if_files_are_stuck_open() -> None:
    """After a disk failure that left an HDF5 file open, leave without the library's exit
    handlers (which would flush it again on the full disk and crash): the partial file is
    already as resumable as it will get."""
    files = sys.modules.get("sim315.results.files")
    if files is not None and files.unclosed_files():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_BAD_INPUT)


class _Count(click.ParamType):
    """A whole number, also written as ``4e3`` or ``1_000``."""

    name = "integer"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().replace("_", "")
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
            if number.is_integer():
                return int(number)
        except (ValueError, OverflowError):
            pass
        self.fail(f"'{value}' is not a whole number", param, ctx)


COUNT = _Count()


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="sim315")
def main(debug: bool) -> None:
    """sim315: system-dynamics models compiled to one Numba ensemble kernel."""


@main.group(cls=_Group)
def model() -> None:
    """Check, describe and simulate model files."""


_MODEL_FILE = click.argument("file", type=click.Path(dir_okay=True, path_type=Path))


@model.command("check")
@_MODEL_FILE
def model_check(file: Path) -> None:
    """Check a model file: schema, names, units, loops, time grid. Exit 0 when valid."""
    from .imports.loading import compile_file
    from .reports.describe import summary_line

    ir = compile_file(file)
    click.echo(f"ok: {file}: {summary_line(ir)}")


@model.command("show")
@_MODEL_FILE
def model_show(file: Path) -> None:
    """Show a model's equations, units, docs and evaluation order."""
    from .imports.loading import compile_file
    from .reports.describe import describe

    click.echo(describe(compile_file(file)))


@model.command("diagram")
@_MODEL_FILE
def model_diagram(file: Path) -> None:
    """Print the model's stock-and-flow diagram as Mermaid text."""
    from .imports.loading import compile_file
    from .reports.diagram import mermaid

    click.echo(mermaid(compile_file(file)), nl=False)


@model.command("simulate")
@_MODEL_FILE
@click.option("--method", default="euler", show_default=True, help="euler, rk2 or rk4.")
@click.option("--dt", type=float, help="Override the model's time step.")
@click.option("--save-every", type=float, help="Override the save period.")
@click.option(
    "--outputs", help="Comma-separated variables to print and save (default: the stocks)."
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the saved trajectories of run 0 to this CSV file.",
)
def model_simulate(file, method, dt, save_every, outputs, csv_path) -> None:
    """Simulate a model once with its default parameters and print the trajectories."""
    from .ensembles.model import CompiledModel
    from .imports.loading import compile_file

    ir = compile_file(file)
    names = [s.strip() for s in outputs.split(",") if s.strip()] if outputs else ir.stocks
    names = [_identifier(ir.spec.names, n) for n in names]  # imported models' own names too
    mdl = CompiledModel(ir)
    res = mdl.simulate(method=method, dt=dt, save_every=save_every, outputs=names)
    if res.status[0] != 0:
        click.echo(f"warning: run stopped: {mdl.status_message(res.status[0])}", err=True)
    shown = [ir.spec.names.get(n, n) for n in res.names]  # an imported model's own names
    click.echo(_table(res.time, res.values[0], shown, ir.grid.units))
    if csv_path is not None:
        _write_csv(csv_path, res.time, res.values[0], res.names)
        click.echo(f"wrote {csv_path}")


@main.command("run")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Result file (.h5).")
@click.option("--runs", type=COUNT, help="Override the scenario's number of runs.")
@click.option("--seed", type=COUNT, help="Override the scenario's seed.")
@click.option("--threads", type=COUNT, help="CPU threads (results do not depend on it).")
@click.option("--chunk", type=COUNT, help="Runs per chunk (results do not depend on it).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run's partial file.")
@click.option(
    "--compress",
    type=click.Choice(["none", "lzf", "gzip"]),
    default="none",
    show_default=True,
    help="Compression of per-run datasets: gzip/lzf are ~3x smaller, 10x/5x slower to write.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask", "cuda"]),
    default=None,
    help="Where chunks run (default: the scenario's, else local). Same numbers either way.",
)
@click.option("--scheduler", help="Dask scheduler address (tcp://HOST:8786); or $SIM315_SCHEDULER.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
@click.pass_context
def run(
    ctx, file, out, runs, seed, threads, chunk, resume, compress, executor, scheduler, quiet
) -> None:
    """Run a scenario's ensemble and write an HDF5 result file.

    Default output: results/<scenario name>.h5. The file appears under its final name only
    when complete; an interrupted run keeps <name>.partial for --resume.
    """
    from .ensembles.executors import make_executor
    from .ensembles.runner import default_output, execute, plan_run
    from .reports.report import target_rows, text_table

    plan = plan_run(file, runs=runs, seed=seed, chunk=chunk)
    sc = plan.loaded.scenario
    engine = make_executor(executor or sc.executor, threads, scheduler or sc.scheduler)
    if out is None:
        out = default_output(file)
        out.parent.mkdir(parents=True, exist_ok=True)
    for note in plan.notes:
        click.echo(f"note: {note}", err=True)
    previous = _interrupt_once()
    try:
        outcome = execute(
            plan,
            out,
            threads=threads,
            resume=resume,
            progress=not quiet,
            compression=compress,
            executor=engine,
        )
    except KeyboardInterrupt:
        again = [a for a in sys.argv[1:] if a != "--resume"]
        if "-o" not in again and "--out" not in again:
            again += ["-o", str(out)]
        click.echo(
            f"interrupted: the runs finished so far are kept in {out}.partial; "
            f"continue with: sim315 {shlex.join(again)} --resume",
            err=True,
        )
        ctx.exit(130)
    finally:
        _restore_interrupt(previous)
    failed = f", {outcome.failed} failed (status 1: NaN/inf)" if outcome.failed else ""
    resumed = f", resumed at run {outcome.resumed_from:,}" if outcome.resumed_from else ""
    click.echo(
        f"wrote {outcome.path}: {outcome.runs:,} runs{failed}{resumed} in {outcome.seconds:.1f} s"
    )
    click.echo(text_table(target_rows(outcome.path)))


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
    from .analysis.calibration import calibrate, plot_series, summary_text, write_result

    if starts is not None and starts < 1:
        raise Sim315Error(str(fit), "--starts", f"starts must be at least 1, not {starts}")
    from .core.textfile import check_writable

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

    from .analysis.backtest import backtest, markdown

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
    from .analysis.sweep import figures as draw
    from .analysis.sweep import plan_sweep, ranked_table, run_sweep, warning_summary

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


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Model file to write."
)
def import_cmd(file, out) -> None:
    """Translate a Vensim (.mdl) or XMILE (.xmile, .stmx) model into a sim315 model file.

    Default output: <model name>.yaml beside it. Needs the import extra (PySD):
    pip install 'sim315[import]'.
    """
    from .imports import import_model, model_text

    model = import_model(file)
    out = out or file.with_suffix(".yaml")
    try:
        out.write_text(model_text(model, file), encoding="utf-8")
    except OSError as exc:
        raise Sim315Error(str(out), "--out", f"cannot write ({exc.strerror})") from None
    counts = ", ".join(
        f"{len(model[s])} {s}" for s in ("stocks", "flows", "auxiliaries", "parameters", "lookups")
    )
    click.echo(f"wrote {out}: {counts}")


@model.command("export")
@_MODEL_FILE
@click.option("--xmile", "xmile", is_flag=True, required=True, help="Write XMILE 1.0.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
def model_export(file, xmile, out) -> None:
    """Write a model as XMILE, for Stella and other XMILE tools (default: <name>.xmile)."""
    from .imports.loading import compile_file
    from .imports.xmile_writer import xmile_text

    ir = compile_file(file)
    out = out or Path(file).with_suffix(".xmile")
    try:
        out.write_text(xmile_text(ir), encoding="utf-8")
    except OSError as exc:
        raise Sim315Error(str(out), "--out", f"cannot write ({exc.strerror})") from None
    click.echo(f"wrote {out}")


def _identifier(names: dict[str, str], name: str) -> str:
    """An element's identifier from its identifier or its original (imported) name."""
    if name in names or not names:
        return name
    from .imports.names import key

    by_original = {key(o): i for i, o in names.items()}
    return by_original.get(key(name), name)


@main.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
def validate(file) -> None:
    """Check a scenario (and its model) without running it. Exit 0 when valid."""
    from .ensembles.runner import plan_run

    plan = plan_run(file)
    sc = plan.loaded.scenario
    g = plan.grid
    click.echo(
        f"ok: {file}: model '{plan.model.name}', {plan.runs:,} runs, "
        f"{plan.sampler.n_uncertain} uncertain parameters ({sc.sampler}), "
        f"{sum(1 for o in sc.overrides.values() if not isinstance(o, float))} time tables, "
        f"method {sc.method}, dt {g.dt:g}, {len(plan.outputs)} outputs"
    )
    for note in plan.notes:
        click.echo(f"note: {note}")


@main.command("schema")
@click.argument(
    "kind",
    required=False,
    default="scenario",
    type=click.Choice(["scenario", "model", "fit", "sweep", "fit-result"]),
)
def schema(kind: str) -> None:
    """Print the JSON Schema of scenario files (or of model, fit, sweep, fit-result files)."""
    from .schemas.jsonschema import schema_text

    click.echo(schema_text(kind), nl=False)


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
        from .reports.html_report import write_html

        click.echo(f"wrote {write_html(list(results), html_out, sweep, baseline)}")
        if outdir is None:
            return
    from .reports.charts import write_report

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
    from .reports.export import export

    fmt = fmt or "csv"
    out = out or result.with_suffix(f".{fmt}")
    names = [v.strip() for v in variables.split(",") if v.strip()] if variables else None
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
    from .reports.discovery import discover, trajectory_figure

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
    from .reports.compare import compare_text

    click.echo(compare_text(a, b, markdown=markdown, force=force))


def _interrupt_once():
    """The first Ctrl-C stops the run; a burst after it is ignored while the partial file is
    closed and the resume hint printed (only the main thread may set a handler)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    fired: list[int] = []

    def handler(signum, frame):
        if not fired:
            fired.append(signum)
            raise KeyboardInterrupt

    return signal.signal(signal.SIGINT, handler), fired


def _restore_interrupt(state) -> None:
    """Put the previous handler back, unless a Ctrl-C came: then the process is on its way
    out, and later ones must stay ignored until it is gone."""
    import signal

    if state is None:
        return
    # after a real Ctrl-C, ignore the rest of the burst for good: the interpreter puts the
    # default handler back while it shuts down, and a late one would kill it there
    signal.signal(signal.SIGINT, signal.SIG_IGN if state[1] else state[0])


def _table(time, values, names, time_units, max_rows: int = 12) -> str:
    n = len(time)
    step = max(1, -(-(n - 1) // (max_rows - 1))) if n > 1 else 1
    rows = list(range(0, n, step))
    if rows[-1] != n - 1:
        rows.append(n - 1)
    head = [f"time ({time_units})", *names]
    body = [[f"{time[i]:g}", *(f"{v:.6g}" for v in values[i])] for i in rows]
    widths = [max(len(r[c]) for r in [head, *body]) for c in range(len(head))]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(x.rjust(w) for x, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def _write_csv(path: Path, time, values, names) -> None:
    """Write atomically: a temporary file in the same folder, renamed when complete."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise Sim315Error(str(path), "--csv", "its folder does not exist", "create it first")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise Sim315Error(
            str(path), "--csv", f"cannot write there ({exc.strerror})", "choose a writable path"
        ) from None
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(",".join(["time", *names]) + "\n")
            for i, t in enumerate(time):
                fh.write(",".join([repr(float(t)), *(repr(float(v)) for v in values[i])]) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise Sim315Error(
            str(path),
            "--csv",
            f"cannot write ({exc.strerror})",
            "free space or choose another path",
        ) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
