"""The samplers' quantile functions (``fast_ppf``) of uniform, triangular and truncated
normal parameters give scipy's ``ppf`` numbers bit for bit, at random points, at the ends of
the unit interval and outside it (NaN), for scalars and arrays: a run's values do not change
with the shortcut. The truncated normal's spares the import of scipy.stats too."""

import numpy as np
import pytest

from sim315.schemas.distributions import Triangular, TruncNormal, Uniform

EDGES = np.array(
    [0.0, 1.0, 5e-324, 2.0**-54, 0.5, 1 - 2.0**-53, np.nextafter(1, 0), -0.0, -1e-300, 1.5, np.nan]
)

DISTS = [
    Uniform(dist="uniform", low=0.0885, high=0.106),
    Uniform(dist="uniform", low=-3.0, high=1e6),
    Uniform(dist="uniform", low=0.0, high=0.13),
    Triangular(dist="triangular", low=2, mode=3, high=5),
    Triangular(dist="triangular", low=0, mode=0, high=1),  # peak at the lower end
    Triangular(dist="triangular", low=-1, mode=7.5, high=7.5),  # at the upper end
    Triangular(dist="triangular", low=0.1, mode=0.1 + 1e-9, high=0.3),
    # the truncated normal's cases: from the left (a < 0) or the right, and its mass on
    # [a, b] in the left tail (b <= 0), the right tail (a > 0) or about the mean
    TruncNormal(dist="truncnormal", mean=0.5, sd=0.2, low=0.0, high=1.0),
    TruncNormal(dist="truncnormal", mean=0.03, sd=0.01, low=0.0, high=0.05),
    TruncNormal(dist="truncnormal", mean=10.0, sd=2.0, low=1.0, high=9.0),
    TruncNormal(dist="truncnormal", mean=10.0, sd=2.0, low=-40.0, high=4.0),
    TruncNormal(dist="truncnormal", mean=0.0, sd=1.0, low=0.5, high=3.0),
    TruncNormal(dist="truncnormal", mean=0.0, sd=1.0, low=6.0, high=9.0),
    TruncNormal(dist="truncnormal", mean=0.0, sd=1.0, low=0.0, high=0.25),
]


@pytest.mark.parametrize("dist", DISTS, ids=lambda d: f"{d.dist}-{d.low}-{d.high}")
def test_bit_for_bit_scipys_ppf(dist):
    rng = np.random.default_rng(17)
    u = np.concatenate([rng.random(200_000), rng.random(1000) * 1e-12, EDGES])
    ours, theirs = dist.fast_ppf()(u), dist.frozen().ppf(u)
    assert ours.dtype == theirs.dtype == np.float64
    np.testing.assert_array_equal(ours.view(np.int64), theirs.view(np.int64))


@pytest.mark.parametrize("dist", DISTS[:1] + DISTS[3:4] + DISTS[7:8])
def test_a_scalar_and_a_column_view(dist):
    fast, ref = dist.fast_ppf(), dist.frozen().ppf
    assert fast(0.25) == ref(0.25) and np.ndim(fast(0.25)) == 0
    assert np.isnan(fast(2.0))
    np.testing.assert_array_equal(fast([0.1, 0.9]), ref([0.1, 0.9]))  # a list
    design = np.random.default_rng(3).random((50, 4))
    np.testing.assert_array_equal(fast(design[:, 2]), ref(design[:, 2]))


def test_a_scenario_of_truncated_normals_is_read_and_drawn_without_scipy_stats(tmp_path):
    """scipy.stats takes most of a second to import; the plan scenario's draws need none
    of it (a fresh process: another test may have imported it here)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sim315.schemas.distributions import TruncNormal, Pert, Uniform\n"
        "t = TruncNormal(dist='truncnormal', mean=0.5, sd=0.2, low=0.0, high=1.0)\n"
        "p = Pert(dist='pert', low=1.0, mode=2.0, high=4.0)\n"
        "u = Uniform(dist='uniform', low=0.0, high=1.0)\n"
        "x = [d.fast_ppf()([0.1, 0.5]) for d in (t, p, u)] + [d.support() for d in (t, p, u)]\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_the_supports_are_scipys_to_rounding():
    for dist in DISTS:
        ours, theirs = dist.support(), dist.frozen().support()
        np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=1e-300)


def test_the_two_term_log_sum_exp_is_scipys_bit_for_bit():
    """The truncated normal's ``logsumexp([c, t])`` by hand: random terms on either side of
    ``c``, terms equal to it (scipy counts both as the maximum), the infinities and NaN."""
    from scipy.special import logsumexp

    from sim315.schemas.distributions import _log_add_exp

    rng = np.random.default_rng(5)
    for c in (-0.7, -35.2, -1e-300, -745.0):
        t = np.concatenate(
            [
                c + rng.normal(0, 3, 100_000),
                c + rng.normal(0, 1e-12, 1000),
                [c, c, np.nextafter(c, 0), np.nextafter(c, -np.inf), -np.inf, np.inf, np.nan],
            ]
        )
        with np.errstate(all="ignore"):
            ref = logsumexp([np.full_like(t, c), t], axis=0)
        np.testing.assert_array_equal(_log_add_exp(c, t).view(np.int64), ref.view(np.int64))


@pytest.mark.parametrize("dist", [d for d in DISTS if d.dist != "truncnormal"])
def test_placed_into_a_strided_column_bit_for_bit(dist):
    """``fast_place``: a design's column of draws written straight into a parameter
    matrix's column (both strided), scipy's numbers bit for bit; the other columns as
    they were."""
    rng = np.random.default_rng(23)
    u = np.concatenate([rng.random(5000), EDGES])
    design = rng.random((u.size, 4))
    design[:, 2] = u
    P = rng.random((u.size, 7))
    before = P.copy()
    dist.fast_place()(design[:, 2], P[:, 5])
    np.testing.assert_array_equal(P[:, 5].view(np.int64), dist.frozen().ppf(u).view(np.int64))
    np.testing.assert_array_equal(np.delete(P, 5, axis=1), np.delete(before, 5, axis=1))


def test_a_samplers_rows_are_each_distributions_values():
    """The sampler's rows: each uncertain column the values of its distribution's ``ppf``
    at that column of the design (written in place where the distribution has a
    ``fast_place``; assigned otherwise: a truncated normal, a choice, a shared draw put in
    two columns); the other columns the base row's."""
    from sim315.ensembles.sampling import ParameterSampler
    from sim315.schemas.distributions import Choice, Pert

    dists = [
        DISTS[0],
        Pert(dist="pert", low=1.0, mode=1.5, high=4.0),
        DISTS[3],
        DISTS[7],
        Choice(dist="choice", values=[1.0, 2.0, 5.0]),
        Uniform(dist="uniform", low=2.0, high=3.0),
    ]
    columns = [1, 3, 4, 6, 7, [0, 8]]
    base = np.arange(10.0)
    for kind in ("random", "lhs"):
        s = ParameterSampler(base, columns, dists, kind, runs=3000, seed=4)
        P = s.rows(1000, 2500)
        u = s.unit(1000, 2500)
        for j, (d, col) in enumerate(zip(dists, columns, strict=True)):
            want = np.asarray(d.ppf(u[:, j]), dtype=np.float64)
            for c in np.atleast_1d(col):
                np.testing.assert_array_equal(P[:, c].view(np.int64), want.view(np.int64))
        for c in (2, 5, 9):
            assert (P[:, c] == base[c]).all()
