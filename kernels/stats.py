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


@njit(cache=True, inline="always")
def _bin_of(v, lo, scale):
    """The histogram bin of value ``v`` (the maximum goes in the last bin); inlined into
    its callers, as it runs twice per value."""
    b = int((v - lo) * scale)
    if b >= _BINS:
        b = _BINS - 1
    return b


@njit(cache=True)
def _bin_of_rank(start, counts, k):
    """The (non-empty) bin holding the value of rank ``k``."""
    b = np.searchsorted(start, k, side="right") - 1
    while counts[b] == 0:
        b -= 1
    return b


@njit(cache=True)
def _needed_ranks(n, q):
    """Each quantile's virtual index into ``n`` sorted values, and the order statistics it
    needs: floor and floor+1 of each (``need[2j]``, ``need[2j + 1]``)."""
    m = q.shape[0]
    idx = np.empty(m)
    need = np.empty(2 * m, np.int64)
    for j in range(m):
        idx[j] = (n - 1) * q[j]
        f = int(np.floor(idx[j]))
        need[2 * j] = f
        need[2 * j + 1] = min(f + 1, n - 1)
    return idx, need


@njit(cache=True)
def _histogram(row, lo, scale):
    """Each bin's count, and the rank of its first value."""
    counts = np.zeros(_BINS, np.int64)
    for v in row:
        counts[_bin_of(v, lo, scale)] += 1
    start = np.empty(_BINS, np.int64)
    acc = 0
    for b in range(_BINS):
        start[b] = acc
        acc += counts[b]
    return counts, start


@njit(cache=True)
def _gather(row, lo, scale, counts, start, need):
    """The values of the bins that hold the ranks ``need``, each bin's sorted, and where each
    such bin begins in them (``offset``; -1 for the other bins)."""
    offset = np.full(_BINS, -1, np.int64)
    size = 0
    for k in need:
        b = _bin_of_rank(start, counts, k)
        if offset[b] < 0:
            offset[b] = size
            size += counts[b]
    buf = np.empty(size)
    fill = np.zeros(_BINS, np.int64)
    for v in row:
        b = _bin_of(v, lo, scale)
        if offset[b] >= 0:
            buf[offset[b] + fill[b]] = v
            fill[b] += 1
    for b in range(_BINS):
        if offset[b] >= 0:
            buf[offset[b] : offset[b] + counts[b]].sort()
    return buf, offset


@njit(cache=True)
def _row_percentiles(row, q, out):
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
    idx, need = _needed_ranks(row.shape[0], q)
    scale = _BINS / (hi - lo)
    counts, start = _histogram(row, lo, scale)
    buf, offset = _gather(row, lo, scale, counts, start, need)
    for j in range(m):
        lower = need[2 * j]
        upper = need[2 * j + 1]
        b0 = _bin_of_rank(start, counts, lower)
        b1 = _bin_of_rank(start, counts, upper)
        below = buf[offset[b0] + lower - start[b0]]
        above = buf[offset[b1] + upper - start[b1]]
        out[j] = _lerp(below, above, idx[j] - np.floor(idx[j]))


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


@njit(cache=True, nogil=True)
def row_percentiles_serial(data, q, out):
    """:func:`row_percentiles` on the calling thread only (beside a parallel kernel)."""
    for i in range(data.shape[0]):
        _row_percentiles(data[i], q, out[i])
