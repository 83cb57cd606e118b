"""The summary computed while chunks stream (issue 15): exact up to the sketch's prefix,
otherwise within its stated bound, at most 1e-3 of the 5-95 % band, against numpy's
percentiles on adversarial data; the same numbers for any chunking and thread count, and
never read back from the file."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from sim315.ensembles.runner import execute, plan_run
from sim315.results import sketch
from sim315.results.sketch import MAX_ERROR, ColumnSketch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "examples" / "ladder.yaml"
Q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])


def _adversarial(n: int, rng) -> np.ndarray:
    """Columns that break naive sketches: heavy tails, a huge offset with a tiny spread,
    ties and counts, a drift with the run number (the first runs are unrepresentative), a
    gap at the median, extreme outliers, a constant, a column constant over the first runs,
    a cap and a floor that most runs reach."""
    gap = np.where(rng.random(n) < 0.5, rng.normal(-1e6, 1, n), rng.normal(1e6, 1, n))
    outliers = rng.normal(size=n)
    outliers[rng.random(n) < 0.01] = 1e300
    late = np.zeros(n)
    late[n // 2 :] = rng.normal(size=n - n // 2)
    return np.column_stack(
        [
            rng.normal(size=n),
            rng.standard_cauchy(size=n),
            1e9 + 1e-3 * rng.normal(size=n),
            np.round(rng.exponential(2.0, size=n)),
            np.arange(n, dtype=float),
            rng.lognormal(0.0, 3.0, size=n),
            gap,
            outliers,
            np.full(n, 3.25),
            late,
            np.where(rng.random(n) < 0.97, 7.0, rng.normal(size=n)),  # a cap: p5 = p95 = 7
            np.maximum(rng.normal(size=n) - 1.0, 0.0),  # a floor most runs reach
        ]
    )


def _stream(X, ok, chunk, prefix=3000, threads=None) -> ColumnSketch:
    s = ColumnSketch(X.shape[0], X.shape[1], Q, prefix=prefix, threads=threads)
    for a in range(0, X.shape[0], chunk):
        s.feed(a, X[a : a + chunk], ok[a : a + chunk])
    while (cols := s.pending()).size:  # as the runner does: the runs again, exactly
        s.exact_pass(cols[: s.pass_size()])
        for a in range(0, X.shape[0], chunk):
            s.feed(a, X[a : a + chunk], ok[a : a + chunk])
        s.end_pass()
    return s


def test_streamed_percentiles_are_within_their_bound_of_numpys_on_adversarial_data():
    rng = np.random.default_rng(15)
    n = 60_000
    X = _adversarial(n, rng)
    ok = rng.random(n) > 0.02  # failed runs are left out
    X[~ok] = np.nan
    v, e = _stream(X, ok, 4096).result()
    exact = np.percentile(X[ok], 100 * Q, axis=0).T
    band = exact[:, -1] - exact[:, 0]
    assert np.all(np.abs(v - exact) <= e), np.abs(v - exact) - e
    assert np.all(e.max(axis=1) <= MAX_ERROR * band), e.max(axis=1) / band
    assert np.all(e[band == 0] == 0)  # where the band is a point, the answer is exact
    assert np.any(e > 0)  # the histograms were used (not every column fell back)


def test_non_finite_values_are_left_out():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20_000, 2))
    X[::7, 0] = np.nan
    X[::11, 1] = np.inf
    ok = np.ones(len(X), dtype=bool)
    v, e = _stream(X, ok, 1000).result()
    for c in range(2):
        col = X[:, c][np.isfinite(X[:, c])]
        assert np.all(np.abs(v[c] - np.percentile(col, 100 * Q)) <= e[c])


def test_the_same_numbers_for_any_chunking():
    rng = np.random.default_rng(2)
    X = _adversarial(20_000, rng)
    ok = rng.random(len(X)) > 0.01
    results = [_stream(X, ok, chunk).result() for chunk in (1, 999, 3000, 4096, 20_000)]
    for v, e in results[1:]:
        np.testing.assert_array_equal(v, results[0][0])
        np.testing.assert_array_equal(e, results[0][1])


def test_the_same_numbers_for_any_threads():
    """Threads claim blocks of columns as they go: 60 columns are 4 blocks of 16, claimed
    by 1, 2, 3 and 5 threads (more threads than blocks too); 180 are 12, and three blocks
    of :data:`KEPT_COLUMNS` whose bands calibrate the bins, and 30 columns against a floor
    or a cap whose kept values give their exact quantiles, each claimed the same way."""
    rng = np.random.default_rng(4)
    for tiles in (5, 15):
        X = np.tile(_adversarial(12_000, rng), tiles)
        ok = rng.random(len(X)) > 0.01
        _same_for_any_threads(X, ok)


def _same_for_any_threads(X, ok):
    one = _stream(X, ok, 2500, threads=1)
    assert one.streaming and one._interior is not None
    for threads in (2, 3, 5):
        s = _stream(X, ok, 2500, threads=threads)
        np.testing.assert_array_equal(s.hist["lo"], one.hist["lo"])
        np.testing.assert_array_equal(s.hist["scale"], one.hist["scale"])
        np.testing.assert_array_equal(s.hist["counts"], one.hist["counts"])
        np.testing.assert_array_equal(s.hist["stats"], one.hist["stats"])
        for mine, theirs in zip(s.result(), one.result(), strict=True):
            np.testing.assert_array_equal(mine, theirs)


def test_small_ensembles_are_exact_bit_for_bit():
    rng = np.random.default_rng(3)
    X = _adversarial(2_000, rng)
    ok = np.ones(len(X), dtype=bool)
    v, e = _stream(X, ok, 333, prefix=5000).result()
    np.testing.assert_array_equal(v, np.percentile(X, 100 * Q, axis=0).T)
    assert not e.any()


def test_an_exact_summary_is_not_computed_twice(monkeypatch):
    """A summary kept whole has nothing pending: asking costs no percentiles (the main job's
    summary was sorted twice, once to find nothing pending)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(500, 7))
    s = _stream(X, np.ones(len(X), dtype=bool), 100, prefix=5000)
    calls = []
    real = sketch.exact_percentiles
    monkeypatch.setattr(sketch, "exact_percentiles", lambda *a: calls.append(1) or real(*a))
    assert s.pending().size == 0 and not calls
    v, _ = s.result()
    assert len(calls) == 1
    np.testing.assert_array_equal(v, np.percentile(X, 100 * Q, axis=0).T)


