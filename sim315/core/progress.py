"""A progress line for long ensembles: runs done, runs per second, time left; and a note
for a wait before it (:func:`note_if_slow`)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Reports progress on ``stream`` (stderr by default).

    On a terminal the line is redrawn in place at most ten times a second; elsewhere (logs,
    CI) a line is printed at each further tenth of the work. Nothing is shown for work that
    ends within ``quiet_below`` seconds, nor when ``enabled`` is false.
    """

    def __init__(
        self,
        total: int,
        *,
        label: str = "runs",
        stream: TextIO | None = None,
        enabled: bool = True,
        quiet_below: float = 1.0,
    ):
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.quiet_below = quiet_below
        self.start = time.perf_counter()
        self.done = 0
        self.first = 0
        self._last_draw = 0.0
        self._last_tenth = 0
        self._drawn = False
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def resume_from(self, done: int) -> None:
        self.done = self.first = done

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        now = time.perf_counter()
        elapsed = now - self.start
        if elapsed < self.quiet_below and done < self.total:
            return
        if self._tty:
            if now - self._last_draw >= 0.1 or done >= self.total:
                self._last_draw = now
                self.stream.write("\r" + self.line() + "\x1b[K")
                self.stream.flush()
                self._drawn = True
        else:
            tenth = 10 * done // max(1, self.total)
            if tenth > self._last_tenth:
                self._last_tenth = tenth
                self.stream.write(self.line() + "\n")
                self.stream.flush()

    def line(self) -> str:
        elapsed = max(1e-9, time.perf_counter() - self.start)
        rate = (self.done - self.first) / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = "done" if self.done >= self.total else f"ETA {_duration(left)}"
        pct = 100.0 * self.done / max(1, self.total)
        return (
            f"{self.done:,}/{self.total:,} {self.label} ({pct:.0f}%)  "
            f"{rate:,.0f} {self.label}/s  {eta}"
        )

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


@contextmanager
def note_if_slow(
    message: str, *, enabled: bool = True, after: float = 1.0, stream: TextIO | None = None
) -> Iterator[None]:
    """Say ``message`` on ``stream`` (stderr by default) once the block has run ``after``
    seconds, and how long it took when it ends: a wait the user would not otherwise
    understand (a model text's first compile, which later runs load from the cache). A
    block that ends sooner shows nothing."""
    stream = stream or sys.stderr
    t0 = time.perf_counter()
    shown = threading.Event()

    def show() -> None:
        stream.write(f"{message} ...\n")
        stream.flush()
        shown.set()

    timer = threading.Timer(after, show)
    timer.daemon = True
    if enabled:
        timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if enabled:
            timer.join()  # a note being written is finished first
        if shown.is_set():
            stream.write(f"... done in {_duration(time.perf_counter() - t0)}\n")
            stream.flush()


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"
