"""Start where history ends: each run of a scenario begins from the state that its own
calibrated history run reaches.

A scenario with ``start_from_history: true`` and a ``calibrated:`` fitted-parameter file
runs, for every run *i*, two simulations of the same model:

1. **history**: the fit's window (e.g. 2015 -> 2022) exactly as the fit simulated it (the
   model's defaults, the fit scenario's levers, the fit's ``fixed`` values such as the
   initial values of the window's start) with run *i*'s calibrated draw of every free
   parameter (including those of the window only, ``transfer: false``): the trajectory the
   posterior was conditioned on;
2. **the scenario** from the window's end, every state slot (stocks and the hidden stocks of
   SMOOTH and DELAY) set to where run *i*'s history ended; the scenario's parameters as usual.

Both use the scenario's kernel, warm-started (``ModelIR.warm_started``: the same kernel,
its start state as parameter columns); the history has the fit scenario's levers instead of
the scenario's (levers are kernel data), so nothing is compiled for it. The
``<state>.start`` columns give the start state. They are filled per chunk, so they are
recorded in the result file with the varied parameters (``varied_values``): run *i*'s start state
is on file. A history run that fails (NaN or inf) hands on an infinite state, so its scenario
run fails too (status 1) instead of silently starting from the model's initial values.

**One history per posterior draw.** With calibrated draws, run *i*'s history is decided by
which row of the posterior sample it draws, and by nothing else when the model draws no
random numbers: every run drawing that row would simulate the same history to the same
bits. So each row's history is simulated once, the first time a run draws it, and its end
state is handed to every run that draws it (:class:`DrawEnds`). A posterior of 12,800 rows
then costs 12,800 history runs, not one per run: at 10^6 runs, 78 times fewer. The numbers
are those of one history per run, bit for bit: the history always runs on the scalar kernel
(the reference; which kernel a batch would get must not depend on its size), which gives a
run's numbers from its parameters alone. A model that draws random numbers keeps one history
per run (its noise differs from run to run), as do runs without calibrated draws (each
history takes the run's own values of the transferred parameters).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ..compilation.ir import start_parameter
from ..core.errors import suggest
from ..kernels.columns import put_rows
from ..language.expressions import names_in
from ..schemas.scenario import ScenarioError, TimeTable
from .model import CompiledModel


class DrawEnds:
    """The end states of histories by row of the posterior sample, each simulated the first
    time a run draws its row (thread-safe: a batch of new rows is simulated under a lock)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ends: np.ndarray | None = None  # (sample rows, states)
        self._done: np.ndarray | None = None
        self.simulated = 0
        """How many histories were simulated (each row's once)."""

    def put(self, out, columns, rows: np.ndarray, size: int, simulate, threads: int | None):
        """``out[:, columns]``: the end states of ``rows`` (rows of a sample of ``size``,
        one per run of ``out``); ``simulate(new_rows, threads)`` gives those of rows not seen
        before (sorted, once)."""
        with self._lock:
            if self._done is None:
                self._done = np.zeros(size, dtype=np.bool_)
            new = np.unique(rows[~self._done[rows]])
            if new.size:
                ends = simulate(new, threads)
                if self._ends is None:
                    self._ends = np.empty((size, ends.shape[1]))
                self._ends[new] = ends
                self._done[new] = True
                self.simulated += new.size
            put_rows(out, columns, self._ends, rows)

    def forget(self) -> None:
        """Drop every end state (a benchmark's cold start)."""
        with self._lock:
            self._ends = self._done = None
            self.simulated = 0


