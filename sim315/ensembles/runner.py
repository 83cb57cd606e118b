"""``sim315 run``: from a scenario file to a complete HDF5 result file.

:func:`plan_run` checks everything a run needs (scenario, model, names, distributions, output
path) before any work starts; :func:`execute` streams chunks of runs from an executor into
the result file while the next chunk computes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..compilation.compiler import compile_spec
from ..core.errors import suggest
from ..core.progress import Progress
from ..core.version import __version__
from ..imports.loading import load_model_file
from ..results.files import check_output
from ..results.layout import RESERVED, OutputInfo
from ..results.store import ResultWriter
from ..schemas.scenario import MAX_RUNS, MAX_SEED, ScenarioError, TimeTable
from .calibrated import read_calibrated
from .executors import LocalExecutor
from .model import CompiledModel
from .sampling import ParameterSampler
from .scenario import LoadedScenario, load_scenario

#: Target bytes of saved output per chunk: bounds memory whatever the ensemble size.
CHUNK_BYTES = 32 << 20


@dataclass
class RunPlan:
    """Everything a run needs, checked."""

    loaded: LoadedScenario
    model: CompiledModel
    sampler: ParameterSampler
    outputs: list[str]
    runs: int
    chunk: int
    method: str
    dt: float | None
    save_every: float | None
    seed_setting: int | None
    notes: list[str] = field(default_factory=list)
    extra: str = ""
    """Anything else that defines the run (a sweep's design), for ``--resume``."""
    start: object = None
    """A :class:`sim315.ensembles.spinup.HistoryStart` when runs start where history ends."""

    levers: dict = field(default_factory=dict)
    """Time-tabled levers: name -> (interpolate, (times, values)), stored as tables."""
    inputs: dict[str, str] = field(default_factory=dict)
    """Digests of the files behind the numbers (model, calibration, posterior sample)."""

    def rows(self, a: int, b: int) -> np.ndarray:
        """The parameter matrix of runs ``[a, b)``, start states included (the history runs
        on the calling thread: the sampler's thread runs beside a parallel kernel)."""
        P = self.sampler.chunk(a, b)
        if self.start is not None:
            P = self.start.apply(P, a, self.sampler, threads=1)
        return P

    @property
    def grid(self):
        return self.model.grid_for(self.dt, self.save_every)

    def fingerprint_parts(self) -> dict[str, str]:
        """Everything that decides the numbers, each under the name a resume refusal gives
        it: the scenario and every file of its ``extends`` chain, the model file (text and
        parameter values), the kernel, the calibrated file, its fit and posterior sample,
        seed, sampler, run count, method, dt, save grid, outputs and a sweep's design."""
        g = self.grid

        def digest(text: str | bytes) -> str:
            data = text.encode() if isinstance(text, str) else text
            return hashlib.sha256(data).hexdigest()

        files = list(self.loaded.texts.items())  # the scenario first, then what it extends
        parts = {"scenario file": digest(files[0][1])}
        parts.update({f"extended file {Path(n).name}": digest(t) for n, t in files[1:]})
        parts.update(
            {
                "scenario (resolved)": digest(self.loaded.resolved_yaml()),
                "kernel": self.model.hash,
                "seed": repr(self.seed_setting),
                "sampler": self.sampler.sampler,
                "runs": str(self.runs),
                "method": self.method,
                "dt": repr(g.dt),
                "save grid": f"{g.start!r}..{g.stop!r} every {g.save_every!r}",
                "outputs": ",".join(self.outputs),
                "sweep design": digest(self.extra),
            }
        )
        parts.update(self.inputs)
        if self.start is not None:
            parts["history run"] = digest(self.start.record)
        return parts

    def fingerprint(self) -> str:
        """What makes two runs the same run (for ``--resume``)."""
        text = json.dumps(self.fingerprint_parts(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def plan_run(
    path: str | Path,
    *,
    runs: int | None = None,
    seed: int | None = None,
    chunk: int | None = None,
) -> RunPlan:
    """Read and check a scenario and its model; nothing runs yet."""
    loaded = load_scenario(path)
    sc = loaded.scenario
    source = str(path)
    if runs is not None and runs < 1:
        raise ScenarioError(source, "--runs", f"runs must be at least 1, not {runs}")
    if chunk is not None and chunk < 1:
        raise ScenarioError(source, "--chunk", f"chunk must be at least 1, not {chunk}")
    if seed is not None and seed < 0:
        raise ScenarioError(source, "--seed", f"seed must be non-negative, not {seed}")
    if seed is not None and seed > MAX_SEED:
        raise ScenarioError(source, "--seed", f"seed must be at most 2**63 - 1, not {seed}")
    if runs is not None and runs > MAX_RUNS:
        raise ScenarioError(
            source, "--runs", f"runs must be at most {MAX_RUNS:,} (2**40), not {runs:,}"
        )
    tables = {
        name: (o.interpolate, o.points())
        for name, o in sc.overrides.items()
        if isinstance(o, TimeTable)
    }
    spec, raw = load_model_file(loaded.model_path)  # parsed once, compiled as needed
    model_source = str(loaded.model_path)
    probe = compile_spec(spec, model_source, raw)
    _check_names(source, sc, probe, tables)
    if sc.start_from_history and sc.calibrated is None:
        raise ScenarioError(
            source,
            "start_from_history",
            "needs the fitted history it starts from",
            "add calibrated: <fit result>.yaml",
        )
    if tables or sc.start_from_history:  # issue 14: a second lowering until levers are data
        ir = compile_spec(spec, model_source, raw, tables, warm_start=sc.start_from_history)
    else:
        ir = probe  # the same call: lowered once
    model = CompiledModel(ir)
    base = model.defaults
    joint = calibrated = None
    if sc.calibrated is not None:
        calibrated, joint = _calibrated(source, sc, model, base)
    _check_bounds(source, sc, model)
    for name, value in sc.overrides.items():
        if not isinstance(value, TimeTable):
            base[model.parameter_index(name)] = value
    columns, dists = [], []
    for name, dist in sc.uncertain.items():
        col = model.parameter_index(name)
        _check_support(source, model, name, dist)
        columns.append(col)
        dists.append(dist)
    n_runs = runs if runs is not None else sc.runs
    seed_setting = seed if seed is not None else sc.seed
    sampler = ParameterSampler(base, columns, dists, sc.sampler, n_runs, seed_setting, joint)
    start = None
    if sc.start_from_history:
        from .spinup import plan_history_start

        start = plan_history_start(source, sc, model, calibrated, raw)
    outputs = _outputs(source, sc, model)
    model.grid_for(sc.dt, sc.save_every)  # checks the grid
    n_saved = model.grid_for(sc.dt, sc.save_every).n_saved
    per_run = max(1, n_saved * len(outputs) * 8)
    auto = max(64, CHUNK_BYTES // per_run)
    n_chunk = min(n_runs, chunk or sc.chunk or auto)
    _check_memory(source, n_runs, n_chunk, n_saved, len(outputs), len(base), sampler)
    notes = [w for w in (sampler.design_warning(),) if w]
    return RunPlan(
        loaded,
        model,
        sampler,
        outputs,
        n_runs,
        n_chunk,
        sc.method,
        sc.dt,
        sc.save_every,
        seed_setting,
        notes,
        start=start,
        inputs=_inputs_digest(loaded, calibrated),
        levers=tables,
    )


def _inputs_digest(loaded, calibrated) -> dict[str, str]:
    """What decides the numbers besides the scenario text, by name: the model file's text
    and numbers, the fitted-parameter file, its fit and its posterior sample."""

    def digest(path) -> str:
        try:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return f"unreadable {path}"

    parts = {"model file": digest(loaded.model_path)}
    if calibrated is not None:
        parts["calibrated file"] = digest(calibrated.path)
        parts["fit file"] = digest(calibrated.fit)
        if calibrated.sample is not None:
            parts["posterior sample"] = hashlib.sha256(calibrated.sample.tobytes()).hexdigest()
    return parts


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.3g}"  # pragma: no cover


def _memory_available() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 62


def _check_memory(source, runs, chunk, n_saved, n_out, n_params, sampler) -> None:
    """Refuse an ensemble whose working memory cannot fit, before anything is allocated:
    three chunks of outputs and parameters (computing, writing, sampling ahead) and a Latin
    hypercube design (built whole)."""
    need = 3 * chunk * (n_saved * n_out + 2 * n_params) * 8
    if sampler.sampler == "lhs":
        need += runs * sampler.n_uncertain * 8 * 2
    have = _memory_available()
    if need > have:
        raise ScenarioError(
            source,
            "runs" if sampler.sampler == "lhs" and runs * sampler.n_uncertain > chunk else "chunk",
            f"the run would need {_size(need)} of memory ({runs:,} runs, {n_saved:,} saved "
            f"times, {n_out} outputs); this machine has {_size(have)}",
            "use fewer runs, a smaller chunk, a coarser save_every or fewer outputs",
        )


def check_space(plan: RunPlan, out: Path, compression: str) -> None:
    """Refuse a result file larger than the free space of its folder (uncompressed size;
    a third of it when compressed), before the file is created."""
    import shutil

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
            f"the result file would need about {_size(need)} ({plan.runs:,} runs); its folder "
            f"has {_size(free)} free",
            "free space, use fewer runs or outputs, or --compress gzip",
        )


def _check_bounds(source, sc, model) -> None:
    """Overrides (constants and every value of a time table) must lie within the bounds the
    model declares, unless the scenario names them in ``allow_out_of_bounds``."""
    allowed = set(sc.allow_out_of_bounds)
    for name in allowed:
        if name not in sc.overrides:
            raise ScenarioError(
                source,
                "allow_out_of_bounds",
                f"'{name}' is not overridden",
                suggest(name, sc.overrides) if sc.overrides else "remove it",
            )
    params = model.ir.spec.parameters
    for name, value in sc.overrides.items():
        if name in allowed or name not in params or params[name].bounds is None:
            continue
        lo, hi = params[name].bounds
        values = value.points()[1] if isinstance(value, TimeTable) else [value]
        for v in values:
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                raise ScenarioError(
                    source,
                    f"overrides.{name}",
                    f"{v:g} is outside the parameter's bounds [{lo}, {hi}] in the model",
                    f"use a value within them, or add it to allow_out_of_bounds: [{name}]",
                )


def plan_base_scenario(path: Path, relative: str, error_cls, what: str, runs: int = 1) -> RunPlan:
    """The plan of the scenario a fit or sweep file names (relative to that file)."""
    scenario = path.parent / relative
    if not scenario.is_file():
        raise error_cls(
            str(path),
            "scenario",
            f"no scenario file '{relative}'",
            f"give a path relative to the {what}",
        )
    return plan_run(scenario, runs=runs)


def _check_names(source, sc, probe, tables) -> None:
    params = list(probe.kernel_params)
    for section, names in (("overrides", sc.overrides), ("uncertain", sc.uncertain)):
        for name in names:
            if name not in params:
                raise ScenarioError(
                    source,
                    f"{section}.{name}",
                    f"unknown parameter '{name}'",
                    suggest(name, params),
                )
    for name in sc.uncertain:
        if name in tables:
            raise ScenarioError(
                source,
                f"uncertain.{name}",
                "is also given a time table in overrides",
                "make it either a time table or uncertain",
            )
        if name in sc.overrides:
            raise ScenarioError(
                source,
                f"uncertain.{name}",
                "is also overridden with a constant",
                "remove one of the two",
            )
    for name in tables:
        if name.endswith(".init"):
            raise ScenarioError(
                source,
                f"overrides.{name}",
                "an initial value cannot vary over time",
                "give a constant",
            )


def _calibrated(source, sc, model, base):
    """Set calibrated estimates in ``base``; the file, and the posterior columns and sample
    when they are drawn."""
    cal = read_calibrated(sc.calibrated)  # resolved by the scenario loader
    for name in cal.names:
        if name not in model.parameter_names:
            raise ScenarioError(
                source,
                "calibrated",
                f"'{name}' in {sc.calibrated} is not a model parameter",
                "calibrate against this scenario's model",
            )
    for name in cal.names:
        if not np.isfinite(cal.estimates[name]):
            raise ScenarioError(
                str(cal.path),
                f"parameters.{name}.estimate",
                f"is {cal.estimates[name]}, not a finite number",
                "run sim315 calibrate again",
            )
    if cal.sample is not None and not np.all(np.isfinite(cal.sample)):
        raise ScenarioError(
            str(cal.path),
            "posterior.sample",
            "the posterior sample holds NaN or inf",
            "run sim315 calibrate again",
        )
    skip = set(sc.overrides) | set(sc.uncertain)
    for name in cal.transfer:
        if name not in skip:
            base[model.parameter_index(name)] = cal.estimates[name]
    if not sc.calibrated_draws:
        return cal, None
    both = sorted(set(cal.transfer) & set(sc.uncertain))
    if both:
        raise ScenarioError(
            source,
            f"uncertain.{both[0]}",
            "is also drawn from the calibration",
            "remove it from uncertain, or set calibrated_draws: false",
        )
    if cal.sample is None:
        raise ScenarioError(
            source,
            "calibrated_draws",
            f"{sc.calibrated} holds no posterior sample to draw from",
            "add a posterior: section to the fit file and run sim315 calibrate again",
        )
    keep = [i for i, n in enumerate(cal.names) if n in cal.transfer and n not in sc.overrides]
    cols = [model.parameter_index(cal.names[i]) for i in keep]
    return cal, (cols, cal.sample[:, keep])


def _check_support(source, model, name, dist) -> None:
    lo, hi = dist.support()
    if name.endswith(".init"):
        return
    par = model.ir.spec.parameters[name]
    if par.bounds is None:
        return
    blo, bhi = par.bounds
    finite = [abs(v) for v in (lo, hi, blo, bhi) if v is not None and np.isfinite(v)]
    tol = 1e-9 * max([1.0, *finite])  # scipy's support of a truncated law rounds
    if (blo is not None and lo < blo - tol) or (bhi is not None and hi > bhi + tol):
        raise ScenarioError(
            source,
            f"uncertain.{name}",
            f"the distribution reaches [{lo:g}, {hi:g}], beyond the parameter's bounds "
            f"[{blo}, {bhi}] in the model",
            "use a truncated or bounded distribution (truncnormal, uniform, pert)",
        )


def _outputs(source, sc, model) -> list[str]:
    """The saved variables: the scenario's (default: the stocks), always with every output
    that carries a target; checks that each target's years are saved times."""
    from ..language.targets import missing_years

    measured = [t.element for t in model.ir.targets.values()]
    if sc.outputs is None:
        names = list(model.ir.stocks)
    else:
        names = []
        for name in sc.outputs:
            if name not in model.output_names:
                raise ScenarioError(
                    source, "outputs", f"unknown output '{name}'", suggest(name, model.output_names)
                )
            if name not in names:
                names.append(name)
    names += [n for n in dict.fromkeys(measured) if n not in names]
    grid = model.grid_for(sc.dt, sc.save_every)
    times = grid.times()
    for tid, t in model.ir.targets.items():
        if missing := missing_years(t.spec, times):
            raise ScenarioError(
                source,
                "save_every",
                f"target {tid} ({t.spec.describe()}) needs time {missing[0]:g}, which is not "
                f"a saved time (every {grid.save_every:g} from {grid.start:g})",
                "choose save_every so that every whole year is saved (e.g. 1 or 0.25)",
            )
    for name in names:
        if name in RESERVED:
            raise ScenarioError(
                source,
                "outputs",
                f"'{name}' clashes with a dataset of the result file",
                "rename the variable in the model",
            )
    return names


def _provenance(plan: RunPlan) -> dict:
    import h5py
    import numba
    import scipy

    g = plan.grid
    return {
        "sim315_version": __version__,
        "numba_version": numba.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "h5py_version": h5py.__version__,
        "python_version": sys.version.split()[0],
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_name": plan.model.name,
        "model_file": str(plan.loaded.model_path),
        "model_hash": plan.model.hash,
        "model_text": plan.loaded.model_path.read_text(encoding="utf-8"),
        "scenario_file": str(plan.loaded.path),
        "scenario": plan.loaded.resolved_yaml(),
        "scenario_files": "\n".join(
            f"# --- {name}\n{text}" for name, text in plan.loaded.texts.items()
        ),
        "seed": -1 if plan.seed_setting is None else plan.seed_setting,
        "seed_entropy": str(plan.sampler.entropy),
        "sampler": plan.sampler.sampler,
        "method": plan.method,
        "dt": g.dt,
        "save_every": g.save_every,
        "time_units": g.units,
        "groups": _json(plan.model.ir.groups),
        "history_start": "" if plan.start is None else plan.start.record,
        "fingerprint": plan.fingerprint(),
        "fingerprint_parts": json.dumps(plan.fingerprint_parts(), sort_keys=True),
    }


def _json(obj) -> str:
    return json.dumps(obj)


def _output_infos(plan: RunPlan) -> list[OutputInfo]:
    ir = plan.model.ir
    spec = ir.spec
    infos = []
    for name in plan.outputs:
        kind = ir.kinds[name]
        section = {
            "stock": spec.stocks,
            "flow": spec.flows,
            "auxiliary": spec.auxiliaries,
            "parameter": spec.parameters,
        }[kind]
        el = section[name]
        target = next((t for t in ir.targets.values() if t.element == name), None)
        infos.append(
            OutputInfo(
                name,
                el.units,
                el.doc.strip(),
                kind,
                None if target is None else target.info(),
            )
        )
    return infos


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
    import time

    out = Path(out)
    t0 = time.perf_counter()
    executor = executor or LocalExecutor(threads)
    executor.check(plan)  # every option is checked before anything is created
    check_output(out)
    if not resume:
        check_space(plan, out, compression)
    if resume:
        writer = ResultWriter.resume(out, plan.fingerprint_parts())
        stored = writer.h5.attrs["seed_entropy"]
        # the same sampler (calibrated draws included) under the stored seed
        plan.sampler = plan.sampler.with_seed(int(stored))
    else:
        g = plan.grid
        writer = ResultWriter.create(
            out,
            runs=plan.runs,
            times=g.times(),
            time_units=g.units,
            outputs=_output_infos(plan),
            parameter_names=list(plan.model.parameter_names),
            attrs=_provenance(plan),
            rows_per_chunk=plan.chunk,
            compression=compression,
        )
    try:
        writer.write_levers(plan.levers, [plan.model.parameter_index(n) for n in plan.levers])
    except BaseException:
        writer.close()
        raise
    start = writer.runs_done
    timings = {"kernel": 0.0, "write_wait": 0.0, "summary": 0.0}
    bar = Progress(plan.runs, enabled=progress)
    bar.resume_from(start)
    try:
        starts = list(range(start, plan.runs, plan.chunk))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim315-writer") as writing:
            # chunk k is written while chunk k+1 computes (the kernel releases the GIL)
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
    except BaseException:
        bar.close()
        writer.close()
        raise
    bar.close()
    status = writer.h5["run_status"][:]
    failed = int(np.count_nonzero(status > 0))
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


def default_output(path: str | Path) -> Path:
    """``results/<scenario name>.h5`` under the current folder."""
    return Path("results") / (Path(path).stem + ".h5")
