"""The streaming histograms' fast kernel (``hist_add``: gathered blocks, integer-keyed
extremes, a constant column counted at once, the values kept between a floor and a cap)
against plain references of what it is documented to do, bit for bit (the sign of a zero
included), on shapes around its tiles and blocks, with failed runs, non-finite values,
signed zeros, floors, caps and constant columns, fed whole or in chunks; and a sketch's
16-bit counts, added to its totals now and then, the same for any interval."""

import numpy as np
import pytest
from sim315.kernels.histograms import hist_add, hist_percentiles

from sim315.results import sketch
from sim315.results.sketch import ColumnSketch

BINS = 4096


def _ref_hist_add(X, ok, lo, scale, counts, stats, finite):
    """hist_add's docstring, a column at a time in plain Python and numpy."""
    top = counts.shape[1] - 1
    for c in range(X.shape[1]):
        v = X[ok, c].astype(np.float64)
        if not finite:
            v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        vals = v.tolist()
        tmn, tmx = min(vals), max(vals)  # the first of equal ones, as Python's min gives
        n, mn, mx, at_mn, at_mx = stats[c, :5]
        if tmn < mn:
            mn, at_mn = tmn, 0.0
        if tmx > mx:
            mx, at_mx = tmx, 0.0
        stats[c, :5] = n + v.size, mn, mx, at_mn + np.sum(v == mn), at_mx + np.sum(v == mx)
        if np.any(v != np.floor(v)):
            stats[c, 5] = 0.0
        b = np.clip((v - lo[c]) * scale[c] + 1.0, 0.0, top).astype(np.int64)
        np.add.at(counts[c], b, 1)


def _fresh(cols, dtype=np.int32):
    stats = np.tile(np.array([0.0, np.inf, -np.inf, 0.0, 0.0, 1.0]), (cols, 1))
    return np.zeros((cols, BINS + 2), dtype), stats


def _columns(rows, cols, rng, non_finite):
    """Continuous, whole-number, constant, floored, capped and signed-zero columns."""
    X = np.empty((rows, cols))
    for c in range(cols):
        kind = c % 7
        if kind == 0:
            X[:, c] = rng.normal(c, 1.0, rows)
        elif kind == 1:
            X[:, c] = np.round(rng.exponential(3.0, rows))
        elif kind == 2:
            X[:, c] = 2.5 if c % 2 else -0.0  # constant (a negative zero, too)
        elif kind == 3:
            X[:, c] = np.maximum(rng.normal(size=rows), 0.0)  # a floor at 0
        elif kind == 4:
            X[:, c] = np.minimum(rng.lognormal(0.0, 1.0, rows), 2.5)  # a cap
        elif kind == 5:
            X[:, c] = np.where(rng.random(rows) < 0.5, 0.0, -0.0) * (rng.random(rows) < 0.7)
            X[:, c] += np.where(rng.random(rows) < 0.3, rng.normal(size=rows), 0.0)
        else:
            X[:, c] = rng.uniform(-1e300, 1e300, rows) * (rng.random(rows) < 0.01)
    if non_finite:
        bad = rng.random((rows, cols)) < 0.02
        X[bad] = rng.choice([np.nan, np.inf, -np.inf], bad.sum())
    return X


