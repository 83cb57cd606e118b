"""``sim315 run``: from a run spec to a complete HDF5 result file.

:func:`sim315.ensembles.plan.plan_run` checks everything a run needs before any work starts;
:func:`execute` streams chunks of runs from an executor into the result file while the next
chunk computes. A resumed run plans again from the same inputs and continues only when
the fingerprints agree.
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import Sim315Error
from ..core.progress import Progress
from ..results.files import check_output
from ..results.store import ResultWriter
from ..schemas.scenario import ScenarioError
from .checks import size_text
from .executors import LocalExecutor
from .plan import CHUNK_BYTES, RunPlan, plan_base_scenario, plan_run
from .provenance import output_infos, result_attrs

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
    """Wall seconds: computing chunks (sampling prefetched), waiting for writes, summarising;
    ``writing`` is the writer thread's busy time (it overlaps the computing)."""


def check_space(plan: RunPlan, out: Path, compression: str) -> None:
    """Refuse a result file larger than the free space of its folder (uncompressed size;
    a third of it when compressed), before the file is created."""
    per_run = (plan.grid.n_saved * len(plan.outputs) + len(plan.model.parameter_names) + 2) * 8
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
) -> RunOutcome:
    """Run the ensemble in chunks and write the result file.

    ``before_finish(h5)``, if given, adds to the file (e.g. a sweep's indices) before it is
    summarised and renamed to its final name.

    Chunk *k* is written by a background thread while chunk *k+1* computes (the kernel
    releases the GIL), so at most two chunks are in memory.
    """
    out = Path(out)
    t0 = time.perf_counter()
    executor = executor or LocalExecutor(threads)
    executor.check(plan)  # every option is checked before anything is created
    check_output(out)
    if resume:
        plan, writer = _reopen(plan, out)
    else:
        check_space(plan, out, compression)
        writer = _create(plan, out, compression)
    try:
        writer.write_levers(plan.levers, [plan.model.parameter_index(n) for n in plan.levers])
    except BaseException:
        writer.close()
        raise
    start = writer.runs_done
    bar = Progress(plan.runs, enabled=progress)
    bar.resume_from(start)
    try:
        timings = _stream(plan, executor, writer, start, bar)
    except BaseException:
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
    writer.finish({"n_failed": failed})
    timings["summary"] = time.perf_counter() - t
    return RunOutcome(out, plan.runs, failed, time.perf_counter() - t0, start, timings)


def _create(plan: RunPlan, out: Path, compression: str) -> ResultWriter:
    g = plan.grid
    return ResultWriter.create(
        out,
        runs=plan.runs,
        times=g.times(),
        time_units=g.units,
        outputs=output_infos(plan),
        parameter_names=list(plan.model.parameter_names),
        attrs=result_attrs(plan),
        rows_per_chunk=plan.chunk,
        compression=compression,
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


def _stream(plan: RunPlan, executor, writer: ResultWriter, start: int, bar) -> dict:
    """Compute the chunks from run ``start`` on and write each while the next computes;
    the wall seconds spent computing and waiting for writes."""
    timings = {"kernel": 0.0, "write_wait": 0.0, "summary": 0.0}
    starts = list(range(start, plan.runs, plan.chunk))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim315-writer") as writing:
        pending = None
        chunks = executor.compute(plan, starts)
        while True:
            t = time.perf_counter()
            item = next(chunks, None)
            timings["kernel"] += time.perf_counter() - t
            if item is None:
                break
            a, P, values, status = item
            t = time.perf_counter()
            if pending is not None:
                pending.result()
                bar.update(writer.runs_done)
            timings["write_wait"] += time.perf_counter() - t
            pending = writing.submit(writer.write, a, P, values, status)
        t = time.perf_counter()
        if pending is not None:
            pending.result()
            bar.update(writer.runs_done)
        timings["write_wait"] += time.perf_counter() - t
    return timings


def default_output(path: str | Path) -> Path:
    """``results/<scenario name>.h5`` under the current folder."""
    return Path("results") / (Path(path).stem + ".h5")
