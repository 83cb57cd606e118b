"""``sim315 run``: from a run spec to a complete HDF5 result file.

:func:`sim315.ensembles.plan.plan_run` checks everything a run needs before any work starts;
:func:`execute` streams chunks of runs from an executor into the result file while the next
chunk computes. A resumed run plans again from the same inputs and continues only when
the fingerprints agree.
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import Sim315Error
from ..core.progress import Progress, note_if_slow
from ..results.arrays import arrays_of
from ..results.files import check_output
from ..results.layout import (
    AUTO_ALL_BYTES,
    DEFAULT_SAVE,
    SAVE_CHOICES,
    Parameters,
    target_columns,
)
from ..results.store import ResultWriter
from ..results.summary import StreamingSummary
from ..schemas.scenario import ScenarioError
from .checks import size_text
from .executors import LocalExecutor
from .plan import CHUNK_BYTES, RunPlan, plan_base_scenario, plan_run
from .provenance import output_infos, result_attrs

#: Chunks handed to the writer and summary threads and not yet done with: the kernel runs
#: on while they catch up (the summary's calibration, a slow disk, a chunk whose writing
#: took longer than its share of the cores); bounds memory (a chunk of the plan: 37 MB).
#: Two rather than one: the cores of a 10^6-run plan idled 0.28 core-s less (1.09 -> 0.81,
#: six runs each, alternated; benchmarks/README, nineteenth session).
WRITE_AHEAD = 2

__all__ = [
    "CHUNK_BYTES",
    "RunOutcome",
    "RunPlan",
    "check_space",
    "default_output",
    "execute",
    "plan_base_scenario",
    "plan_run",
]


@dataclass
class RunOutcome:
    path: Path
    runs: int
    failed: int
    seconds: float
    resumed_from: int
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds: computing chunks (sampling prefetched), waiting for writes, writing the
    summary; ``writing`` is the writer thread's busy time (storing chunks and feeding the
    streaming summary; it overlaps the computing); ``exact_passes`` the passes over the runs
    again for percentiles the stream could not bound (rare)."""


def resolve_save(plan: RunPlan, save: str) -> str:
    """``auto``: ``all`` while every run's outputs take at most :data:`AUTO_ALL_BYTES`
    (the 4,000-run main job: 54 MB), else ``targets``; any other choice as it is."""
    if save != "auto":
        return save
    small = plan.runs * kept_per_run(plan, "all", False) <= AUTO_ALL_BYTES
    return "all" if small else "targets"


def kept_per_run(plan: RunPlan, save: str, float32: bool) -> int:
    """Bytes of outputs a run keeps in the file under ``save``."""
    if save == "summary":
        return 0
    if save == "all":
        values = plan.grid.n_saved * len(plan.outputs)
    else:
        times = plan.grid.times()
        values = sum(len(target_columns(times, o.target)) for o in output_infos(plan) if o.target)
    return values * (4 if float32 else 8)


def check_space(
    plan: RunPlan, out: Path, compression: str, save: str = "all", float32: bool = False
) -> None:
    """Refuse a result file larger than the free space of its folder (uncompressed size;
    a third of it when compressed), before the file is created."""
    per_run = (len(plan.parameter_columns()[0]) + 2) * 8 + kept_per_run(plan, save, float32)
    need = plan.runs * per_run
    if compression != "none":
        need //= 3
    folder = out.parent if str(out.parent) else Path(".")
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if need > free:
        raise ScenarioError(
            str(out),
            "output",
            f"the result file would need about {size_text(need)} ({plan.runs:,} runs); its "
            f"folder has {size_text(free)} free",
            "free space, use fewer runs or outputs, or --compress gzip",
        )


