"""The Beta-PERT quantiles of ``sim315.kernels.betainv`` against scipy's ``beta.ppf`` (Boost's
``ibeta_inv``) and against the equation they solve, ``I_x(a, b) = u``, with the error bounds
the module states; PERT draws through them."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from sim315.kernels.betainv import (
    LANES,
    TABLE_INTERVALS,
    beta_quantiles,
    beta_quantiles_one_by_one,
    beta_table,
)

from sim315.schemas.distributions import Pert

SHAPES = [1.0, 1.01, 1.5, 2.0, 2.7, 3.0, 3.7, 4.5, 4.99, 5.0]  # a; b = 6 - a, as PERT makes


def quantiles(u, a, b, method=beta_quantiles):
    lbeta = special.betaln(a, b)
    xs, slopes = beta_table(a, b, lbeta, TABLE_INTERVALS)
    u = np.ascontiguousarray(u, dtype=np.float64)
    out = np.empty_like(u)
    method(u, a, b, lbeta, xs, slopes, out)
    return out


def same_bits(x, y):
    return x.shape == y.shape and np.array_equal(x.view(np.int64), y.view(np.int64))


#: Draws whose quantiles take the tails' first guesses, several Newton steps, or none
EDGES = np.concatenate(
    [
        [0.0, -0.0, 1.0, np.nan, -0.5, 1.5, np.inf, 5e-324, 1e-320, 0.5],
        10.0 ** -np.arange(3, 300, 7.0),
        1 - 10.0 ** -np.arange(3, 16, 0.5),
        [1 - 2.0**-53, 1 - 2.0**-52, 2.0**-53],
    ]
)


@pytest.mark.parametrize("a", SHAPES)
def test_lanes_give_the_bits_of_one_value_at_a_time(a):
    """The continued fractions of LANES draws advance together: the same operations as one
    draw's, so the same bits, whatever the draws beside a value (its tails, its special
    values, lanes left empty at the end)."""
    b = 6.0 - a
    u = np.random.default_rng(int(a * 10)).random(50_000)
    u = np.concatenate([u, EDGES, u[: LANES - 1]])
    rng = np.random.default_rng(7)
    for part in (u, rng.permutation(u), u[:5], u[: 3 * LANES + 1]):
        assert same_bits(quantiles(part, a, b), quantiles(part, a, b, beta_quantiles_one_by_one))


@settings(max_examples=60, deadline=None)
@given(
    a=st.floats(1.0, 5.0),
    b=st.floats(1.0, 5.0),
    u=st.lists(st.one_of(st.floats(0.0, 1.0), st.sampled_from(list(EDGES))), max_size=40),
)
def test_lanes_give_the_bits_of_one_value_at_a_time_for_any_shape(a, b, u):
    u = np.array(u, dtype=np.float64)
    assert same_bits(quantiles(u, a, b), quantiles(u, a, b, beta_quantiles_one_by_one))


def scipy_ppf(u, a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return stats.beta(a, b).ppf(u)


@pytest.mark.parametrize("a", SHAPES)
def test_random_points_within_the_stated_error(a):
    b = 6.0 - a
    u = np.random.default_rng(int(a * 100)).random(400_000)
    x, ref = quantiles(u, a, b), scipy_ppf(u, a, b)
    err = np.abs(x - ref)
    assert err.max() <= 1.5e-15
    assert (err / np.spacing(ref)).max() <= 64


@pytest.mark.parametrize("a", SHAPES)
def test_lower_tail_solves_the_equation(a):
    """Down to u = 1e-300, where scipy's root finder gives up: I_x(a, b) = u within 1e-13."""
    b = 6.0 - a
    u = 10.0 ** -np.arange(3, 300, 0.25)
    x = quantiles(u, a, b)
    assert (x > 0).all() and np.isfinite(x).all()
    assert np.abs(special.betainc(a, b, x) / u - 1).max() <= 1e-13
    shallow = u >= 1e-80  # where scipy's is right, the two agree within 64 ulp
    ref = scipy_ppf(u[shallow], a, b)
    assert (np.abs(x[shallow] - ref) / np.spacing(ref)).max() <= 64


@pytest.mark.parametrize("a", SHAPES)
def test_upper_tail_within_half_an_ulp_of_one(a):
    b = 6.0 - a
    u = np.concatenate([1 - 10.0 ** -np.arange(3, 16, 0.1), [1 - 2.0**-53, 1 - 2.0**-52]])
    assert np.abs(quantiles(u, a, b) - scipy_ppf(u, a, b)).max() <= 2.0**-53


@pytest.mark.parametrize("a", [1.0, 2.7, 5.0])
def test_non_decreasing(a):
    u = np.sort(np.random.default_rng(3).random(300_000))
    u = np.concatenate([[0.0], u[:-1] * 1e-12, u, [1.0]])
    assert (np.diff(quantiles(np.sort(u), a, 6.0 - a)) >= 0).all()


def test_special_values():
    x = quantiles(np.array([0.0, 1.0, np.nan, -0.5, 1.5, 2.0**-1074, 0.5]), 2.7, 3.3)
    assert x[0] == 0.0 and x[1] == 1.0
    assert np.isnan(x[2:5]).all()
    assert 0.0 < x[5] < 1e-100
    assert abs(x[6] - scipy_ppf(0.5, 2.7, 3.3)) <= 1e-15


def test_a_value_does_not_depend_on_its_neighbours():
    """A function of u alone: any chunking or order of the draws gives the same bits."""
    u = np.random.default_rng(5).random(10_000)
    whole = quantiles(u, 1.8, 4.2)
    order = np.random.default_rng(6).permutation(u.size)
    assert np.array_equal(quantiles(u[order], 1.8, 4.2), whole[order])
    assert np.array_equal(
        np.concatenate([quantiles(u[:7], 1.8, 4.2), quantiles(u[7:], 1.8, 4.2)]), whole
    )


@settings(max_examples=60, deadline=None)
@given(
    low=st.floats(-1e6, 1e6),
    width=st.floats(1e-6, 1e6),
    mode=st.floats(0.0, 1.0),
    u=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=50),
)
def test_pert_draws_match_scipy(low, width, mode, u):
    """``Pert.ppf`` (the sampler's map) against scipy's frozen PERT: within 1.5e-15 of the
    width, plus the rounding of ``low + width * x``; finite wherever ``u`` is in [0, 1]."""
    spec = Pert(dist="pert", low=low, mode=low + mode * width, high=low + width)
    u = np.array(u)
    got, ref = spec.ppf(u), scipy_ppf(u, *spec.shape()) * (spec.high - spec.low) + spec.low
    tol = 1.5e-15 * (spec.high - spec.low) + 4 * np.spacing(np.abs(ref) + abs(low))
    assert np.isfinite(got).all()
    judged = np.isfinite(ref)  # scipy's root finder gives up below about u = 1e-90
    assert (np.abs(got - ref) <= tol)[judged].all()
    assert spec.ppf(u.reshape(1, -1)).shape == (1, u.size)


def test_a_subnormal_draw_of_a_mode_at_the_low_end():
    """Hypothesis found it: a = 1 + 5e-7 and u = 5e-324 want a quantile whose Newton step
    halves the least positive double to 0, and the curvature then divided by it."""
    spec = Pert(dist="pert", low=0.0, mode=1.192092896e-07, high=1.0)
    x = spec.ppf(np.array([5e-324, 1e-320, 1e-300, 1 - 2.0**-53]))
    assert np.isfinite(x).all() and (x >= 0).all() and (x <= 1).all()
    assert (np.diff(x) >= 0).all()
