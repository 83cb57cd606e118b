"""The run spec: everything a run needs, checked, frozen, built once from the scenario.

:func:`plan_run` reads and checks a scenario and its model (names, bounds, distributions,
outputs, memory) before any work starts and returns a frozen :class:`RunPlan`. A run that
differs from a scenario's (a sweep's design) is a spec made from it with
:func:`dataclasses.replace`, never by changing one. :meth:`RunPlan.fingerprint_parts` names
everything that decides the numbers: a resumed run plans again from the same inputs and
compares them (:func:`sim315.ensembles.runner.execute`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..compilation.compiler import compile_spec
from ..core.toolchain import DECIDING, toolchain
from ..imports.loading import load_model_file
from ..schemas.scenario import ScenarioError, TimeTable
from .calibrated import apply_calibrated
from .checks import (
    check_arguments,
    check_bounds,
    check_memory,
    check_names,
    check_support,
    saved_outputs,
)
from .correlations import copula_note, correlation_groups
from .elements import expand_elements, shared_groups
from .model import CompiledModel
from .sampling import ParameterSampler, PosteriorDraws, Sampler
from .scenario import LoadedScenario, load_scenario

if TYPE_CHECKING:
    from .spinup import HistoryStart

#: Target bytes of saved output per chunk: bounds memory whatever the ensemble size.
CHUNK_BYTES = 32 << 20


def _digest(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


@dataclass(frozen=True)
class RunPlan:
    """Everything a run needs, checked (see the module docstring)."""

    loaded: LoadedScenario
    model: CompiledModel
    sampler: Sampler
    outputs: tuple[str, ...]
    runs: int
    chunk: int
    method: str
    dt: float | None
    save_every: float | None
    seed_setting: int | None
    notes: tuple[str, ...] = ()
    start: HistoryStart | None = None
    """How runs get their start state when they start where history ends."""
    levers: Mapping = field(default_factory=dict)
    """Time-tabled levers: name -> (interpolate, (times, values)), stored as tables."""
    inputs: Mapping[str, str] = field(default_factory=dict)
    """Digests of the files behind the numbers (model, calibration, posterior sample)."""
    replan: Callable[..., RunPlan] | None = field(default=None, compare=False, repr=False)
    """The planning call that made this spec, from the same inputs, taking ``entropy=``: a
    resumed unseeded run plans again under the seed entropy its partial file recorded."""

    def __post_init__(self):
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "notes", tuple(self.notes))

    def rows(self, a: int, b: int) -> np.ndarray:
        """The parameter matrix of runs ``[a, b)``, start states included (the history runs
        on the calling thread: the sampler's thread runs beside a parallel kernel)."""
        P = self.sampler.rows(a, b)
        if self.start is not None:
            P = self.start.apply(P, a, self.sampler, threads=1)
        return P

    def parameter_columns(self) -> tuple[list[int], np.ndarray]:
        """Which parameter columns differ from run to run (drawn, or a start state from
        history), and the value every run shares in the others: NaN in the varied ones and
        in time-tabled levers' (the kernel reads their tables). The result file stores the
        varied columns per run and the shared values once."""
        levers = {self.model.parameter_index(n) for n in self.levers}
        declared = getattr(self.sampler, "varied_columns", None)  # a sampler of one's own
        varied = set(declared() if declared else range(len(self.sampler.base)))  # may not say
        if self.start is not None:
            varied |= {int(c) for c in self.start.state_columns}
        varied -= levers
        shared = np.array(self.sampler.base, dtype=np.float64)
        shared[sorted(varied | levers)] = np.nan
        return sorted(varied), shared

    def drawn_columns(self) -> tuple[list[int], int]:
        """The varied columns a run's row of the posterior sample decides, and the sample's
        rows: its calibrated draws, and the start states of that row's history run where each
        row's is simulated once (:class:`~.spinup.DrawEnds`). The result file keeps them once
        per row (layout 4). None (``[], 0``) without posterior draws."""
        posterior = getattr(self.sampler, "posterior", None)
        if posterior is None:
            return [], 0
        drawn = {int(c) for c in posterior[0]}
        if self.start is not None and self.start.by_draw(self.sampler):
            drawn |= {int(c) for c in self.start.state_columns}
        drawn -= {self.model.parameter_index(n) for n in self.levers}
        return sorted(drawn), int(posterior[1].shape[0])

    def draws(self, a: int, b: int):
        """The posterior rows runs ``[a, b)`` draw (None without posterior draws)."""
        if getattr(self.sampler, "posterior", None) is None:
            return None
        return self.sampler.posterior_rows(a, b)

    @property
    def grid(self):
        return self.model.grid_for(self.dt, self.save_every)

    def fingerprint_parts(self) -> dict[str, str]:
        """Everything that decides the numbers, each under the name a resume refusal gives
        it: the scenario and every file of its ``extends`` chain, the model file (text and
        parameter values), the kernel, the calibrated file, its fit and posterior sample,
        seed, sampler, run count, method, dt, save grid, outputs, a sweep's design, the
        toolchain (:data:`sim315.core.toolchain.DECIDING`: a resume on another machine would
        mix its last bits into the file), and the quantile function of sim315's own that maps
        draws to values (PERT), if any."""
        g = self.grid
        files = list(self.loaded.texts.items())  # the scenario first, then what it extends
        parts = {"scenario file": _digest(files[0][1])}
        parts.update({f"extended file {Path(n).name}": _digest(t) for n, t in files[1:]})
        sampled = self.sampler.provenance()
        parts.update(
            {
                "scenario (resolved)": _digest(self.loaded.resolved_yaml()),
                "kernel": self.model.hash_of(self.method),
                "kernel variant": "lanes" if self.kernel_call().lanes else "scalar",
                "seed": repr(self.seed_setting),
                "sampler": sampled["sampler"],
                "runs": str(self.runs),
                "method": self.method,
                "dt": repr(g.dt),
                "save grid": f"{g.start!r}..{g.stop!r} every {g.save_every!r}",
                "outputs": ",".join(self.outputs),
                "sweep design": _digest(sampled.get("sweep_design", "")),
            }
        )
        here = toolchain()  # another CPU or library build may round a last bit otherwise
        parts["toolchain"] = ", ".join(f"{k} {here[k]}" for k in DECIDING)
        if "quantile_method" in sampled:  # only where it applies: other files resume as before
            parts["quantile method"] = sampled["quantile_method"]
        parts.update(self.inputs)
        if self.start is not None:
            parts["history run"] = _digest(self.start.record)
        return parts

    def kernel_call(self):
        """The kernel call of this plan: its method, grid, outputs, seed, and the kernel its
        run count picks (scalar or lanes, :func:`sim315.compilation.lanes.use_lanes`)."""
        return self.model.kernel_call(
            method=self.method,
            outputs=self.outputs,
            dt=self.dt,
            save_every=self.save_every,
            seed=self.sampler.entropy,
            runs=self.runs,
        )

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
    entropy: int | None = None,
) -> RunPlan:
    """Read and check a scenario and its model; nothing runs yet.

    ``entropy``: the seed entropy an earlier plan of the same inputs recorded (a resumed
    unseeded run); by default an unseeded run draws fresh entropy.
    """
    loaded = load_scenario(path)
    sc = loaded.scenario
    source = str(path)
    check_arguments(source, runs, seed, chunk)
    spec, raw = load_model_file(loaded.model_path)  # parsed once, compiled as needed
    model_source = str(loaded.model_path)
    ir = compile_spec(spec, model_source, raw)  # once: the kernel serves every scenario
    loaded = expand_elements(source, loaded, ir)  # a whole array's name: each element
    sc = loaded.scenario
    tables = {
        name: (o.interpolate, o.points())
        for name, o in sc.overrides.items()
        if isinstance(o, TimeTable)
    }
    check_names(source, sc, ir, tables)
    if sc.start_from_history and sc.calibrated is None:
        raise ScenarioError(
            source,
            "start_from_history",
            "needs the fitted history it starts from",
            "add calibrated: <fit result>.yaml",
        )
    if sc.start_from_history:  # the same kernel, its start state as parameter columns
        ir = ir.warm_started()
    model = CompiledModel(ir).with_levers(tables)  # levers are kernel data
    again = partial(plan_run, path, runs=runs, seed=seed, chunk=chunk)
    return _spec(source, loaded, model, raw, tables, again, runs, seed, chunk, entropy)


