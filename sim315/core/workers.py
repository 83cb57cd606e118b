"""Process-wide pools of worker threads, and work split over them.

Numba functions compiled with ``nogil=True`` run in parallel from plain Python threads, so
a few long-lived pools serve the whole process: the kernel's threads over runs
(:mod:`sim315.ensembles.threads`) and the streaming summary's columns
(:mod:`sim315.results.sketch`) each have their own, so that neither queues behind the
other's work. Each pool is made on first use and grown when asked for more threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

_POOLS: dict[str, ThreadPoolExecutor] = {}
_SIZES: dict[str, int] = {}
_LOCK = threading.Lock()


def pool(name: str, n: int) -> ThreadPoolExecutor:
    """The pool ``name`` with at least ``n`` worker threads."""
    with _LOCK:
        if name not in _POOLS or n > _SIZES[name]:
            if name in _POOLS:
                _POOLS[name].shutdown(wait=False)
            _POOLS[name] = ThreadPoolExecutor(max_workers=n, thread_name_prefix=f"sim315-{name}")
            _SIZES[name] = n
        return _POOLS[name]


def in_parallel(name: str, calls: Sequence[Callable[[], object]]) -> None:
    """Call each of ``calls`` at once: the first on the calling thread, the others on the
    pool ``name``; returns when all have, re-raising the first error (after all ended).
    No calls: nothing to do (a sketch of no columns has no blocks)."""
    if not calls:
        return
    if len(calls) == 1:
        calls[0]()
        return
    futures = [pool(name, len(calls) - 1).submit(c) for c in calls[1:]]
    try:
        calls[0]()
    finally:
        for f in futures:
            f.result()


def for_each(name: str, items: Iterable, do: Callable[[object], object], threads: int) -> None:
    """``do(item)`` for each of ``items`` on ``threads`` threads at once (the calling thread
    and the pool ``name``), each taking the next item as it goes, so that a thread that
    starts late takes fewer; returns when all are done, re-raising the first error (after
    all ended). Each ``do`` must write only what its own item owns."""
    left = iter(items)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                item = next(left, _NONE_LEFT)
            if item is _NONE_LEFT:
                return
            do(item)

    in_parallel(name, [work] * max(1, threads))


_NONE_LEFT = object()
