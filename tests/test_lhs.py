"""The Latin hypercube of ``sampler: lhs`` (sim315/ensembles/hypercube.py): sim315's own,
so that a seed's numbers do not change with scipy's version; equal, bit for bit, to the
installed scipy's, a Latin hypercube by construction, and the same rows for any chunks
(each chunk draws its own jitter from the generator advanced to it)."""

import numpy as np
import pytest
import scipy
from scipy.stats import qmc

from sim315.ensembles.hypercube import LatinHypercube, latin_hypercube

NEW_SCIPY = tuple(int(v) for v in scipy.__version__.split(".")[:2]) >= (1, 15)


@pytest.mark.skipif(not NEW_SCIPY, reason="older scipy drew its Latin hypercube otherwise")
@pytest.mark.parametrize(
    ("n", "d", "entropy"), [(1, 1, 0), (7, 3, 5), (1000, 26, 315), (4096, 2, 9)]
)
def test_the_numbers_of_scipys_latin_hypercube(n, d, entropy):
    ours = latin_hypercube(np.random.SeedSequence(entropy), n, d)
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    theirs = qmc.LatinHypercube(d, seed=rng).random(n)
    np.testing.assert_array_equal(ours, theirs)


def test_a_seed_keeps_its_numbers():
    """Whatever scipy is installed: the first point of seed 5's 7 x 3 design."""
    x = latin_hypercube(np.random.SeedSequence(5), 7, 3)
    assert x[0].tolist() == [0.08526878919650831, 0.17805831693217108, 0.9954517633497671]


def test_each_dimension_has_one_point_per_stratum():
    n, d = 5000, 4
    x = latin_hypercube(np.random.SeedSequence(1), n, d)
    assert x.shape == (n, d) and ((x > 0) & (x < 1)).all()
    for i in range(d):
        np.testing.assert_array_equal(np.sort(np.floor(x[:, i] * n)), np.arange(n))


def test_the_plan_design_holds_its_shuffles_only():
    """10^5 runs of 26 dimensions: the design keeps the shuffles as 32-bit integers (10.4 MB,
    half the 20.8 MB of the design's floats) and a permutation's worth besides; a chunk's
    rows take their own size."""
    import tracemalloc

    tracemalloc.start()
    try:
        design = LatinHypercube(np.random.SeedSequence(2), 100_000, 26)
        built = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        design.rows(50_000, 52_492)
        chunk = tracemalloc.get_traced_memory()[1] - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert built < 10.4e6 + 1e6, built
    assert chunk < 2492 * 26 * 8 * 1.5, chunk


@pytest.mark.parametrize(("n", "d"), [(1, 1), (1000, 26), (4096, 3)])
def test_any_chunks_give_the_rows_of_the_whole_design(n, d):
    whole = latin_hypercube(np.random.SeedSequence(n + d), n, d)
    design = LatinHypercube(np.random.SeedSequence(n + d), n, d)
    cuts = sorted({0, n, *np.random.default_rng(d).integers(0, n + 1, 5).tolist()})
    parts = [design.rows(a, b) for a, b in zip(cuts[-2::-1], cuts[:0:-1], strict=True)]
    got = np.concatenate(parts[::-1])  # asked for last chunk first
    np.testing.assert_array_equal(got.view(np.int64), whole.view(np.int64))


def test_threads_drawing_at_once_build_the_design_once(monkeypatch):
    """The executors draw chunks ahead in several threads: a fresh sampler asked by all of
    them at once builds its design once, and each gets the rows one thread alone gets."""
    import threading

    from sim315.ensembles import sampling
    from sim315.schemas.distributions import Pert, Uniform

    built = []

    def counted(seq, n, d):
        built.append(n)
        return LatinHypercube(seq, n, d)

    monkeypatch.setattr(sampling, "LatinHypercube", counted)
    dists = [Uniform(dist="uniform", low=0, high=2), Pert(dist="pert", low=1, mode=2, high=5)]

    def sampler():
        return sampling.ParameterSampler(np.zeros(3), [0, 2], dists, "lhs", 4000, seed=11)

    alone = sampler().rows(0, 4000)
    built.clear()
    shared, got = sampler(), {}
    start = threading.Barrier(8)

    def draw(k):
        start.wait()
        got[k] = shared.rows(500 * k, 500 * (k + 1))

    threads = [threading.Thread(target=draw, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert built == [4000]
    np.testing.assert_array_equal(np.concatenate([got[k] for k in range(8)]), alone)
