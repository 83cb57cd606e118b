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


# -- streaming histograms (sim315/results/sketch.py) -------------------------------------


@njit(cache=True, nogil=True)
def _hist_column(col, m, lo, scale, counts, stats, idx, finite):
    """One column's ``m`` values into its bins: the bin indices first (a loop without
    branches, which LLVM vectorises), then the counts, and how many values equal the
    column's least and greatest (a floor or cap reached by many runs). ``finite``: the
    values are known to be finite; else the others are skipped."""
    top = counts.shape[0] - 1.0
    n, mn, mx, at_mn, at_mx = stats[0], stats[1], stats[2], stats[3], stats[4]
    new_mn, new_mx = mn, mx
    j = 0
    if not finite:  # the finite values first, to the front
        for k in range(m):
            if np.isfinite(col[k]):
                col[j] = col[k]
                j += 1
        m = j
    whole = 0
    for k in range(m):  # loops without branches: vectorised
        v = col[k]
        new_mn = min(new_mn, v)
        new_mx = max(new_mx, v)
        whole += v != np.floor(v)
    if whole:
        stats[5] = 0.0
    if new_mn < mn:
        at_mn = 0.0
    if new_mx > mx:
        at_mx = 0.0
    eq_mn = 0
    eq_mx = 0
    for k in range(m):
        v = col[k]
        eq_mn += v == new_mn
        eq_mx += v == new_mx
        idx[k] = np.int32(min(max((v - lo) * scale + 1.0, 0.0), top))
    for k in range(m):
        counts[idx[k]] += 1
    at_mn += eq_mn
    at_mx += eq_mx
    j = m
    stats[0], stats[1], stats[2], stats[3], stats[4] = n + j, new_mn, new_mx, at_mn, at_mx


@njit(cache=True, nogil=True, inline="always")
def _gather_block(X, keep, k0, k1, c0, c1, block):
    """``block[c - c0, k - k0] = X[keep[k], c]``: eight columns written out, as a loop over
    them is not unrolled (twice as slow)."""
    if c1 - c0 == 8:
        for k in range(k0, k1):
            i, r = keep[k], k - k0
            block[0, r], block[1, r] = X[i, c0], X[i, c0 + 1]
            block[2, r], block[3, r] = X[i, c0 + 2], X[i, c0 + 3]
            block[4, r], block[5, r] = X[i, c0 + 4], X[i, c0 + 5]
            block[6, r], block[7, r] = X[i, c0 + 6], X[i, c0 + 7]
        return
    for k in range(k0, k1):
        i = keep[k]
        for c in range(c0, c1):
            block[c - c0, k - k0] = X[i, c]


@njit(cache=True, nogil=True)
def hist_add(X, ok, lo, scale, counts, stats, finite):
    """Add the values of the ``ok`` rows of ``X`` (rows, cols) to per-column histograms:
    ``counts[c, 1 + b]`` counts bin ``b = floor((v - lo[c]) * scale[c])`` of
    ``counts.shape[1] - 2`` bins, ``counts[c, 0]`` and ``counts[c, -1]`` the values below
    and above them; ``stats[c]``: the values added, the least, the greatest, how many
    equal the least and the greatest, and 1 while all are whole numbers (else 0). ``finite``:
    every value is finite (else non-finite ones are left out). Serial and GIL-free: it runs
    beside the parallel kernel. Counts and extremes do not depend on the order in which
    values arrive."""
    rows, cols = X.shape
    keep = np.empty(rows, np.int64)
    m = 0
    for i in range(rows):
        if ok[i]:
            keep[m] = i
            m += 1
    tile = 1024  # rows at a time: the gathered block and bin indices stay in cache
    block = np.empty((8, tile))
    idx = np.empty(tile, np.int32)
    for k0 in range(0, m, tile):
        k1 = min(m, k0 + tile)
        for c0 in range(0, cols, 8):  # 8 columns (a cache line of each row) at a time
            c1 = min(cols, c0 + 8)
            _gather_block(X, keep, k0, k1, c0, c1, block)
            for c in range(c0, c1):  # then one column at a time: its bins stay in cache
                col = block[c - c0]
                _hist_column(col, k1 - k0, lo[c], scale[c], counts[c], stats[c], idx, finite)


@njit(cache=True)
def _order_stat(r, n, counts, st, lo, scale):
    """The estimate of the order statistic of rank ``r`` of one column (``st``: its values,
    least, greatest, how many equal each, 1 if all are whole numbers) and its error bound
    (``inf`` when it lies outside the bins)."""
    mn, mx = st[1], st[2]
    h = 1.0 / scale
    if r < st[3]:
        return mn, 0.0
    if r >= n - st[4]:
        return mx, 0.0
    last = counts.shape[0] - 1
    acc = 0
    for b in range(counts.shape[0]):
        c = counts[b]
        if r < acc + c:
            if b == 0 or b == last:
                return np.nan, np.inf
            if st[5] == 1.0 and h <= 0.5:  # whole numbers, bins narrower: one in this bin
                k = np.ceil(lo + h * (b - 2))
                for _ in range(4):  # the whole number that hist_add put in bin b
                    at = int(min(max((k - lo) * scale + 1.0, 0.0), last))
                    if at == b:
                        return k, 0.0
                    k += 1.0
            # rank-interpolated within the bin: the true value lies in the bin too
            v = lo + h * (b - 1 + (r - acc + 0.5) / c)
            return min(max(v, mn), mx), h
        acc += c
    return np.nan, np.inf


@njit(cache=True, nogil=True)
def hist_percentiles(q, counts, stats, lo, scale, out, bound):
    """Per column: the ``q`` quantiles (numpy's linear method) estimated from its histogram
    into ``out[c, j]``, and a bound on each one's absolute error into ``bound[c, j]``
    (0 where exact, ``inf`` where a needed value fell outside the bins)."""
    for c in range(counts.shape[0]):
        m = int(stats[c, 0])
        if m == 0:
            out[c, :] = np.nan
            bound[c, :] = 0.0
            continue
        for j in range(q.shape[0]):
            idx = (m - 1) * q[j]
            f = int(np.floor(idx))
            a, ea = _order_stat(f, m, counts[c], stats[c], lo[c], scale[c])
            z, ez = _order_stat(min(f + 1, m - 1), m, counts[c], stats[c], lo[c], scale[c])
            out[c, j] = _lerp(a, z, idx - f)
            bound[c, j] = max(ea, ez)


@njit(cache=True, nogil=True)
def row_percentiles_serial(data, q, out):
    """:func:`row_percentiles` on the calling thread only (beside a parallel kernel)."""
    for i in range(data.shape[0]):
        _row_percentiles(data[i], q, out[i])
