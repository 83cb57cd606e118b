"""Ctrl-C held off while the main thread is inside work that must not stop half-way.

Numba's compiler interrupted half-way (a ``KeyboardInterrupt`` raised between two of its
calls into LLVM) can leave LLVM's objects half-owned; the interpreter then crashed when it
freed them (``sim315 run`` stopped by Ctrl-C while it compiled its kernel: a segmentation
fault instead of the resume hint, about 1 time in 12). The main thread compiles with Ctrl-C
held off: one that comes meanwhile is taken when the compile ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Run the block with SIGINT held off (on the main thread; elsewhere none reaches Python
    code): a Ctrl-C that comes meanwhile is passed to the handler that was in place when the
    block ends (Python's own raises ``KeyboardInterrupt`` there), never inside the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        if caught and callable(previous):
            previous(*caught[0])
        elif caught and previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)
