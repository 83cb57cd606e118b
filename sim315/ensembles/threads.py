"""Runs spread over CPU threads: the serial kernel on slices of the runs, in parallel.

The kernel's serial entry point releases the GIL (``nogil=True``), so threads of this
process run it in parallel on disjoint slices of the runs. Numba's own parallel loop
(``prange``) would do the same, but compiling its parallel region costs as much again as
the model (about 1-2 s per kernel module, paid on every model's first run); the threads
cost nothing to compile and a few microseconds per call. A run's numbers depend only on its
parameters, its run number and the seed, so they are the same whatever the slices.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_LOCK = threading.Lock()


def _pool(n: int) -> ThreadPoolExecutor:
    """A process-wide pool of at least ``n`` worker threads (made once, grown if asked)."""
    global _POOL, _POOL_SIZE
    with _LOCK:
        if _POOL is None or n > _POOL_SIZE:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="sim315-runs")
            _POOL_SIZE = n
        return _POOL


def slices(runs: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous, nearly equal slices of ``range(runs)`` (none empty)."""
    parts = max(1, min(parts, runs))
    edges = [runs * k // parts for k in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def run_threads(serial, args: tuple, runs: int, threads: int) -> None:
    """Call ``serial(*args)`` (a kernel entry point taking ``P, lx, ly, lo, t0, dt,
    n_steps, stride, sel, out, status, key, run0``) on ``threads`` slices of the runs at
    once; the first slice runs on the calling thread."""
    P, *fixed, out, status, key, run0 = args
    parts = slices(runs, threads)

    def one(a: int, b: int):
        return serial(P[a:b], *fixed, out[a:b], status[a:b], key, run0 + a)

    if len(parts) == 1:
        one(*parts[0])
        return
    futures = [_pool(len(parts) - 1).submit(one, a, b) for a, b in parts[1:]]
    try:
        one(*parts[0])
    finally:
        for f in futures:
            f.result()  # re-raises a slice's error