def _spec(source, loaded, model, raw, tables, again, runs, seed, chunk, entropy) -> RunPlan:
    """The spec of a checked scenario and its compiled model (see :func:`plan_run`)."""
    sc = loaded.scenario
    n_runs = runs if runs is not None else sc.runs
    seed_setting = seed if seed is not None else sc.seed
    key = seed_setting if entropy is None else entropy
    calibrated, sampler, notes = _sampler(source, sc, model, n_runs, key)
    start = None
    if sc.start_from_history:
        from .spinup import plan_history_start

        start = plan_history_start(source, sc, model, calibrated, raw)
    outputs = saved_outputs(source, sc, model)
    n_chunk = _chunk_size(source, sc, model, outputs, sampler, chunk)
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
        replan=again,
    )


def _sampler(source: str, sc, model: CompiledModel, runs: int, seed):
    """The scenario's sampler over its base row (defaults, calibrated estimates, overrides),
    the calibrated file (or None) and the sampler's notes."""
    base = model.defaults
    calibrated = joint = None
    if sc.calibrated is not None:
        calibrated, joint = apply_calibrated(source, sc, model, base)
    check_bounds(source, sc, model)
    for name, value in sc.overrides.items():
        if not isinstance(value, TimeTable):
            base[model.parameter_index(name)] = value
    columns, dists = [], []
    shared = shared_groups(source, sc, model.ir)  # first element -> every element
    groups = correlation_groups(source, sc, model.ir, shared)  # elements, Cholesky factor
    position = {}  # uncertain element -> its column of the unit points
    for name, dist in sc.uncertain.items():
        check_support(source, model, name, dist)
        if name in shared.get("skip", ()):
            continue
        cols = [model.parameter_index(n) for n in shared.get(name, [name])]
        position[name] = len(columns)
        columns.append(cols[0] if len(cols) == 1 else cols)
        dists.append(dist)
    correlated = [([position[e] for e in elements], L) for elements, L in groups]
    drawn = ParameterSampler(base, columns, dists, sc.sampler, runs, seed, correlated)
    notes = tuple(w for w in (drawn.design_warning(), copula_note(sc)) if w)
    sampler = drawn if joint is None else PosteriorDraws(drawn, *joint)
    return calibrated, sampler, notes


def _chunk_size(source: str, sc, model: CompiledModel, outputs, sampler: Sampler, chunk) -> int:
    """Runs per chunk (``--chunk``, the scenario's, else about :data:`CHUNK_BYTES` of
    output); refuses a run whose working memory cannot fit."""
    n_saved = model.grid_for(sc.dt, sc.save_every).n_saved  # checks the grid
    per_run = max(1, n_saved * len(outputs) * 8)
    auto = max(64, CHUNK_BYTES // per_run)
    runs = sampler.runs
    n_chunk = min(runs, chunk or sc.chunk or auto)
    check_memory(source, runs, n_chunk, n_saved, len(outputs), len(sampler.base), sampler)
    return n_chunk


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
