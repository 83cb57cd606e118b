"""Streaming histograms of many columns (:mod:`sim315.results.sketch`): each value of a
column counted into its bin, with the column's extremes, in cache-sized blocks; and the
percentiles read back from the counts with a bound on each one's error."""

import numpy as np
from numba import njit

from .claims import claim as _claim
from .claims import share as _share
from .stats import _lerp  # numpy's interpolation, as the exact percentiles use it

_MAGNITUDE = 0x7FFFFFFFFFFFFFFF  # all bits of a float64 but its sign
_ROWS = 4096  # rows gathered at a time
BLOCK_COLUMNS = 16  # columns gathered at a time (their block stays in L2)


@njit(cache=True, nogil=True)
def _gather_block(flat, cols, keep, k0, k1, c0, c1, block):
    """``block[c - c0, k - k0] = X[keep[k], c]`` (``flat``: ``X``'s ``cols``-wide rows, in
    order): 8 columns (a cache line of each row) at a time, written out, as a loop over them
    is not unrolled (twice as slow); unsigned indices spare the checks for negative ones."""
    w = c1 - c0
    for g in range(0, w - w % 8, 8):
        b0, b1, b2, b3 = block[g], block[g + 1], block[g + 2], block[g + 3]
        b4, b5, b6, b7 = block[g + 4], block[g + 5], block[g + 6], block[g + 7]
        at = np.uint64(c0 + g)
        for k in range(k0, k1):
            i = np.uint64(keep[k]) * np.uint64(cols) + at
            r = k - k0
            b0[r], b1[r] = flat[i], flat[i + np.uint64(1)]
            b2[r], b3[r] = flat[i + np.uint64(2)], flat[i + np.uint64(3)]
            b4[r], b5[r] = flat[i + np.uint64(4)], flat[i + np.uint64(5)]
            b6[r], b7[r] = flat[i + np.uint64(6)], flat[i + np.uint64(7)]
    for j in range(w - w % 8, w):
        b = block[j]
        for k in range(k0, k1):
            b[k - k0] = flat[keep[k] * cols + c0 + j]


@njit(cache=True, nogil=True)
def _bins(col, lo, scale, top, mn, mx, ib, key):
    """Each value of ``col`` (not empty, no NaN): its bin into ``ib``; the least and greatest
    values into ``key`` (as int64 keys that order as the floats do: the bits, with a
    negative's other bits flipped); how many equal ``mn`` and how many ``mx``. One loop
    without branches: an integer reduction vectorises where a float one does not, and one
    pass over the column costs half of two (the extremes, then the bins)."""
    b = col.view(np.int64)
    lo_key = b[0] ^ ((b[0] >> 63) & _MAGNITUDE)
    hi_key = lo_key
    eq_mn = 0
    eq_mx = 0
    for k in range(col.shape[0]):
        v = col[k]
        x = b[k] ^ ((b[k] >> 63) & _MAGNITUDE)
        lo_key = min(lo_key, x)
        hi_key = max(hi_key, x)
        eq_mn += v == mn
        eq_mx += v == mx
        ib[k] = np.int32(min(max((v - lo) * scale + 1.0, 0.0), top))
    key[0] = lo_key ^ ((lo_key >> 63) & _MAGNITUDE)
    key[1] = hi_key ^ ((hi_key >> 63) & _MAGNITUDE)
    return eq_mn, eq_mx


@njit(cache=True, nogil=True)
def _first_equal(col, x):
    """The first value of ``col`` equal to ``x`` (the sign of a zero: the keys put -0.0 below
    0.0, a fold in order takes the first of the two), else ``x``."""
    if x != 0.0:
        return x
    for v in col:
        if v == x:
            return v
    return x


@njit(cache=True, nogil=True)
def _equal(col, x):
    """How many values of ``col`` equal ``x``."""
    n = 0
    for v in col:
        n += v == x
    return n


@njit(cache=True, nogil=True)
def _fraction(col):
    """How many values of ``col`` are not whole numbers."""
    frac = 0
    for v in col:
        frac += v != np.floor(v)
    return frac


@njit(cache=True, nogil=True)
def _merge(counts, tally):
    """``counts += tally``, ``tally`` zeroed: one pass in order over both (vectorised),
    where counting into ``counts`` itself would touch its lines at random."""
    for b in range(counts.shape[0]):
        counts[b] += tally[b]
        tally[b] = 0


