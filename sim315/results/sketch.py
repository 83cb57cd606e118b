"""Percentiles of many columns over a stream of runs, the same for any chunking or thread
count, in bounded memory.

A :class:`ColumnSketch` is fed the rows of runs in run order (``feed(a, X, ok)``: runs
``a, a+1, ...``; failed runs and non-finite values are left out). An ensemble whose values
fit :data:`PREFIX_BYTES` is kept whole and its percentiles are exact (numpy's linear method,
bit for bit). A larger one keeps its first :data:`CALIBRATION_RUNS` runs (by run number, so
the same runs whatever the chunks), which calibrate one histogram per column: :data:`BINS`
bins over their 5-95 % band widened by a quarter of its width each side, plus a count below
and above. Every value (theirs too) is counted in its bin; the column's least and greatest
values are kept, with how many runs reach each (a floor or a cap). An order statistic is
then placed in its bin by rank, so its error is at most the bin width, 1.5 / 4096 of the
calibration runs' band (0 where it is the least or greatest value, as for a constant column
or a cap most runs reach, and for whole numbers in bins narrower than a half: one per bin);
each percentile's bound is reported. Where the first runs put an end of the band on a floor
or cap, the values beside it are kept exactly (:class:`.interior.Interior`). A column whose bound
exceeds :data:`MAX_ERROR` of its 5-95 % band (the band moved since the first runs, a needed
value fell below or above the bins, or the band is a point) is *pending*: the caller feeds
the runs again (:meth:`ColumnSketch.exact_pass`), keeping those columns' values, for exact
percentiles. Counts and extremes do not depend on the order in which values arrive, so the
result is a function of the runs alone.
"""

from __future__ import annotations

import numpy as np

from ..core.workers import for_each, in_parallel
from ..kernels.claims import claims_for
from ..kernels.histograms import hist_add, hist_add_columns, hist_percentiles
from ..kernels.stats import row_percentiles_serial
from .interior import Interior

#: Bins per column's histogram.
BINS = 4096
#: Largest error bound accepted without an exact pass, as a share of the 5-95 % band.
MAX_ERROR = 1e-3
#: Memory for the values kept exactly: an ensemble that fits is summarised exactly (its run
#: count is at least :data:`MIN_PREFIX`); a larger one is calibrated on its first
#: :data:`CALIBRATION_RUNS` runs.
PREFIX_BYTES = 96 << 20
MIN_PREFIX = 2048
CALIBRATION_RUNS = 4096
#: Columns of the kept runs gathered at a time, by column (2 MB of 4,096 runs).
KEPT_COLUMNS = 64
#: Memory for one exact pass's kept values.
EXACT_BYTES = 128 << 20
#: Runs counted into 16-bit histograms before they are added to the totals.
DELTA_ROWS = 0xFFFF
#: Claims each counting thread's part of a chunk's columns is taken in: a block of 16
#: columns (about 0.1 ms of counting) a claim, at the plan's 1,683 columns and 2 threads.
CLAIMS_PER_THREAD = 64


def _count(X, ok, args, claims):
    return lambda: hist_add(X, ok, *args, 0, -1, claims)


def _count_columns(Z, r0: int, ok, args, claims):
    return lambda: hist_add_columns(Z, r0, ok, *args, 0, -1, claims)


