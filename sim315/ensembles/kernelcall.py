"""What every chunk of a run passes to the ensemble kernel, built once per run, and what
a kernel call gives back (:class:`SimulationResult`).

A :class:`KernelCall` holds the inputs that are the same for every chunk: the tables' points,
the time grid, the selected outputs, the random draws' key, the integration method. Its
:meth:`KernelCall.args` is the one place where the entry points' argument list is written
(``ensemble``, ``ensemble_serial``, ``run_cuda``, ``launch_cuda`` in
:mod:`sim315.kernels.driver` and :mod:`sim315.kernels.cuda_driver`; ``ensemble_lanes`` and
``ensemble_lanes_serial`` of :mod:`sim315.kernels.lanes_driver`, which
:attr:`KernelCall.entry_points` names when the call runs on lanes): ``model.simulate``, the
local, Dask and CUDA executors and the benchmarks all call the kernel through it. Build one
with :meth:`sim315.ensembles.model.CompiledModel.kernel_call`. It pickles (the Dask executor
ships it to workers once).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..compilation.ir import TimeGrid
from ..core.errors import suggest
from ..kernels.driver import STATUS_OK
from ..kernels.lanes_driver import by_column as _lanes_by_column

#: Elements past each column's runs in a block-of-runs output buffer (see
#: :meth:`KernelCall.buffers`).
COLUMN_PAD = 8
#: Largest output the block-of-runs kernel writes by column: a larger one's columns would
#: lie megabytes apart, and each block, writing to every one, waits on address translation
#: (plan315, 10^5 runs in one call, 1.3 GB: 0.39 s by column, 0.31 s by rows of runs;
#: `LargeCallLayout` in benchmarks/suite/bench_stream.py).
COLUMN_BYTES = 64 << 20


def by_column(out: np.ndarray) -> bool:
    """Whether a kernel's output array is by column (saved times, outputs, runs), as
    :meth:`KernelCall.buffers` makes them: the kernel's own rule
    (:func:`sim315.kernels.lanes_driver.by_column`), in Python."""
    return out.ndim == 3 and _lanes_by_column.py_func(out)


def values(out: np.ndarray) -> np.ndarray:
    """A kernel's output array as (runs, saved times, outputs): itself, or the transposed
    view of one by column (no copy)."""
    return out.transpose(2, 0, 1) if by_column(out) else out


def run_axis(out: np.ndarray) -> int:
    """The axis of a kernel's output array that runs are on."""
    return 2 if by_column(out) else 0


@dataclass(frozen=True, eq=False)
class KernelCall:
    """The fixed inputs of a model's ensemble kernel for one run of many chunks.

    Attributes
    ----------
    method : str
        Integration method (which compiled kernel to call).
    grid : TimeGrid
        Start, dt, steps and the save stride.
    lx, ly, lo : ndarray
        Every table's points, flat (``lo``: each table's offsets).
    sel : ndarray of int64
        Indices of the saved outputs among the model's recorded variables.
    names : tuple of str
        The saved outputs' names, in ``sel``'s order (the last axis of ``out``).
    key : numpy.uint64
        Key of the equations' random draws.
    entropy : int or None
        The seed entropy ``key`` came from.
    lanes : bool
        Run on the block-of-runs kernel (``ensemble_lanes``,
        :mod:`sim315.compilation.lanes`) instead of the scalar one: decided once per
        ensemble, so every chunk of a run uses the same kernel.
    """

    method: str
    grid: TimeGrid
    lx: np.ndarray
    ly: np.ndarray
    lo: np.ndarray
    sel: np.ndarray
    names: tuple[str, ...]
    key: np.uint64
    entropy: int | None = None
    lanes: bool = False

    @property
    def entry_points(self) -> tuple[str, str]:
        """Names of the CPU entry points this call runs: (parallel, serial)."""
        if self.lanes:
            return "ensemble_lanes", "ensemble_lanes_serial"
        return "ensemble", "ensemble_serial"

    @property
    def n_outputs(self) -> int:
        return len(self.names)

    def writes_by_column(self, runs: int) -> bool:
        """Whether the kernel writes the outputs of ``runs`` runs by column (on lanes, up to
        :data:`COLUMN_BYTES` of outputs: a chunk of ``sim315 run``)."""
        return self.lanes and runs * self.grid.n_saved * self.n_outputs * 8 <= COLUMN_BYTES

    def out_shape(self, runs: int) -> tuple[int, int, int]:
        """Shape of the kernel's output array for ``runs`` runs: (runs, saved times,
        outputs); by column (saved times, outputs, runs), each (time, output) column of the
        runs contiguous, as the streaming summary counts them (:func:`values`)."""
        if self.writes_by_column(runs):
            return (self.grid.n_saved, self.n_outputs, runs)
        return (runs, self.grid.n_saved, self.n_outputs)

    def buffers(self, runs: int) -> tuple[np.ndarray, np.ndarray]:
        """New host buffers ``(out, status)`` for ``runs`` runs. By column, ``out`` is a view
        of a buffer whose columns are :data:`COLUMN_PAD` to 15 elements longer (a multiple
        of 8): never contiguous, so that the kernel is typed, and compiled, once for every
        chunk and thread's slice (an array's layout is part of its Numba type), and told
        from rows of runs (:func:`by_column`)."""
        status = np.zeros(runs, dtype=np.int32)
        if not self.writes_by_column(runs):
            return np.empty(self.out_shape(runs)), status
        room = (runs + COLUMN_PAD + 7) // 8 * 8
        return np.empty((self.grid.n_saved, self.n_outputs, room))[:, :, :runs], status

    def args(self, P, out, status, run0: int = 0) -> tuple:
        """The entry points' arguments for the rows ``P`` (run numbers ``run0 ...``), writing
        into ``out`` and ``status``: host arrays, or device arrays for ``launch_cuda``
        after :meth:`on_device`."""
        g = self.grid
        return (
            P,
            self.lx,
            self.ly,
            self.lo,
            g.start,
            g.dt,
            np.int64(g.n_steps),
            np.int64(g.stride),
            self.sel,
            out,
            status,
            self.key,
            np.int64(run0),
        )

    def on_device(self) -> KernelCall:
        """This call with its arrays copied to the GPU (``numba.cuda``), for launching
        ``launch_cuda`` of a model's CUDA module on device-resident arrays."""
        from numba import cuda

        return dataclasses.replace(
            self,
            lx=cuda.to_device(self.lx),
            ly=cuda.to_device(self.ly),
            lo=cuda.to_device(self.lo),
            sel=cuda.to_device(self.sel),
        )


@dataclass(frozen=True)
class SimulationResult:
    """The outputs of an ensemble.

    Attributes
    ----------
    time : ndarray, shape (n_saved,)
        Saved times.
    values : ndarray, shape (runs, n_saved, n_outputs)
        Saved values, NaN after a run stopped.
    names : tuple of str
        Output names, the last axis of ``values``.
    status : ndarray of int32, shape (runs,)
        Per-run status code (0 = ok); see :data:`sim315.kernels.driver.STATUS_MESSAGES`.
    entropy : int
        The seed entropy of the random draws (repeat them with ``seed=entropy``).
    """

    time: np.ndarray
    values: np.ndarray
    names: tuple[str, ...]
    status: np.ndarray
    entropy: int | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        """Values of one output, shape (runs, n_saved)."""
        try:
            return self.values[:, :, self.names.index(name)]
        except ValueError:
            raise KeyError(f"no output '{name}'; {suggest(name, self.names)}") from None

    @property
    def n_failed(self) -> int:
        return int(np.count_nonzero(self.status != STATUS_OK))