def execute(
    plan: RunPlan,
    out: str | Path,
    *,
    threads: int | None = None,
    resume: bool = False,
    progress: bool = True,
    compression: str = "none",
    before_finish=None,
    executor=None,
    save: str = DEFAULT_SAVE,
    float32: bool = False,
) -> RunOutcome:
    """Run the ensemble in chunks and write the result file.

    ``save``: what the file keeps of each run besides its parameters and status (``all``
    outputs, the values ``targets`` read, or only the ``summary``); ``float32`` stores them
    in single precision (the summary is computed from the double values).
    ``before_finish(h5)``, if given, adds to the file (e.g. a sweep's indices) before it is
    summarised and renamed to its final name.

    Chunk *k* is stored and its targets measured by one thread, its values counted into the
    streaming summary by another, while chunk *k+1* computes (the kernel releases the GIL):
    at most :data:`WRITE_AHEAD` + 1 chunks wait (:func:`_stream`, for ``timings``).
    A resumed run computes its finished runs again for the summary (not for the file).
    """
    out = Path(out)
    t0 = time.perf_counter()
    if save not in SAVE_CHOICES:
        raise Sim315Error(
            str(out), "--save", f"unknown choice '{save}'", "use auto, all, targets or summary"
        )
    executor = executor or LocalExecutor(threads)
    executor.check(plan)  # every option is checked before anything is created
    storage = (compression, resolve_save(plan, save), float32)
    plan, writer, summary = _begin(plan, executor, out, resume, storage, progress)
    start = writer.runs_done
    bar = Progress(plan.runs, enabled=progress)
    bar.resume_from(start)
    try:
        timings = _stream(plan, executor, writer, summary, start, bar)
        timings["exact_passes"] = _settle(plan, executor, summary)
    except BaseException:
        executor.end()
        bar.close()
        writer.close()
        raise
    bar.close()
    failed = int(np.count_nonzero(writer.h5["run_status"][:] > 0))
    timings["writing"] = writer.write_seconds
    if before_finish is not None:
        try:
            before_finish(writer.h5)
        except BaseException:
            writer.close()
            raise
    t = time.perf_counter()
    writer.finish(summary, {"n_failed": failed}, arrays_of(plan.model.ir))
    timings["summary"] = time.perf_counter() - t
    return RunOutcome(out, plan.runs, failed, time.perf_counter() - t0, start, timings)


def _begin(plan: RunPlan, executor, out: Path, resume: bool, storage: tuple, progress: bool):
    """The run's writer (its file made, or the partial file reopened, with ``storage``:
    compression, save, float32), its kernels loaded, and its streaming summary; a new run's
    first chunks drawn meanwhile (:meth:`LocalExecutor.begin`), stopped if this fails."""
    if not resume:
        executor.begin(plan, list(range(0, plan.runs, plan.chunk)))
    try:
        plan, writer = _open(plan, out, resume, *storage)
        _prepare(plan, executor, writer, progress)
        return plan, writer, StreamingSummary(plan.runs, plan.grid.times(), output_infos(plan))
    except BaseException:
        executor.end()
        raise


def _prepare(plan: RunPlan, executor, writer, progress: bool) -> None:
    """The run's kernels compiled (or loaded) after the output's checks, so that a bad path
    is refused at once, and before the progress clock starts, so that its rate is the
    run's own; said when it takes a while (a model text's first run)."""
    try:
        with note_if_slow(f"compiling the kernels of {plan.model.name}", enabled=progress):
            executor.prepare(plan)
    except BaseException:
        writer.close()
        raise


def _open(plan: RunPlan, out: Path, resume: bool, compression: str, save: str, float32: bool):
    """The writer of a new result file, or of the partial file a resumed run continues
    (with the spec that continues it), its lever tables written."""
    check_output(out)
    if resume:
        plan, writer = _reopen(plan, out)
    else:
        check_space(plan, out, compression, save, float32)
        writer = _create(plan, out, compression, save, float32)
    try:
        writer.write_levers(plan.levers, [plan.model.parameter_index(n) for n in plan.levers])
    except BaseException:
        writer.close()
        raise
    return plan, writer


def _create(plan: RunPlan, out: Path, compression: str, save: str, float32: bool):
    g = plan.grid
    varied, shared = plan.parameter_columns()
    drawn, draws = plan.drawn_columns()  # kept once per posterior row, not per run
    varied = sorted(set(varied) - set(drawn))
    return ResultWriter.create(
        out,
        runs=plan.runs,
        times=g.times(),
        time_units=g.units,
        outputs=output_infos(plan),
        parameters=Parameters(list(plan.model.parameter_names), varied, shared, drawn, draws),
        attrs=result_attrs(plan),
        rows_per_chunk=plan.chunk,
        compression=compression,
        save=save,
        dtype=np.float32 if float32 else np.float64,
    )


