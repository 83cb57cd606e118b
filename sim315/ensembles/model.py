"""A compiled model: the immutable kernel shared by every run, and ensemble simulation."""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import time as _time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

from ..compilation.cache import compile_entry, load_kernel_module
from ..compilation.codegen import generate_source
from ..compilation.ir import ModelIR, TimeGrid, time_grid
from ..compilation.lanes import lane_source, use_lanes
from ..compilation.levers import append_levers, check_levers
from ..core.errors import Sim315Error, suggest
from ..core.seeds import seed_key
from ..imports.loading import compile_file
from ..kernels.driver import STATUS_MESSAGES
from ..kernels.tableaus import METHODS
from . import tables
from .device import require_cuda
from .kernelcall import KernelCall, SimulationResult, values
from .threads import entry_args, run_threads

#: Batches smaller than this run on the calling thread: waking the thread pool costs more.
SERIAL_BELOW = 8


class CompiledModel:
    """A model compiled to one Numba ensemble kernel.

    Build one with :func:`load_model`. The object is immutable and shared by every run;
    each run gets its own state inside the kernel.
    """

    def __init__(self, ir: ModelIR):
        self.ir = ir
        #: Generated sources by method (and by variant key): each written on first use, so
        #: a model's first Euler run does not wait for its RK2 and RK4 kernels' text.
        self._sources: dict[str, str] = {}
        self._modules: dict[str, ModuleType] = {}
        self.parameter_names: tuple[str, ...] = tuple(ir.kernel_params)
        self.output_names: tuple[str, ...] = tuple(ir.record)
        self._param_index = {n: i for i, n in enumerate(self.parameter_names)}
        self._out_index = {n: i for i, n in enumerate(self.output_names)}
        self._times: dict = {}
        self._lookups = tables.pack(ir)
        #: Time-tabled levers, ``name -> (mode, (times, values))``: kernel data that
        #: :meth:`with_levers` sets (the tables follow the lookups in ``_lookups``).
        self.levers: dict = {}
        self._lookups_only = self._lookups

    def _method_source(self, method: str) -> str:
        """The scalar and block-of-runs kernels of ``method``, generated once."""
        if method not in self._sources:
            self._sources[method] = generate_source(self.ir, method) + lane_source(self.ir, method)
        return self._sources[method]

    def hash_of(self, method: str = "euler") -> str:
        """Content hash of ``method``'s kernels (scalar and block-of-runs sources), equal for
        models that differ only in numbers: a run's own, generated to be loaded anyway."""
        return hashlib.sha256(self._method_source(method).encode()).hexdigest()[:20]

    @functools.cached_property
    def hash(self) -> str:
        """:meth:`hash_of` every method's sources at once (writing them all: 0.1 s for
        plan315), as result files recorded it before :meth:`hash_of`."""
        text = "".join(self._method_source(m) for m in METHODS)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    @functools.cached_property
    def draws_random(self) -> bool:
        """Whether the equations draw random numbers: without draws a run's numbers depend
        on its parameters alone (not its run number or the seed), and no seed is needed (a
        fresh one costs 7 us of a 10 us single run). Any generated kernel tells, else Euler's."""
        src = next(iter(self._sources.values()), None) or self._method_source("euler")
        return "_runif(" in src or "_rnorm(" in src

    def with_levers(self, levers) -> CompiledModel:
        """This model (the same kernel, nothing compiled again) with time-tabled levers:
        ``{parameter: (mode, (times, values))}``, mode ``hold`` or ``linear``; they replace
        any the model had (see :mod:`sim315.compilation.levers`)."""
        new = copy.copy(self)
        new.levers = check_levers(self.ir, levers)
        new._lookups = append_levers(self.ir, *self._lookups_only, new.levers)
        return new

    def source_code(self, method: str = "euler", target: str = "cpu") -> str:
        """The generated kernel source for ``method`` on ``target`` (``cpu`` or ``cuda``): the
        variant with time-tabled levers when this model has levers (:meth:`with_levers`)."""
        self._tableau(method)
        if target == "cpu" and not self.levers:
            return self._method_source(method)
        key = self._key(method, target)
        if key not in self._sources:
            try:
                self._sources[key] = generate_source(self.ir, method, target, bool(self.levers))
            except ValueError as exc:
                raise Sim315Error(
                    self.ir.source,
                    "executor",
                    f"the {target} executor cannot run this model: {exc}",
                    "use the local or dask executor",
                ) from None
        return self._sources[key]

    def kernel_module(self, method: str = "euler", target: str = "cpu") -> ModuleType:
        """The compiled kernel module for ``method`` (generated and imported on first use;
        with levers, the variant that reads them: one of two modules of the same model text,
        so a scenario compiles the one it runs)."""
        key = self._key(method, target)
        mod = self._modules.get(key)
        if mod is None:
            if target == "cuda":
                require_cuda()
            mod, _digest, _path = load_kernel_module(self.source_code(method, target))
            self._modules[key] = mod
        return mod

    def _key(self, method: str, target: str) -> str:
        key = method if target == "cpu" else f"{method}:{target}"
        return key + ":levers" if self.levers else key

    @staticmethod
    def _tableau(method: str):
        tab = METHODS.get(method)
        if tab is None:
            raise Sim315Error("method", "", f"unknown method '{method}'", suggest(method, METHODS))
        return tab

    # -- descriptions --------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.ir.spec.name

    @property
    def grid(self) -> TimeGrid:
        return self.ir.grid

    @property
    def defaults(self) -> np.ndarray:
        """Default parameter vector (a copy)."""
        return self.ir.defaults.copy()

    def parameters(self, runs: int = 1, **overrides: float) -> np.ndarray:
        """A parameter matrix ``[runs, n_params]`` of defaults, with named overrides.

        A name with a dot (a stock's initial value, ``teacup.init``) is passed as a dict:
        ``model.parameters(**{"teacup.init": 90.0})``.
        """
        if runs < 1:
            raise Sim315Error("parameters", "runs", f"runs must be at least 1, not {runs}")
        P = np.tile(self.ir.defaults, (runs, 1))
        for name, value in overrides.items():
            P[:, self.parameter_index(name)] = value
        return P

    def parameter_index(self, name: str) -> int:
        try:
            return self._param_index[name]
        except KeyError:
            raise Sim315Error(
                self.ir.source,
                "parameters",
                f"unknown parameter '{name}'",
                suggest(name, self.parameter_names),
            ) from None

    # -- running -------------------------------------------------------------------------
    def simulate(
        self,
        params: np.ndarray | None = None,
        *,
        method: str = "euler",
        dt: float | None = None,
        save_every: float | None = None,
        outputs: Sequence[str] | None = None,
        threads: int | None = None,
        lookups: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
        seed: int | np.random.SeedSequence | None = None,
        run_offset: int = 0,
        start: float | None = None,
        stop: float | None = None,
        target: str = "cpu",
    ) -> SimulationResult:
        """Run an ensemble in one kernel call.

        Parameters
        ----------
        params : ndarray, shape (runs, n_params) or (n_params,), optional
            One row per run, columns in :attr:`parameter_names`; defaults to one default run.
        method : {'euler', 'rk2', 'rk4'}
            Integration method.
        dt, save_every : float, optional
            Override the model file's time step and save period.
        outputs : sequence of str, optional
            Variables to save; default all stocks, flows, auxiliaries and parameters.
        threads : int, optional
            Numba threads for this call; results do not depend on it.
        lookups : mapping, optional
            Replace tables' points: ``{name: (x, y)}``.
        seed : int, SeedSequence or None
            Seed of the equations' random draws (``random_uniform``, ``random_normal``,
            ``pink_noise``); None draws fresh entropy, recorded in the result.
        run_offset : int
            Run number of the first row: run ``run_offset + i`` draws the same numbers in any batch.
        start, stop : float, optional
            Simulate another window (calibration starts earlier); initial values are then
            those of ``start``, so set them in ``params``.
        target : {'cpu', 'cuda'}
            ``cuda``: an NVIDIA GPU (Numba's CUDA simulator when ``NUMBA_ENABLE_CUDASIM=1``),
            one thread per run, in streamed sub-chunks (:mod:`sim315.kernels.cuda_driver`).

        Returns
        -------
        SimulationResult
        """
        call = self.kernel_call(
            method=method,
            outputs=outputs,
            dt=dt,
            save_every=save_every,
            lookups=lookups,
            seed=seed,
            start=start,
            stop=stop,
            runs=1 if params is None or np.ndim(params) < 2 else len(params),
        )
        return self.run_call(call, params, run_offset=run_offset, threads=threads, target=target)

    def kernel_call(
        self,
        *,
        method: str = "euler",
        outputs: Sequence[str] | None = None,
        dt: float | None = None,
        save_every: float | None = None,
        lookups: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
        seed: int | np.random.SeedSequence | None = None,
        start: float | None = None,
        stop: float | None = None,
        runs: int | None = None,
    ) -> KernelCall:
        """The kernel's inputs that are the same for every chunk of a run (arguments as in
        :meth:`simulate`), checked; run chunks with :meth:`run_call`, or pass
        ``call.args(P, out, status, run0)`` to the entry point ``call.entry_points`` names
        in :meth:`kernel_module`.

        ``runs``: the ensemble's size, which picks the kernel of every chunk
        (:func:`sim315.compilation.lanes.use_lanes`; None: the scalar kernel).
        """
        self._tableau(method)
        grid = self.grid_for(dt, save_every, start, stop)
        sel = self._selection(outputs)
        if seed is None and not self.draws_random:
            key, entropy = np.uint64(0), None  # nothing to repeat
        else:
            key, entropy = seed_key(seed)
        lx, ly, lo = self._lookup_arrays(lookups)
        names = self.output_names if outputs is None else tuple(self.output_names[i] for i in sel)
        same_tables = lo is self._lookups[2] or np.array_equal(lo, self._lookups[2])
        lanes = not self.levers and same_tables and use_lanes(self.ir, runs)
        return KernelCall(method, grid, lx, ly, lo, sel, names, key, entropy, lanes)

    def run_call(
        self,
        call: KernelCall,
        params: np.ndarray | None = None,
        *,
        run_offset: int = 0,
        threads: int | None = None,
        target: str = "cpu",
        buffers: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> SimulationResult:
        """Run the rows ``params`` (run numbers ``run_offset ...``) with ``call``'s inputs in
        one kernel call (arguments as in :meth:`simulate`). ``buffers``: ``(out, status)``
        to write into (:meth:`KernelCall.buffers`' shapes and types; every value is
        written), else new ones."""
        P = self.ir.defaults[None, :] if params is None else np.asarray(params, dtype=np.float64)
        if P.ndim == 1:
            P = P[None, :]
        if P.ndim != 2 or P.shape[1] != len(self.parameter_names):
            raise Sim315Error(
                "params", "", f"expected shape (runs, {len(self.parameter_names)}), got {P.shape}"
            )
        P = np.ascontiguousarray(P)
        if target == "cuda" and call.lanes:  # the GPU's kernel is one run a thread
            call = dataclasses.replace(call, lanes=False)
        out, status = call.buffers(P.shape[0]) if buffers is None else buffers
        args = call.args(P, out, status, run_offset)
        if target == "cuda":
            self.kernel_module(call.method, "cuda").run_cuda(*args)
        else:
            self._run_cpu(call, args, P.shape[0], threads)
        times = self._times.get(call.grid)
        if times is None:
            times = self._times[call.grid] = call.grid.times()
            times.flags.writeable = False  # shared by every result on this grid
        return SimulationResult(times, values(out), call.names, status, call.entropy)

    def _run_cpu(self, call: KernelCall, args: tuple, runs: int, threads: int | None) -> None:
        import numba

        if threads is not None and not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
            raise Sim315Error(
                "threads", "", f"threads must be 1..{numba.config.NUMBA_NUM_THREADS}, not {threads}"
            )
        mod = self.kernel_module(call.method)
        serial = getattr(mod, call.entry_points[1])
        compile_entry(serial, entry_args(args))  # once, before any thread calls it
        n_threads = numba.config.NUMBA_NUM_THREADS if threads is None else threads
        # the serial kernel in threads (one: this one), no parallel region to compile
        run_threads(serial, args, runs, 1 if runs < SERIAL_BELOW else n_threads)

    def prepare(self, call: KernelCall) -> None:
        """Compile (or load from the cache) the CPU kernel that :meth:`run_call` calls with
        ``call``, without running it: a run does it before its progress clock starts."""
        P = np.ascontiguousarray(self.ir.defaults[None, :], dtype=np.float64)
        out, status = call.buffers(1)
        serial = getattr(self.kernel_module(call.method), call.entry_points[1])
        compile_entry(serial, entry_args(call.args(P, out, status, 0)))  # every chunk's types

    def warm_up(self, method: str = "euler") -> float:
        """Compile (or load from the cache) the kernels of ``method``; returns the seconds."""
        t0 = _time.perf_counter()
        first = self.output_names[:1]
        self.simulate(outputs=first, threads=1, method=method)
        self.simulate(
            self.parameters(SERIAL_BELOW), outputs=first, threads=_max_threads(), method=method
        )
        return _time.perf_counter() - t0

    def grid_for(
        self,
        dt: float | None = None,
        save_every: float | None = None,
        start: float | None = None,
        stop: float | None = None,
    ) -> TimeGrid:
        """The time grid with optional overrides of dt, the save period and the window."""
        g = self.grid
        if dt is None and save_every is None and start is None and stop is None:
            return g
        new_dt = g.dt if dt is None else dt
        if save_every is None:
            save_every = g.save_every if dt is None else max(g.save_every, new_dt)
        return time_grid(
            g.start if start is None else start,
            g.stop if stop is None else stop,
            new_dt,
            save_every,
            g.units,
            self.ir.source,
        )

    def _selection(self, outputs: Sequence[str] | None) -> np.ndarray:
        if outputs is None:
            return np.arange(len(self.output_names), dtype=np.int64)
        idx = []
        for name in outputs:
            if name not in self._out_index:
                raise Sim315Error(
                    self.ir.source,
                    "outputs",
                    f"unknown output '{name}'",
                    suggest(name, self.output_names),
                )
            idx.append(self._out_index[name])
        return np.array(idx, dtype=np.int64)

    def _lookup_arrays(self, lookups):
        if not lookups:
            return self._lookups
        return tables.with_tables(self.ir, lookups, self.levers)

    @staticmethod
    def status_message(code: int) -> str:
        return STATUS_MESSAGES.get(int(code), f"unknown status {code}")


def _max_threads() -> int:
    import numba

    return numba.config.NUMBA_NUM_THREADS


def load_model(path: str | Path, data_files=None) -> CompiledModel:
    """Compile a model file to its ensemble kernel (loading it from the cache when it can).
    ``data_files`` (a path or a list): for a Vensim model whose data variables have no
    equation, the ``.tab``/``.csv`` files holding their values (as ``sim315 import --data``).
    """
    return CompiledModel(compile_file(path, data_files=data_files))
