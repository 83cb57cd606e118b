"""Exact percentiles of many long rows, fast: histogram bracketing, then selection.

``np.percentile`` over a million runs costs about 25 ms per (output, time) column, which
made the summary of a large ensemble slower than the ensemble itself. Here each row is
scanned a few times with cheap arithmetic: once for its range, once into a histogram that
brackets every order statistic needed, once to gather the few values in those bins, which
are then sorted. The result equals numpy's ``linear`` method (same interpolation formula).
Rows are independent, so they run in parallel.
"""

import numpy as np
from numba import njit, prange

_BINS = 4096


@njit(cache=True)
def _lerp(a, b, t):
    # numpy's _lerp: the same formula, so results match np.percentile bit for bit
    d = b - a
    if t >= 0.5:
        return b - d * (1.0 - t)
    return a + d * t


@njit(cache=True)
def _row_percentiles(row, q, out):
    n = row.shape[0]
    lo = row[0]
    hi = row[0]
    for v in row:
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    m = q.shape[0]
    if lo == hi:
        for j in range(m):
            out[j] = lo
        return
    # the order statistics needed: floor and floor+1 of each virtual index
    idx = np.empty(m)
    need = np.empty(2 * m, np.int64)
    for j in range(m):
        idx[j] = (n - 1) * q[j]
        f = int(np.floor(idx[j]))
        need[2 * j] = f
        need[2 * j + 1] = min(f + 1, n - 1)
    scale = _BINS / (hi - lo)
    counts = np.zeros(_BINS, np.int64)
    for v in row:
        b = int((v - lo) * scale)
        if b >= _BINS:
            b = _BINS - 1
        counts[b] += 1
    start = np.empty(_BINS, np.int64)  # rank of each bin's first value
    acc = 0
    for b in range(_BINS):
        start[b] = acc
        acc += counts[b]
    # which bins hold the needed ranks
    slot = np.full(_BINS, -1, np.int64)
    offset = np.empty(_BINS, np.int64)
    size = 0
    for k in need:
        b = np.searchsorted(start, k, side="right") - 1
        while counts[b] == 0:
            b -= 1
        if slot[b] < 0:
            slot[b] = b
            offset[b] = size
            size += counts[b]
    buf = np.empty(size)
    fill = np.zeros(_BINS, np.int64)
    for v in row:
        b = int((v - lo) * scale)
        if b >= _BINS:
            b = _BINS - 1
        if slot[b] >= 0:
            buf[offset[b] + fill[b]] = v
            fill[b] += 1
    for b in range(_BINS):
        if slot[b] >= 0:
            buf[offset[b] : offset[b] + counts[b]].sort()
    stat = np.empty(2 * m)
    for i in range(2 * m):
        k = need[i]
        b = np.searchsorted(start, k, side="right") - 1
        while counts[b] == 0:
            b -= 1
        stat[i] = buf[offset[b] + k - start[b]]
    for j in range(m):
        g = idx[j] - np.floor(idx[j])
        out[j] = _lerp(stat[2 * j], stat[2 * j + 1], g)


@njit(cache=True, parallel=True, nogil=True)
def row_percentiles(data, q, out):
    """``out[i, j]``: the ``q[j]`` quantile (0..1, numpy's linear method) of ``data[i]``.

    Parameters
    ----------
    data : ndarray, shape (rows, n)
        Finite values; each row is one (output, time) across runs. Not modified.
    q : ndarray, shape (m,)
        Quantiles in [0, 1].
    out : ndarray, shape (rows, m)

    Notes
    -----
    Compiled with Numba; NaN in ``data`` gives undefined results (filter failed runs first).
    """
    for i in prange(data.shape[0]):
        _row_percentiles(data[i], q, out[i])


@njit(cache=True, parallel=True, nogil=True)
def transpose_into(block, out, col):
    """``out[:, col:col + len(block)] = block.T``, in parallel over ``out``'s rows."""
    n = block.shape[0]
    for j in prange(block.shape[1]):
        for i in range(n):
            out[j, col + i] = block[i, j]