def _reopen(plan: RunPlan, out: Path) -> tuple[RunPlan, ResultWriter]:
    """The partial file of an interrupted run made from the same inputs (its fingerprint
    is compared), and the spec that continues it: an unseeded run is planned again from
    the same inputs under the seed entropy the file recorded (the same sampler, calibrated
    draws and history start included)."""
    writer = ResultWriter.resume(out, plan.fingerprint_parts())
    try:
        stored = int(writer.h5.attrs["seed_entropy"])
        if stored != plan.sampler.entropy:
            again = plan.replan(entropy=stored) if plan.replan is not None else None
            if again is None or again.fingerprint() != plan.fingerprint():
                raise Sim315Error(
                    str(out),
                    "--resume",
                    "cannot plan the run again under the seed its partial file recorded",
                    "delete the partial file and run without --resume",
                )
            plan = again
    except BaseException:
        writer.close()
        raise
    return plan, writer


def _feed_again(plan: RunPlan, executor, summary: StreamingSummary, stop: int) -> None:
    """Compute runs ``0 .. stop`` again and feed them to ``summary`` only (a resumed run's
    finished runs, or an exact pass): the same numbers as the first time."""
    count = not summary.collecting
    for a, _, values, status in executor.compute(plan, list(range(0, stop, plan.chunk))):
        n = min(stop - a, values.shape[0])
        summary.feed(a, values[:n], status[:n], count=count)


def _settle(plan: RunPlan, executor, summary: StreamingSummary) -> float:
    """Exact passes for the percentiles the stream could not bound (rare: a band that moved
    far from the first runs'); their wall seconds."""
    t = time.perf_counter()
    while summary.pending():
        summary.exact_pass()
        _feed_again(plan, executor, summary, plan.runs)
        summary.end_pass()
    return time.perf_counter() - t


def _store(plan, writer: ResultWriter, summary: StreamingSummary, busy: dict, a, P, values, status):
    """Store a chunk, then measure its targets for the summary (the writer thread); the
    measuring's busy seconds."""
    writer.write(a, P, values, status, plan.draws(a, a + len(P)))
    t = time.perf_counter()
    summary.feed_targets(a, values, status)
    busy["measuring"] += time.perf_counter() - t


def _summarise(summary: StreamingSummary, busy: dict, a, P, values, status) -> None:
    """Count a chunk's values into the streaming summary (the summary thread); its busy
    seconds."""
    t = time.perf_counter()
    summary.feed_values(a, values, status)
    busy["summarising"] += time.perf_counter() - t


def _stream(plan: RunPlan, executor, writer: ResultWriter, summary, start: int, bar) -> dict:
    """Compute the chunks from run ``start`` on; each is stored and its targets measured by
    the writer thread while the summary thread counts its values, at once and while the next
    computes (each thread takes the chunks in run order). The wall seconds spent computing
    and waiting for them, and the two threads' busy seconds in the summary."""
    timings = {"kernel": 0.0, "write_wait": 0.0, "summarising": 0.0, "measuring": 0.0}
    if start:
        t = time.perf_counter()
        _feed_again(plan, executor, summary, start)
        timings["resume_summary"] = time.perf_counter() - t
    starts = list(range(start, plan.runs, plan.chunk))
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim315-writer") as storing,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim315-feed") as summing,
    ):
        pending: deque = deque()

        def settle_one():
            for job in pending.popleft():
                job.result()
            bar.update(writer.runs_done)

        chunks = executor.compute(plan, starts)
        try:
            while True:
                t = time.perf_counter()
                item = next(chunks, None)
                timings["kernel"] += time.perf_counter() - t
                if item is None:
                    break
                t = time.perf_counter()
                while len(pending) >= WRITE_AHEAD:
                    settle_one()
                timings["write_wait"] += time.perf_counter() - t
                store = storing.submit(_store, plan, writer, summary, timings, *item)
                feed = summing.submit(_summarise, summary, timings, *item)
                pending.append((store, feed))
            t = time.perf_counter()
            while pending:
                settle_one()
            timings["write_wait"] += time.perf_counter() - t
        finally:
            for job in (j for pair in pending for j in pair):
                job.cancel()  # a failure: nothing more is started (what runs, ends)
    return timings


def default_output(path: str | Path) -> Path:
    """``results/<scenario name>.h5`` under the current folder."""
    return Path("results") / (Path(path).stem + ".h5")