@dataclass(frozen=True)
class HistoryStart:
    """How a scenario's runs get their start state (see the module docstring)."""

    model: CompiledModel
    """The scenario's warm-started kernel with the fit scenario's time tables."""
    base: np.ndarray
    """The history's parameter row before the calibrated draw (as in the fit)."""
    free_columns: np.ndarray
    """Columns of the fit's free parameters."""
    estimates: np.ndarray
    """Their point estimates (window-only ones, when the runs do not draw them)."""
    transfer_columns: np.ndarray
    """Columns of the free parameters carried into scenarios: without posterior draws the
    history takes each run's own values of these (estimates, overrides, a sweep's design)."""
    sample: np.ndarray | None
    """The posterior sample of every free parameter, when the scenario draws them."""
    state_columns: np.ndarray
    """Columns of the ``<state>.start`` inputs, in the kernel's state order."""
    states: list[str]
    method: str
    dt: float | None
    start: float
    stop: float
    record: str = ""
    """What decides the history runs besides the calibration (the fit's scenario, every file
    it extends, the window, method and dt): for the resume fingerprint and the provenance."""
    ends: DrawEnds = field(default_factory=DrawEnds, compare=False, repr=False)
    """The end states of the posterior rows' histories simulated so far."""

    def apply(self, P: np.ndarray, a: int, sampler, threads: int | None = None) -> np.ndarray:
        """Rows ``P`` of runs ``[a, a + len(P))`` with their start state filled in, in place
        (``P`` is the sampler's fresh matrix; a copy of a chunk's rows cost as much as
        filling them); ``P`` returned."""
        out = P
        if not len(P):
            return out
        if self._draws(sampler):
            rows = sampler.posterior_rows(a, a + P.shape[0])
            if self.by_draw(sampler):  # one history per posterior row (module doc)
                size = self.sample.shape[0]
                self.ends.put(out, self.state_columns, rows, size, self._row_ends, threads)
                return out
            H = self._history_rows(rows)
        else:  # the run's own values (estimates, an override, a sweep's design point)
            H = self._history_rows(None, P.shape[0])
            H[:, self.transfer_columns] = P[:, self.transfer_columns]
        out[:, self.state_columns] = self._end_states(H, a, sampler.entropy, threads)
        return out

    def _draws(self, sampler) -> bool:
        """Whether runs take calibrated draws from the posterior sample."""
        return self.sample is not None and getattr(sampler, "posterior", None) is not None

    def by_draw(self, sampler) -> bool:
        """Whether a run's start state is its posterior row's (one history per row)."""
        return self._draws(sampler) and not self.model.draws_random

    def _history_rows(self, rows: np.ndarray | None, n: int = 0) -> np.ndarray:
        """The history's parameter rows: posterior sample ``rows``, or ``n`` rows of the
        estimates (``rows`` None)."""
        H = np.tile(self.base, (n if rows is None else rows.size, 1))
        H[:, self.free_columns] = self.estimates if rows is None else self.sample[rows]
        H[:, self.state_columns] = np.nan  # the history starts from its own initial values
        return H

    def _row_ends(self, rows: np.ndarray, threads: int | None) -> np.ndarray:
        """The end states of posterior sample ``rows``' histories (no random draws: the run
        numbers and the seed decide nothing)."""
        return self._end_states(self._history_rows(rows), 0, None, threads)

    def _call(self, seed):
        """The history runs' kernel call: the scalar kernel whatever the batch (``runs`` not
        given), saving the states at the window's ends."""
        return self.model.kernel_call(
            method=self.method,
            dt=self.dt,
            save_every=self.stop - self.start,
            outputs=self.states,
            start=self.start,
            stop=self.stop,
            seed=seed,
        )

    def prepare(self) -> None:
        """Compile (or load from the cache) the history runs' kernel, without running it."""
        self.model.prepare(self._call(None))

    def _end_states(self, H: np.ndarray, a: int, seed, threads: int | None) -> np.ndarray:
        """Where the histories of rows ``H`` (run numbers from ``a``) end: ``inf`` where one
        failed."""
        res = self.model.run_call(self._call(seed), H, run_offset=a, threads=threads)
        end = res.values[:, -1, :]
        return np.where(np.isfinite(end) & (res.status[:, None] == 0), end, np.inf)


def init_only_parameters(model: CompiledModel) -> set[str]:
    """Parameters that only set initial values (no equation uses them over time)."""
    ir = model.ir
    used: set[str] = set()
    for tree in ir.equations.values():
        used.update(names_in(tree))
    for h in ir.hidden:
        used.update(names_in(h.deriv))
    for d in ir.dfix:
        used.update(names_in(d.input))
    return {p for p in ir.spec.parameters if p not in used}