def _bits(a):
    return np.ascontiguousarray(a).view(np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_hist_add_matches_a_plain_reference_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    for rows in (1, 5, 8, 1023, 1025, 4097, 5000):
        cols = int(rng.choice([1, 7, 8, 9, 16, 17, 23, 41]))
        finite = bool(rng.random() < 0.5)
        X = _columns(rows, cols, rng, non_finite=not finite)
        ok = rng.random(rows) < (1.0 if rng.random() < 0.4 else 0.85)
        lo = rng.normal(size=cols) - 2.0
        scale = rng.uniform(0.5, 3000.0, cols)
        dtype = np.int64 if rng.random() < 0.3 else np.int32
        want, got = _fresh(cols, dtype), _fresh(cols, dtype)
        if rng.random() < 0.5:  # earlier chunks already counted
            Y = _columns(40, cols, rng, non_finite=False)
            _ref_hist_add(Y, np.ones(40, bool), lo, scale, *want, True)
            hist_add(Y, np.ones(40, bool), lo, scale, *got, True)
        _ref_hist_add(X, ok, lo, scale, *want, finite)
        hist_add(X, ok, lo, scale, *got, finite)
        np.testing.assert_array_equal(got[0], want[0], err_msg=f"counts {rows}x{cols}")
        np.testing.assert_array_equal(_bits(got[1]), _bits(want[1]), err_msg=f"stats {rows}x{cols}")


def test_hist_add_is_the_same_for_any_chunking():
    rng = np.random.default_rng(7)
    rows, cols = 6000, 19
    X = _columns(rows, cols, rng, non_finite=True)
    ok = rng.random(rows) < 0.9
    lo, scale = np.full(cols, -3.0), np.full(cols, 500.0)
    whole = _fresh(cols)
    hist_add(X, ok, lo, scale, *whole, False)
    for cuts in ([1, 2, 4096], [999, 3000], [5999]):
        parts = _fresh(cols)
        for a, b in zip([0, *cuts], [*cuts, rows], strict=True):
            hist_add(np.ascontiguousarray(X[a:b]), ok[a:b], lo, scale, *parts, False)
        np.testing.assert_array_equal(parts[0], whole[0])
        np.testing.assert_array_equal(_bits(parts[1]), _bits(whole[1]))


def test_hist_add_takes_any_layout_and_count_type():
    rng = np.random.default_rng(9)
    X = _columns(3000, 30, rng, non_finite=False)
    ok = rng.random(3000) < 0.9
    lo, scale = np.full(15, -1.0), np.full(15, 900.0)
    want = _fresh(15)
    _ref_hist_add(X[:, ::2], ok, lo, scale, *want, True)
    for view in (X[:, ::2], np.asfortranarray(X[:, ::2])):
        for dtype in (np.uint16, np.int32, np.int64):
            got = _fresh(15, dtype)
            hist_add(view, ok, lo, scale, *got, True)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(_bits(got[1]), _bits(want[1]))


def test_hist_add_with_no_rows_kept_changes_nothing():
    X = np.ones((10, 3))
    counts, stats = _fresh(3)
    hist_add(X, np.zeros(10, bool), np.zeros(3), np.ones(3), counts, stats, True)
    assert not counts.any()
    np.testing.assert_array_equal(stats, _fresh(3)[1])


def test_hist_add_takes_the_values_between_a_floor_and_a_cap_in_order():
    """``take``: each chosen column's finite values but its floor and cap, appended in row
    order over calls; the other columns are left alone."""
    rng = np.random.default_rng(8)
    for rows, finite in ((1, True), (9, False), (2500, True), (5000, False)):
        cols = 12
        X = _columns(rows, cols, rng, non_finite=True)  # finite=True: still left out
        ok = rng.random(rows) < 0.8
        at = np.array([0, -1, -1, 1, 2, 3, -1, -1, -1, 4, -1, 5])
        low = np.array([-np.inf, 0.0, -np.inf, 0.0, 0.0, -np.inf])
        high = np.array([np.inf, np.inf, 2.5, np.inf, 2.5, 0.0])
        out = np.full((6, rows), np.nan)
        size = np.zeros(6, np.int64)
        lo, scale = np.full(cols, -2.0), np.full(cols, 700.0)
        half = rows // 2
        for part in (slice(0, half), slice(half, rows)):  # appended over two calls
            Xp = np.ascontiguousarray(X[part])
            hist_add(Xp, ok[part], lo, scale, *_fresh(cols), finite, (at, low, high, out, size))
        for c in range(cols):
            t = at[c]
            if t < 0:
                continue
            v = X[ok, c]
            v = v[(v != low[t]) & (v != high[t]) & np.isfinite(v)]
            np.testing.assert_array_equal(_bits(out[t, : size[t]]), _bits(v))


@pytest.mark.parametrize("delta_rows", [3, 1000, 4999])
def test_a_sketch_is_the_same_for_any_flush_interval(monkeypatch, delta_rows):
    """Chunks larger than the interval are split; the totals equal one count of every run."""
    rng = np.random.default_rng(10)
    n, cols = 30_000, 9
    X = _columns(n, cols, rng, non_finite=False)
    ok = rng.random(n) < 0.97
    q = np.array([0.05, 0.5, 0.95])

    def run():
        s = ColumnSketch(n, cols, q, prefix=2000, finite=True)
        for a in range(0, n, 7000):
            s.feed(a, X[a : a + 7000], ok[a : a + 7000])
        return s, s.result()

    ref, (v0, e0) = run()
    monkeypatch.setattr(sketch, "DELTA_ROWS", delta_rows)
    got, (v1, e1) = run()
    np.testing.assert_array_equal(_bits(v1), _bits(v0))
    np.testing.assert_array_equal(_bits(e1), _bits(e0))
    np.testing.assert_array_equal(got.hist["counts"], ref.hist["counts"])
    assert got.hist["counts"].sum(axis=1).tolist() == [int(ok.sum())] * cols
    assert not got.hist["delta"].any()


def _ref_order_stat(r, n, counts, st, lo, scale):
    """An order statistic's estimate and bound read from the bins as documented (by
    ``hist_percentiles``): a scan from the first bin for this rank alone."""
    h, last, acc = 1.0 / scale, counts.size - 1, 0
    if r < st[3]:
        return st[1], 0.0
    if r >= n - st[4]:
        return st[2], 0.0
    for b, c in enumerate(counts.tolist()):
        if r < acc + c:
            if b in (0, last):
                return np.nan, np.inf
            if st[5] == 1.0 and h <= 0.5:  # whole numbers: the one hist_add put in bin b
                k = np.ceil(lo + h * (b - 2))
                for _ in range(4):
                    if int(min(max((k - lo) * scale + 1.0, 0.0), last)) == b:
                        return k, 0.0
                    k += 1.0
            v = lo + h * (b - 1 + (r - acc + 0.5) / c)
            return min(max(v, st[1]), st[2]), h
        acc += c
    return np.nan, np.inf


@pytest.mark.parametrize("seed", range(3))
def test_percentiles_read_every_rank_as_a_scan_of_its_own_would(seed):
    """One pass over a column's bins for all its quantiles: each order statistic and bound
    bit for bit those of a scan from the first bin (ranks below and above the bins, on the
    least and greatest values, in empty bins' gaps, whole numbers, quantiles 0 and 1)."""
    rng = np.random.default_rng(seed)
    for trial in range(150):
        cols, bins = 4, int(rng.integers(3, 40))
        counts = rng.integers(0, 4, (cols, bins)) * rng.integers(0, 2, (cols, bins))
        if trial % 3:
            counts[:, [0, -1]] = 0
        n = counts.sum(axis=1)
        stats = np.zeros((cols, 6))
        stats[:, 0], stats[:, 1], stats[:, 2] = n, -rng.random(cols), 50 + rng.random(cols)
        stats[:, 3] = np.minimum(n, rng.integers(0, 3, cols))
        stats[:, 4] = np.minimum(n - stats[:, 3], rng.integers(0, 3, cols))
        stats[:, 5] = rng.integers(0, 2, cols)
        lo, scale = rng.normal(0, 3, cols), rng.choice([0.3, 1.0, 2.5, 7.0], cols)
        q = np.array([0.0, 0.05, 0.5, 0.95, 1.0]) if trial % 4 == 0 else np.sort(rng.random(5))
        out, bound = np.empty((cols, q.size)), np.empty((cols, q.size))
        hist_percentiles(q, counts, stats, lo, scale, out, bound)
        for c in range(cols):
            m = int(n[c])
            for j, qj in enumerate(q):
                if m == 0:
                    assert np.isnan(out[c, j]) and bound[c, j] == 0.0
                    continue
                idx = (m - 1) * qj
                f = int(np.floor(idx))
                args = (m, counts[c], stats[c], lo[c], scale[c])
                a, ea = _ref_order_stat(f, *args)
                z, ez = _ref_order_stat(min(f + 1, m - 1), *args)
                t = idx - f
                want = z - (z - a) * (1.0 - t) if t >= 0.5 else a + (z - a) * t  # numpy's
                got, ref = np.array([out[c, j], bound[c, j]]), np.array([want, max(ea, ez)])
                np.testing.assert_array_equal(got, ref)  # NaN where NaN (its sign: LLVM's)
                fin = ~np.isnan(ref)
                assert _bits(got[fin]).tolist() == _bits(ref[fin]).tolist()  # -0.0 too


@pytest.mark.parametrize("columns", [True, False])
def test_threads_claiming_blocks_count_as_one_caller(columns):
    """Blocks of columns claimed from one counter: a thread that starts after the others
    have taken every block counts nothing, and the counts, stats and kept values are one
    caller's (the kept values of a column in row order)."""
    import threading

    from sim315.kernels.claims import claims_for
    from sim315.kernels.histograms import hist_add_columns

    rng = np.random.default_rng(9)
    X = _columns(3000, 70, rng, non_finite=False)  # 5 blocks of 16 columns
    ok = rng.random(3000) > 0.05
    lo, scale = X.min(axis=0) - 1.0, np.full(70, 50.0)
    at = np.full(70, -1)
    at[[3, 10, 66]] = [0, 1, 2]  # floored and capped columns: their values kept
    low, high = np.array([0.0, 0.0, -np.inf]), np.array([np.inf, np.inf, 2.5])

    def fresh():
        counts, stats = _fresh(70)
        take = (at, low, high, np.empty((3, 3000)), np.zeros(3, np.int64))
        return counts, stats, take

    def count(counts, stats, take, claims):
        if columns:
            Z = np.ascontiguousarray(X.T)
            hist_add_columns(Z, 0, ok, lo, scale, counts, stats, False, take, 0, -1, claims)
        else:
            hist_add(X, ok, lo, scale, counts, stats, False, take, 0, -1, claims)

    want = fresh()
    count(*want, None)
    got = fresh()
    claims = claims_for(16)
    first = threading.Thread(target=count, args=(*got, claims))
    first.start()
    first.join()
    count(*got, claims)  # late: nothing left
    assert claims[0] >= 5
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(_bits(got[1]), _bits(want[1]))
    for t in range(3):
        n = want[2][4][t]
        assert got[2][4][t] == n
        np.testing.assert_array_equal(got[2][3][t, :n], want[2][3][t, :n])
    both = fresh()  # two threads at once
    claims = claims_for(16)
    ts = [threading.Thread(target=count, args=(*both, claims)) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    np.testing.assert_array_equal(both[0], want[0])
    np.testing.assert_array_equal(_bits(both[1]), _bits(want[1]))