def prefix_runs(cols: int) -> int:
    """Runs whose values are kept exactly: a function of the column count only."""
    return max(MIN_PREFIX, PREFIX_BYTES // (8 * max(1, cols)))


def exact_percentiles(M: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(cols, len(q))`` quantiles of each row of ``M`` over its finite values (numpy's
    linear method, bit for bit; NaN for a row without any)."""
    cols = M.shape[0]
    out = np.full((cols, q.size), np.nan)
    if M.shape[1] == 0:
        return out
    fin = np.isfinite(M).all(axis=1)
    if fin.any():
        sub = M if fin.all() else M[fin]  # no copy in the usual case
        res = np.empty((sub.shape[0], q.size))
        row_percentiles_serial(sub, q, res)
        out[fin] = res
    for c in np.flatnonzero(~fin):
        v = M[c][np.isfinite(M[c])]
        if v.size:
            out[c] = np.percentile(v, 100.0 * q)
    return out


class ColumnSketch:
    """Percentiles ``q`` (0..1; the first and last are the band checked) of ``cols``
    columns over ``runs`` runs (see the module docstring)."""

    def __init__(
        self, runs: int, cols: int, q, prefix: int | None = None, finite=False, threads=None
    ):
        # threads counting blocks of columns at once: the writer's work keeps up with a
        # kernel that has the whole machine (default: Numba's thread count)
        self.threads = threads or _default_threads()
        self.finite = bool(finite)  # every value fed is finite (outputs of finished runs)
        self.runs = int(runs)
        self.cols = int(cols)
        self.q = np.asarray(q, dtype=np.float64)
        exact = prefix or prefix_runs(cols)
        # every run kept when they fit, else the first few calibrate the bins
        self.prefix = self.runs if self.runs <= exact else min(exact, CALIBRATION_RUNS)
        self._kept: list[np.ndarray] = []
        self._next = 0
        self.hist: dict | None = None
        self._exact: dict[int, np.ndarray] = {}  # column -> exact quantiles (exact passes)
        self._collect: tuple | None = None
        self._interior: Interior | None = None
        self._result: tuple | None = None  # result() until the next run is fed or pass ends

    @property
    def streaming(self) -> bool:
        """Whether the percentiles come from histograms (more runs than the prefix)."""
        return self.runs > self.prefix

    @property
    def collecting(self) -> bool:
        return self._collect is not None

    def feed(self, a: int, X: np.ndarray, ok: np.ndarray, Z: np.ndarray | None = None) -> None:
        """The rows ``X`` (``(n, cols)``) of runs ``a .. a + n``, the next in run order.
        ``Z``: the same values held by column (:func:`sim315.results.columns.chunk_columns`;
        ``X`` a view of it), counted where they lie; the same counts either way."""
        self._result = None
        if a != self._next:
            raise ValueError(f"runs must come in order: expected run {self._next}, got {a}")
        n = X.shape[0]
        self._next = a + n
        if self._collect is not None:
            cols, kept, filled = self._collect
            part = X[ok][:, cols]
            kept[:, filled[0] : filled[0] + part.shape[0]] = part.T
            filled[0] += part.shape[0]
            return
        k = 0
        if a < self.prefix:
            k = min(a + n, self.prefix) - a
            whole = ok[:k].all()  # else a copy of the finished runs' rows
            self._kept.append((X[:k], Z) if whole else (X[:k][ok[:k]], None))
            if a + k == self.prefix and self.streaming:
                self._calibrate()
        if k < n and self.hist is not None:
            self._add(X[k:], ok[k:], Z, k)

    def _add(self, X: np.ndarray, ok: np.ndarray, Z=None, r0: int = 0) -> None:
        """Count the rows ``X`` (or, given ``Z``, its columns from row ``r0``)."""
        h = self.hist
        if Z is None:
            X = np.ascontiguousarray(X)
        ok = np.ascontiguousarray(ok, dtype=np.bool_)
        take = None if self._interior is None else self._interior.take(self.cols, X.shape[0])
        for a in range(0, X.shape[0], DELTA_ROWS):  # no 16-bit count can overflow
            keep = ok[a : a + DELTA_ROWS]
            if h["since"] + keep.shape[0] > DELTA_ROWS:
                self._flush()
            args = (h["lo"], h["scale"], h["delta"], h["stats"], self.finite, take)
            # the threads claim blocks of columns as they go (each column's counts are its
            # own: the same for any split); a thread that starts late (waiting for the GIL
            # to make its call, 2-4 ms) takes fewer, and none waits for it
            claims = claims_for(self.threads * CLAIMS_PER_THREAD if self.threads > 1 else 1)
            if Z is None:
                task = _count(X[a : a + DELTA_ROWS], keep, args, claims)
            else:
                task = _count_columns(Z, r0 + a, keep, args, claims)
            in_parallel("summary", [task] * self.threads)
            h["since"] += keep.shape[0]
        if take is not None:
            self._interior.add(take)

    def _flush(self) -> None:
        """The 16-bit counts into the totals (integers: exact, whenever it runs)."""
        h = self.hist
        h["counts"] += h["delta"]
        h["delta"][:] = 0
        h["since"] = 0

    def _kept_percentiles(self) -> np.ndarray:
        """The exact percentiles of the kept runs, a block of :data:`KEPT_COLUMNS` columns
        at a time (never every kept run by column: 54 MB of new memory for the main job's
        4,000 runs)."""
        v = np.empty((self.cols, self.q.size))
        for c0 in range(0, self.cols, KEPT_COLUMNS):
            c1 = min(self.cols, c0 + KEPT_COLUMNS)
            v[c0:c1] = exact_percentiles(_by_column(self._kept, c0, c1), self.q)
        return v

    def _band(self, kept: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The 5-95 % band, least and greatest of each column over the ``kept`` runs, a block
        of :data:`KEPT_COLUMNS` at a time (never the whole prefix by column: 55 MB of new
        memory at the plan's 1,683 columns, 0.2 s of first touches on a fresh VM), the
        sketch's threads taking blocks as they go (each block's numbers its own: the same
        for any split; the copy, the order statistics and numpy's reductions release the
        GIL). The run's first chunks wait for it: the plan's 1,683 columns of 7,476 runs,
        alone, 140-148 ms on one thread, 80-92 ms on two."""
        band = np.empty((self.cols, 2))
        low, high = np.empty(self.cols), np.empty(self.cols)

        def of_block(c0: int) -> None:
            c1 = min(self.cols, c0 + KEPT_COLUMNS)
            block = _by_column(kept, c0, c1)
            band[c0:c1] = exact_percentiles(block, np.array([0.05, 0.95]))
            with np.errstate(invalid="ignore"):
                low[c0:c1] = block.min(axis=1, initial=np.inf)
                high[c0:c1] = block.max(axis=1, initial=-np.inf)

        for_each("summary", range(0, self.cols, KEPT_COLUMNS), of_block, self.threads)
        return band, low, high

    def _calibrate(self) -> None:
        """Histogram bins from the prefix's band; the prefix is counted in them (by column
        where it was fed so) and freed."""
        kept, self._kept = self._kept, []
        band, low, high = self._band(kept)
        # a floor or cap at the band's edge: the values between them are kept exactly
        floor, cap = (band[:, 0] == low) & (high > low), (band[:, 1] == high) & (high > low)
        if (floor | cap).any():
            self._interior = Interior(np.flatnonzero(floor | cap), low, high, floor, cap)
        lo, hi = band[:, 0], band[:, 1]
        with np.errstate(invalid="ignore", over="ignore"):
            w = hi - lo
            lo, hi = lo - 0.25 * w, hi + 0.25 * w
            flat = ~(np.isfinite(lo) & np.isfinite(hi) & (hi > lo))
            lo = np.where(flat, np.nan_to_num(band[:, 0]) - 0.5, lo)
            width = np.where(flat, 1.0, hi - lo)
        self.hist = {
            "lo": np.ascontiguousarray(lo, dtype=np.float64),
            "scale": BINS / width,
            # [below, bins..., above]; int32 halves the memory where no bin can overflow it
            "counts": np.zeros((self.cols, BINS + 2), np.int32 if self.runs < 2**31 else np.int64),
            # the counts of the last runs (at most DELTA_ROWS), half the bytes to touch for
            # every chunk (the counting is bound by memory), added to the totals when read
            "delta": np.zeros((self.cols, BINS + 2), np.uint16),
            "since": 0,
            # per column: values added, least, greatest, how many equal each, whole numbers
            "stats": np.tile(np.array([0.0, np.inf, -np.inf, 0.0, 0.0, 1.0]), (self.cols, 1)),
        }
        for x, z in kept:
            self._add(x, np.ones(x.shape[0], dtype=np.bool_), z)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values, bounds)``, each ``(cols, len(q))``: the quantiles and a bound on each
        one's absolute error (0 where exact); read-only, made once for the runs fed (the
        pending check and the summary ask for the same)."""
        if self._result is None:
            v, e = self._percentiles()
            v.flags.writeable = e.flags.writeable = False
            self._result = v, e
        return self._result

    def _percentiles(self) -> tuple[np.ndarray, np.ndarray]:
        if self.hist is None:
            v = self._kept_percentiles()
            return v, np.zeros_like(v)
        h = self.hist
        self._flush()
        v = np.empty((self.cols, self.q.size))
        e = np.empty_like(v)
        hist_percentiles(self.q, h["counts"], h["stats"], h["lo"], h["scale"], v, e)
        if self._interior is not None:
            self._interior.settle(self.q, h["stats"], v, e, self.threads)
        for c, exact in self._exact.items():
            v[c], e[c] = exact, 0.0
        return v, e

    def pending(self) -> np.ndarray:
        """Columns whose error bound exceeds :data:`MAX_ERROR` of their 5-95 % band (none
        while the values are kept whole: their percentiles are exact, and not computed here
        only to be computed again for the summary)."""
        if self.hist is None:
            return np.empty(0, dtype=np.int64)
        v, e = self.result()
        worst = e.max(axis=1) if e.size else np.zeros(self.cols)
        band = v[:, -1] - v[:, 0] - 2 * worst
        with np.errstate(invalid="ignore"):
            bad = ~(worst <= MAX_ERROR * np.maximum(band, 0.0))
        return np.flatnonzero(bad & (worst > 0))

    def exact_pass(self, columns: np.ndarray) -> None:
        """Start a pass that keeps every value of ``columns``: feed the runs again from run
        0, then call :meth:`end_pass`."""
        self._result = None
        cols = np.asarray(columns, dtype=np.int64)
        self._collect = (cols, np.empty((cols.size, self.runs)), [0])  # values by column
        self._next = 0

    def end_pass(self) -> None:
        cols, kept, filled = self._collect
        self._collect = self._result = None
        exact = exact_percentiles(kept[:, : filled[0]], self.q)
        for i, c in enumerate(cols):
            self._exact[int(c)] = exact[i]

    def pass_size(self) -> int:
        """Columns one exact pass may keep within :data:`EXACT_BYTES`."""
        return max(1, EXACT_BYTES // (8 * max(1, self.runs)))


def _by_column(kept: list, c0: int, c1: int) -> np.ndarray:
    """Columns ``c0 .. c1`` of the ``kept`` parts (rows of runs, in order) by column,
    ``(c1 - c0, runs)``, C-ordered: a part fed by column is copied where it lies."""
    if not kept:
        return np.empty((c1 - c0, 0))
    return np.ascontiguousarray(np.concatenate([x[:, c0:c1].T for x, _ in kept], axis=1))


def _default_threads() -> int:
    import numba

    return numba.config.NUMBA_NUM_THREADS