def _refuse_delay_fixed(source: str, model: CompiledModel) -> None:
    if model.ir.dfix:
        raise ScenarioError(
            source,
            "start_from_history",
            "a model with delay_fixed keeps a buffer that cannot be handed on",
            "use delay3 or delay_n, or set start_from_history: false",
        )


def _check_window(source: str, sc, model: CompiledModel, fit, calibrated) -> None:
    """The fit's window must end where the model starts, and the scenario must leave the
    start state (initial values) to the history."""
    grid = model.grid
    if abs(fit.window.stop - grid.start) > 1e-9 * max(1.0, abs(grid.start)):
        raise ScenarioError(
            source,
            "start_from_history",
            f"the fit's window ends at {fit.window.stop:g} but the model starts at {grid.start:g}",
            "fit a window that ends where the model starts",
        )
    init_only = init_only_parameters(model)
    for name in sc.uncertain:
        if name in init_only or name.endswith(".init"):
            raise ScenarioError(
                source,
                f"uncertain.{name}",
                "sets only an initial value, which start_from_history takes from the history run",
                f"remove it, or give its {fit.window.start:g} value in {calibrated.fit.name}",
            )


def _history_base(source: str, hist_model: CompiledModel, names, history, fit, calibrated):
    """The history's parameter row (columns ``names``) before the calibrated draw: the
    model's defaults with the fit scenario's values and the fit's ``fixed`` ones."""
    fixed = {n: v for n, v in history.scenario.overrides.items() if not isinstance(v, TimeTable)}
    fixed.update(fit.fixed)
    base = hist_model.defaults.copy()
    for name in [*fixed, *calibrated.names]:
        if name not in names:
            raise ScenarioError(
                source, "start_from_history", f"unknown parameter '{name}'", suggest(name, names)
            )
    for name, value in fixed.items():
        base[names.index(name)] = value
    return base


def _history_record(fit, history, tables: dict) -> str:
    """:attr:`HistoryStart.record`. A history without time-tabled levers says that it runs
    on the scalar kernel: before, its batches of 10,000 runs or more took the block kernel
    (numbers equal within that kernel's error), so a partial file of then is not resumed."""
    return "\n".join(
        [
            f"# window {fit.window.start:g}..{fit.window.stop:g}, method "
            f"{history.scenario.method}, dt {history.scenario.dt}",
            *([] if tables else ["# history kernel: scalar, whatever the batch"]),
            *(f"# --- {name}\n{text}" for name, text in history.texts.items()),
        ]
    )


def plan_history_start(source: str, sc, model: CompiledModel, calibrated, raw=None) -> HistoryStart:
    """Check a scenario's ``start_from_history`` and prepare the history runs (``raw``: the
    model file's parsed tree, for line numbers)."""
    from ..schemas.fitfile import load_fit
    from .scenario import load_scenario

    _refuse_delay_fixed(source, model)
    fit = load_fit(calibrated.fit)
    history = load_scenario(calibrated.fit.parent / fit.scenario)
    _check_window(source, sc, model, fit, calibrated)
    tables = {
        n: (o.interpolate, o.points())
        for n, o in history.scenario.overrides.items()
        if isinstance(o, TimeTable)
    }
    ir = model.ir
    if not ir.warm_start:
        model = CompiledModel(ir.warm_started())  # the same kernel: loaded, not compiled
    hist_model = model.with_levers(tables)
    names = list(model.parameter_names)
    states = list(ir.state_names)
    return HistoryStart(
        model=hist_model,
        base=_history_base(source, hist_model, names, history, fit, calibrated),
        free_columns=np.array([names.index(n) for n in calibrated.names], dtype=np.int64),
        estimates=np.array([calibrated.estimates[n] for n in calibrated.names]),
        transfer_columns=np.array([names.index(n) for n in calibrated.transfer], dtype=np.int64),
        sample=calibrated.sample if sc.calibrated_draws else None,
        state_columns=np.array([names.index(start_parameter(s)) for s in states]),
        states=states,
        method=history.scenario.method,
        dt=history.scenario.dt,
        start=fit.window.start,
        stop=fit.window.stop,
        record=_history_record(fit, history, tables),
    )