def test_streamed_percentiles_are_read_once_for_the_check_and_the_summary(monkeypatch):
    """The pending check and the summary read the same streamed percentiles: made once
    (0.14 s at 10^6 plan runs), read-only, and made again once more runs are fed."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(6_000, 5))
    ok = np.ones(len(X), dtype=bool)
    s = ColumnSketch(len(X) + 1000, X.shape[1], Q, prefix=3000)
    for a in range(0, len(X), 1000):
        s.feed(a, X[a : a + 1000], ok[a : a + 1000])
    calls = []
    real = sketch.hist_percentiles
    monkeypatch.setattr(sketch, "hist_percentiles", lambda *a: calls.append(1) or real(*a))
    assert s.pending().size == 0
    v, e = s.result()
    assert len(calls) == 1 and s.result()[0] is v
    for a in (v, e):
        with pytest.raises(ValueError, match="read-only"):
            a[0, 0] = 0.0
    more = rng.normal(1.0, 1.0, size=(1000, 5))  # the last runs move every percentile up
    s.feed(len(X), more, np.ones(1000, dtype=bool))
    w, _ = s.result()
    assert len(calls) == 2 and (w > v).all()
    np.testing.assert_allclose(w, np.percentile(np.vstack([X, more]), 100 * Q, axis=0).T, atol=0.01)


def test_runs_must_come_in_order():
    s = ColumnSketch(10, 1, Q)
    s.feed(0, np.zeros((4, 1)), np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match="expected run 4"):
        s.feed(5, np.zeros((4, 1)), np.ones(4, dtype=bool))


def _summary(path) -> dict:
    with h5py.File(path) as h5:
        out = {}
        h5["summary"].visititems(
            lambda k, d: out.__setitem__(k, d[:]) if isinstance(d, h5py.Dataset) else None
        )
        for k in h5["summary"]:
            if "error_bound" in h5["summary"][k].attrs:
                out[k + ".error_bound"] = h5["summary"][k].attrs["error_bound"]
        return out


@pytest.fixture
def small_prefix(monkeypatch):
    """A prefix of 256 runs: runs of a few thousand are summarised by histograms."""
    monkeypatch.setattr(sketch, "MIN_PREFIX", 256)
    monkeypatch.setattr(sketch, "PREFIX_BYTES", 1)


def test_a_run_is_summarised_the_same_for_any_threads_chunks_and_save(small_prefix, tmp_path):
    runs = 3000
    ref = tmp_path / "ref.h5"
    execute(plan_run(EXAMPLE, runs=runs, chunk=500), ref, progress=False, save="all")
    ref_summary = _summary(ref)
    with h5py.File(ref) as h5:
        assert h5["summary"].attrs["percentile_method"].startswith("streamed")
        for name in ("smes", "leaders"):
            exact = np.percentile(h5[name][:][h5["run_status"][:] == 0], 100 * Q, axis=0)
            got = h5["summary"][name][:]
            bound = h5["summary"][name].attrs["error_bound"]
            assert np.all(np.abs(got - exact) <= bound)
            assert np.all(bound <= MAX_ERROR * (exact[-1] - exact[0]))
    for threads, chunk, save in ((1, 77, "summary"), (2, 1024, "targets"), (2, 3000, "all")):
        out = tmp_path / f"{threads}-{chunk}.h5"
        plan = plan_run(EXAMPLE, runs=runs, chunk=chunk)
        execute(plan, out, threads=threads, progress=False, save=save)
        got = _summary(out)
        assert got.keys() == ref_summary.keys()
        for k, v in ref_summary.items():
            np.testing.assert_array_equal(got[k], v, err_msg=k)


def test_the_summary_is_never_read_back_from_the_file(small_prefix, tmp_path, monkeypatch):
    """Reading a per-run output dataset during the run fails the run."""
    real = h5py.Dataset.__getitem__

    def guarded(self, key):
        name = self.name.rsplit("/", 1)[-1]
        if name in ("smes", "leaders", "tech_smes") and self.file.mode == "r+":
            raise AssertionError(f"read back {self.name}")
        return real(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", guarded)
    out = tmp_path / "r.h5"
    execute(plan_run(EXAMPLE, runs=1000, chunk=100), out, progress=False, save="all")
    monkeypatch.undo()
    with h5py.File(out) as h5:
        assert "smes" in h5["summary"]


def test_a_band_against_a_cap_or_floor_is_exact_without_a_second_pass():
    """About a twentieth of the runs miss a cap (or a floor): the band's other end sits
    just below it, far finer than the histogram; the values between are kept exactly."""
    rng = np.random.default_rng(4)
    n = 50_000
    miss = rng.random((n, 2)) < [0.06, 0.05]
    X = np.where(miss, rng.uniform(6.7, 8.5, (n, 2)), 8.57)
    X[:, 1] = -X[:, 1]  # a floor
    ok = np.ones(n, dtype=bool)
    s = ColumnSketch(n, 2, Q, prefix=4000)
    for a in range(0, n, 2500):
        s.feed(a, X[a : a + 2500], ok[a : a + 2500])
    assert s.pending().size == 0
    v, e = s.result()
    np.testing.assert_array_equal(v, np.percentile(X, 100 * Q, axis=0).T)
    assert not e.any()


def test_whole_numbers_tied_across_the_band_are_exact():
    """Counts (a target's rounded yearly additions): p5 = p95 = 2 with 1s and 3s around."""
    rng = np.random.default_rng(5)
    n = 60_000
    X = rng.choice([1.0, 2.0, 3.0], p=[0.004, 0.992, 0.004], size=(n, 1))
    X = np.column_stack([X, np.round(rng.normal(40, 3, n))])
    ok = np.ones(n, dtype=bool)
    s = ColumnSketch(n, 2, Q, prefix=3000)
    for a in range(0, n, 7000):
        s.feed(a, X[a : a + 7000], ok[a : a + 7000])
    assert s.pending().size == 0
    v, e = s.result()
    np.testing.assert_array_equal(v, np.percentile(X, 100 * Q, axis=0).T)
    assert not e.any()


def test_a_sketch_of_no_columns_streams():
    """No columns, no blocks to hand to the threads (a scenario whose targets add none)."""
    s = ColumnSketch(20_000, 0, Q, prefix=100)
    for a in range(0, 20_000, 1000):
        s.feed(a, np.empty((1000, 0)), np.ones(1000, dtype=bool))
    assert s.streaming and s.result()[0].shape == (0, Q.size)


@pytest.mark.parametrize("n", [20_011, 33_337])
def test_the_values_between_a_floor_and_a_cap_give_every_rank_exactly(n):
    """A floor most runs reach and a cap a few do, with distinct values between: each
    percentile needs two neighbouring ranks of the kept values (numpy's interpolation
    between them), both exact."""
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    x = np.where(x < -1.0, -1.0, np.where(x > 1.6, 1.6, x))  # a floor for 16 %, a cap for 5 %
    X = np.column_stack([x, -x])
    q = np.array([0.05, 0.21, 0.5, 0.77, 0.95])
    s = ColumnSketch(n, 2, q, prefix=4000)
    for a in range(0, n, 3001):
        s.feed(a, X[a : a + 3001], np.ones(min(3001, n - a), dtype=bool))
    assert s.pending().size == 0
    v, e = s.result()
    np.testing.assert_array_equal(v, np.percentile(X, 100 * q, axis=0).T)
    assert not e.any()


@pytest.mark.parametrize("block", [7, 64])
def test_an_exact_summary_of_many_columns_is_numpys_bit_for_bit(monkeypatch, block):
    """The kept runs' percentiles are made a block of columns at a time (never the whole
    matrix by column): numpy's, bit for bit, across blocks, failed runs and non-finite
    values."""
    monkeypatch.setattr(sketch, "KEPT_COLUMNS", block)
    rng = np.random.default_rng(block)
    X = rng.lognormal(0.0, 2.0, size=(900, 150))
    X[rng.random(X.shape) < 0.01] = np.nan  # non-finite values are left out, per column
    ok = rng.random(900) < 0.95
    s = ColumnSketch(900, 150, Q, prefix=5000)
    for a in range(0, 900, 250):
        s.feed(a, X[a : a + 250], ok[a : a + 250])
    v, e = s.result()
    want = np.array([np.percentile(c[np.isfinite(c)], 100 * Q) for c in X[ok].T])
    np.testing.assert_array_equal(v, want)
    assert not e.any()