@njit(cache=True, nogil=True)
def _hist_column(col, m, lo, scale, counts, stats, finite, ib, key, tally):
    """One column's ``m`` values (``col``, overwritten) into its bins and stats (see
    :func:`hist_add`); how many were finite (now first in ``col``, in order). The values are
    counted into ``tally`` (32-bit, zero, as long as ``counts``: it stays in L1, where a
    32-bit count is twice as fast as a 16-bit one on Zen 3, whose 16-bit increments of
    memory wait on one another), then added to ``counts`` in one pass."""
    if not finite:  # the finite values first, to the front
        j = 0
        for k in range(m):
            if np.isfinite(col[k]):
                col[j] = col[k]
                j += 1
        m = j
    if m == 0:
        return 0
    col = col[:m]
    n, mn, mx, at_mn, at_mx = stats[0], stats[1], stats[2], stats[3], stats[4]
    top = counts.shape[0] - 1.0
    # bins, extremes and the values equal to the extremes so far, in one pass
    eq_mn, eq_mx = _bins(col, lo, scale, top, mn, mx, ib, key)
    v = key.view(np.float64)
    tmn, tmx = _first_equal(col, v[0]), _first_equal(col, v[1])
    if tmn < mn:  # a new least value (rare once the first runs are in): its count
        mn, at_mn, eq_mn = tmn, 0.0, _equal(col, tmn)
    if tmx > mx:
        mx, at_mx, eq_mx = tmx, 0.0, _equal(col, tmx)
    if tmn == tmx:  # one value (a constant column): one bin
        counts[ib[0]] += m
    else:
        for k in range(m):
            tally[ib[k]] += 1
        _merge(counts, tally)
    frac = _fraction(col) if stats[5] == 1.0 else 0
    if frac:
        stats[5] = 0.0
    stats[0], stats[1], stats[2], stats[3], stats[4] = n + m, mn, mx, at_mn + eq_mn, at_mx + eq_mx
    return m


@njit(cache=True, nogil=True)
def _take(col, low, high, out, size):
    """Append the values of ``col`` other than ``low``, ``high`` and non-finite ones to
    ``out`` at ``size[0]``: without branches, as which values are kept varies."""
    s = size[0]
    for v in col:
        out[s] = v
        s += (v != low) & (v != high) & np.isfinite(v)
    size[0] = s


