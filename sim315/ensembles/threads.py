"""Runs spread over CPU threads: the serial kernel called by several threads at once, each
taking runs as it goes.

The kernel's serial entry point releases the GIL (``nogil=True``), so threads of this
process run it in parallel. They share one ``claims`` counter
(:mod:`sim315.kernels.claims`): each takes the next share of the runs (an eighth of a
thread's part) until none are left, so that a thread that starts late (woken, then waiting
for the GIL to make its call) or shares its core with the run's writer and summary threads
takes fewer, and the caller does not wait for it at the end, as it did with fixed slices
(0.9 s of a 9 s ``sim315 run`` of 10^6 plan runs). Numba's own parallel loop (``prange``)
would split the runs in fixed slices too, and compiling its parallel region costs as much
again as the model (about 1-2 s per kernel module, paid on every model's first run); the
threads cost nothing to compile and a few microseconds per call. A run's numbers depend only
on its parameters, its run number and the seed, so they are the same whoever computes it.
"""

from __future__ import annotations

from ..core.workers import in_parallel
from ..kernels.claims import claims_for

__all__ = ["CLAIMS_PER_THREAD", "entry_args", "run_threads"]

#: Claims each thread's part of a call's runs is taken in.
CLAIMS_PER_THREAD = 8


def entry_args(args: tuple, parts: int = 1) -> tuple:
    """A kernel call's ``args`` with a fresh ``claims`` of ``parts`` claims: the serial
    entry point's arguments (``parts`` 1: one caller computes every run)."""
    return (*args, claims_for(parts))


def run_threads(serial, args: tuple, runs: int, threads: int) -> None:
    """Call ``serial(*args, claims)`` (a kernel entry point taking ``P, lx, ly, lo, t0, dt,
    n_steps, stride, sel, out, status, key, run0, claims``) on ``threads`` threads at once,
    the calling thread one of them, sharing one ``claims``: together they compute every run
    once (:mod:`sim315.kernels.claims`)."""
    threads = max(1, min(threads, runs))
    full = entry_args(args, threads * CLAIMS_PER_THREAD if threads > 1 else 1)
    in_parallel("runs", [lambda: serial(*full)] * threads)
