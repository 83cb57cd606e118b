"""``sim315 run`` and ``sim315 validate``: a scenario's ensemble, checked or run to a result
file; Ctrl-C keeps the finished runs for ``--resume``."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from .app import COUNT, main


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
@click.option(
    "--save",
    type=click.Choice(["auto", "all", "targets", "summary"]),
    default="auto",
    show_default=True,
    help="What the file keeps of each run besides parameters and status: every output, the "
    "values targets read, or only summaries (auto: all up to 256 MB of outputs, else targets).",
)
@click.option("--float32", is_flag=True, help="Store the runs' outputs in single precision.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
@click.pass_context
def run(
    ctx,
    file,
    out,
    runs,
    seed,
    threads,
    chunk,
    resume,
    compress,
    executor,
    scheduler,
    save,
    float32,
    quiet,
) -> None:
    """Run a scenario's ensemble and write an HDF5 result file.

    Default output: results/<scenario name>.h5. The file appears under its final name only
    when complete; an interrupted run keeps <name>.partial for --resume.
    """
    from ..ensembles.executors import make_executor
    from ..ensembles.runner import default_output, execute, plan_run
    from ..reports.report import target_rows, text_table

    plan = plan_run(file, runs=runs, seed=seed, chunk=chunk)
    sc = plan.loaded.scenario
    engine = make_executor(executor or sc.executor, threads, scheduler or sc.scheduler)
    if out is None:
        out = default_output(file)
        out.parent.mkdir(parents=True, exist_ok=True)
    for note in plan.notes:
        click.echo(f"note: {note}", err=True)
    options = {"compression": compress, "executor": engine, "save": save, "float32": float32}
    previous = _interrupt_once()
    try:
        outcome = execute(plan, out, threads=threads, resume=resume, progress=not quiet, **options)
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


@main.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
def validate(file) -> None:
    """Check a scenario (and its model) without running it. Exit 0 when valid."""
    from ..ensembles.runner import plan_run

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