@njit(cache=True, nogil=True)
def _claimed_columns(claims, first, last):
    """The next columns ``c0 .. c1 - 1`` of ``first .. last - 1`` that this thread claims
    from ``claims`` (:mod:`.claims`), whole blocks of :data:`BLOCK_COLUMNS`; none left when
    ``c0 >= c1``."""
    step = _share(-(-(last - first) // BLOCK_COLUMNS), claims[1])
    c0 = first + _claim(claims, step) * BLOCK_COLUMNS
    return c0, min(last, c0 + step * BLOCK_COLUMNS)


@njit(cache=True, nogil=True)
def hist_add(X, ok, lo, scale, counts, stats, finite, take=None, first=0, last=-1, claims=None):
    """Add the values of the ``ok`` rows of ``X`` (rows, cols) to per-column histograms:
    ``counts[c, 1 + b]`` counts bin ``b = floor((v - lo[c]) * scale[c])`` of
    ``counts.shape[1] - 2`` bins (any integer type that no bin overflows), ``counts[c, 0]``
    and ``counts[c, -1]`` the values below and above them; ``stats[c]``: the values added,
    the least, the greatest, how many equal the least and the greatest, and 1 while all are
    whole numbers (else 0). ``finite``: every value is finite (else non-finite ones are left
    out). Serial and GIL-free: it runs beside the parallel kernel. Counts and extremes do not
    depend on the order in which values arrive. ``take``: None, or ``(at, low, high, out,
    size)``: for each column ``c`` with ``t = at[c] >= 0``, its finite values other than
    ``low[t]`` and ``high[t]`` are appended, in row order, to ``out[t]`` at ``size[t]`` (with
    room for every ``ok`` row: each value is written there, then kept or not).

    ``first``, ``last``: only columns ``first .. last - 1`` (``last`` -1: to the end), so
    that threads may count disjoint columns at once. ``claims``: None, or a claims counter
    (:mod:`sim315.kernels.claims`) shared by threads that call this with the same
    arguments: each counts the blocks of columns it claims as it goes.

    A block of rows and columns is gathered column by column (8 columns, one cache line of
    each row, at a time), then each column is reduced for its extremes, binned (both
    vectorised), counted into a 32-bit scratch histogram in L1 and added to its bins in
    one pass."""
    cols = X.shape[1]
    last = cols if last < 0 else min(last, cols)
    if counts.shape[1] > 1 << 16:
        raise ValueError("at most 65536 bins")
    flat = np.ascontiguousarray(X).reshape(-1)  # no copy when X is C-ordered
    keep = np.flatnonzero(ok)
    m = keep.shape[0]
    if m == 0:
        return
    tile = min(m, _ROWS)
    # a row of the block 64 bytes past a multiple of 4 KiB: its columns share no L1 sets
    block = np.empty((BLOCK_COLUMNS, (tile // 512 + 1) * 512 + 8))
    ib = np.empty(tile, np.uint16)
    key = np.empty(2, np.int64)
    tally = np.zeros(counts.shape[1], np.uint32)
    mine = np.array([0, 1], np.int64)  # one caller: every block in one claim
    own = mine if claims is None else claims
    while True:
        a, z = _claimed_columns(own, first, last)
        if a >= z:
            break
        for c0 in range(a, z, BLOCK_COLUMNS):
            c1 = min(z, c0 + BLOCK_COLUMNS)
            for k0 in range(0, m, tile):  # a column's rows in order (what take keeps)
                k1 = min(m, k0 + tile)
                _gather_block(flat, cols, keep, k0, k1, c0, c1, block)
                for c in range(c0, c1):
                    col = block[c - c0]
                    n = _hist_column(
                        col, k1 - k0, lo[c], scale[c], counts[c], stats[c], finite, ib, key, tally
                    )
                    if take is not None and take[0][c] >= 0:
                        t = take[0][c]
                        _take(col[:n], take[1][t], take[2][t], take[3][t], take[4][t : t + 1])


@njit(cache=True, nogil=True)
def hist_add_columns(
    Z, r0, ok, lo, scale, counts, stats, finite, take=None, first=0, last=-1, claims=None
):
    """:func:`hist_add` of ``len(ok)`` rows of a chunk held by column: column ``c``'s values
    are ``Z[c, r0 : r0 + len(ok)]`` (``Z``: columns, room for the runs; C-ordered), as the
    block-of-runs kernel writes them. The same counts, stats and taken values as
    :func:`hist_add` of the rows, without gathering each column first: a column is read
    where it lies when every row is ``ok`` and every value finite, else its ``ok`` values
    are copied out (``Z`` is never written)."""
    last = Z.shape[0] if last < 0 else min(last, Z.shape[0])
    if counts.shape[1] > 1 << 16:
        raise ValueError("at most 65536 bins")
    n = ok.shape[0]
    keep = np.flatnonzero(ok)
    m = keep.shape[0]
    if m == 0:
        return
    whole = m == n and finite  # columns are read in place
    scratch = np.empty(0 if whole else m)
    ib = np.empty(m, np.uint16)
    key = np.empty(2, np.int64)
    tally = np.zeros(counts.shape[1], np.uint32)
    mine = np.array([0, 1], np.int64)  # one caller: every block in one claim
    own = mine if claims is None else claims
    while True:
        a, z = _claimed_columns(own, first, last)
        if a >= z:
            break
        for c in range(a, z):
            if whole:
                col = Z[c, r0 : r0 + m]
            else:
                col = scratch
                z = Z[c, r0 : r0 + n]
                for k in range(m):
                    col[k] = z[keep[k]]
            k = _hist_column(col, m, lo[c], scale[c], counts[c], stats[c], finite, ib, key, tally)
            if take is not None and take[0][c] >= 0:
                t = take[0][c]
                _take(col[:k], take[1][t], take[2][t], take[3][t], take[4][t : t + 1])


@njit(cache=True)
def _in_bin(r, acc, b, c, st, lo, scale, last):
    """The estimate of the order statistic of rank ``r`` in bin ``b`` (``c`` values, ``acc``
    below it) of one column (``st``: its values, least, greatest, how many equal each, 1 if
    all are whole numbers) and its error bound (``inf`` when it lies outside the bins)."""
    h = 1.0 / scale
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
    return min(max(v, st[1]), st[2]), h


@njit(cache=True)
def _order_stats(ranks, order, n, counts, st, lo, scale, val, err):
    """:func:`_in_bin` of each of ``ranks`` (``order``: their order, ascending) into ``val``
    and ``err``: one pass over the bins for them all (the least and greatest values where
    the ranks fall on them, exactly)."""
    last = counts.shape[0] - 1
    b = 0
    acc = 0
    for i in order:
        r = ranks[i]
        if r < st[3]:
            val[i], err[i] = st[1], 0.0
            continue
        if r >= n - st[4]:
            val[i], err[i] = st[2], 0.0
            continue
        while b <= last and r >= acc + counts[b]:  # the bin that holds rank r
            acc += counts[b]
            b += 1
        if b > last:
            val[i], err[i] = np.nan, np.inf
        else:
            val[i], err[i] = _in_bin(r, acc, b, counts[b], st, lo, scale, last)


@njit(cache=True, nogil=True)
def hist_percentiles(q, counts, stats, lo, scale, out, bound):
    """Per column: the ``q`` quantiles (numpy's linear method) estimated from its histogram
    into ``out[c, j]``, and a bound on each one's absolute error into ``bound[c, j]``
    (0 where exact, ``inf`` where a needed value fell outside the bins). Each column's
    bins are read once for all its quantiles (they were once per order statistic: 60 ms of
    the end of a 10^6-run plan, on one thread while the others waited)."""
    nq = q.shape[0]
    ranks = np.empty(2 * nq, np.int64)  # each quantile's two order statistics
    val, err = np.empty(2 * nq), np.empty(2 * nq)
    for c in range(counts.shape[0]):
        m = int(stats[c, 0])
        if m == 0:
            out[c, :] = np.nan
            bound[c, :] = 0.0
            continue
        for j in range(nq):
            f = int(np.floor((m - 1) * q[j]))
            ranks[2 * j], ranks[2 * j + 1] = f, min(f + 1, m - 1)
        _order_stats(ranks, np.argsort(ranks), m, counts[c], stats[c], lo[c], scale[c], val, err)
        for j in range(nq):
            idx = (m - 1) * q[j]
            out[c, j] = _lerp(val[2 * j], val[2 * j + 1], idx - int(np.floor(idx)))
            bound[c, j] = max(err[2 * j], err[2 * j + 1])
