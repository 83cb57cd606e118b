"""Runs spread over CPU threads: the serial kernel on slices of the runs, in parallel.

The kernel's serial entry point releases the GIL (``nogil=True``), so threads of this
process run it in parallel on disjoint slices of the runs. Numba's own parallel loop
(``prange``) would do the same, but compiling its parallel region costs as much again as
the model (about 1-2 s per kernel module, paid on every model's first run); the threads
cost nothing to compile and a few microseconds per call. A run's numbers depend only on its
parameters, its run number and the seed, so they are the same whatever the slices.
"""

from __future__ import annotations

from ..core.workers import in_parallel, slices
from .kernelcall import run_axis

__all__ = ["run_threads", "slices"]


def run_threads(serial, args: tuple, runs: int, threads: int) -> None:
    """Call ``serial(*args)`` (a kernel entry point taking ``P, lx, ly, lo, t0, dt,
    n_steps, stride, sel, out, status, key, run0``) on ``threads`` slices of the runs at
    once; the first slice runs on the calling thread. ``out`` is sliced on the axis its
    runs are on (:func:`sim315.ensembles.kernelcall.run_axis`)."""
    P, *fixed, out, status, key, run0 = args
    before = (slice(None),) * run_axis(out)

    def one(a: int, b: int):
        o = out[(*before, slice(a, b))]
        return lambda: serial(P[a:b], *fixed, o, status[a:b], key, run0 + a)

    in_parallel("runs", [one(a, b) for a, b in slices(runs, threads)])
