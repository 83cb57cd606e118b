"""The Beta-PERT quantiles of ``sim315.kernels.betapoly`` against scipy's ``beta.ppf`` (Boost's
``ibeta_inv``) and against the equation they solve, ``I_x(a, b) = u``, with the error bounds
the module states; PERT draws through them."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy import special, stats
from sim315.kernels.betapoly import beta_poly_quantiles, poly_fit, poly_nodes, poly_quantile

from sim315.schemas.betaseries import beta_series
from sim315.schemas.distributions import Pert

SHAPES = [1.0, 1.01, 1.5, 2.0, 2.7, 3.0, 3.7, 4.5, 4.99, 5.0]  # a; b = 6 - a, as PERT makes


def quantiles(u, a, b):
    coefs, tops = beta_series(a, b)
    u = np.ascontiguousarray(u, dtype=np.float64)
    out = np.empty_like(u)
    beta_poly_quantiles(u, a, b, coefs, tops, out)
    return out


#: Draws in the tails, at the special values and at the halves' seam
EDGES = np.concatenate(
    [
        [0.0, -0.0, 1.0, np.nan, -0.5, 1.5, np.inf, 5e-324, 1e-320, 0.5],
        10.0 ** -np.arange(3, 300, 7.0),
        1 - 10.0 ** -np.arange(3, 16, 0.5),
        [1 - 2.0**-53, 1 - 2.0**-52, 2.0**-53, 0.5 - 2.0**-54, 0.5 + 2.0**-53],
    ]
)


def test_the_fit_reproduces_a_polynomial_exactly():
    """The least-squares Chebyshev fit and its powers of ``s``: a ``G`` that is a polynomial
    of the degree in ``w`` (here ``x = w (1 + w - w^2 / 3)``, with a = 1) comes back to
    rounding, wherever the piece."""
    top, U = poly_nodes(1.0)
    X = U * (1 + U - U**2 / 3)
    coefs = np.stack([poly_fit(U, X, 1.0), poly_fit(U, X, 1.0)])
    w = np.random.default_rng(2).random(10_000) * 0.5
    out = np.empty_like(w)
    beta_poly_quantiles(w, 1.0, 1.0, coefs, np.array([top, top]), out)
    np.testing.assert_allclose(out, w * (1 + w - w**2 / 3), rtol=4e-15, atol=0)


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
def test_upper_tail_within_an_ulp_of_one(a):
    b = 6.0 - a
    u = np.concatenate([1 - 10.0 ** -np.arange(3, 16, 0.1), [1 - 2.0**-53, 1 - 2.0**-52]])
    assert np.abs(quantiles(u, a, b) - scipy_ppf(u, a, b)).max() <= 2.0**-53


@pytest.mark.parametrize("a", [1.0, 2.7, 5.0])
def test_non_decreasing(a):
    u = np.sort(np.random.default_rng(3).random(300_000))
    u = np.concatenate([[0.0], u[:-1] * 1e-12, u, [1.0]])
    assert (np.diff(quantiles(np.sort(u), a, 6.0 - a)) >= 0).all()


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(1.0, 5.0),
    b=st.floats(1.0, 5.0),
    u=st.lists(st.one_of(st.floats(0.0, 1.0), st.sampled_from(list(EDGES))), max_size=40),
)
def test_any_pert_shape_within_the_stated_error(a, b, u):
    """Any shape a PERT makes (a, b in [1, 5], not only b = 6 - a), on random draws, the
    edges and the seam at 1/2: in [0, 1], NaN exactly outside it, and within the stated
    error of scipy's wherever scipy's root finder gives one."""
    u = np.concatenate([np.array(u, dtype=np.float64), np.random.default_rng(1).random(2000)])
    x, ref = quantiles(u, a, b), scipy_ppf(u, a, b)
    inside = (u >= 0) & (u <= 1)
    assert np.isnan(x[~inside]).all()
    assert ((x[inside] >= 0) & (x[inside] <= 1)).all()
    judged = inside & np.isfinite(ref) & ((u >= 1e-80) | (u == 0))
    err = np.abs(x[judged] - ref[judged])
    assert (err <= 1.5e-15).all()
    assert (err <= 64 * np.spacing(ref[judged])).all()


def test_the_halves_meet_in_order():
    """Draws on both sides of 1/2 (the lower half's polynomials, then the mirrored
    distribution's), 2^-30 apart: non-decreasing across the seam. (Draws a few ulp apart may
    step back by the error's few ulp, as the module says.)"""
    u = 0.5 + np.arange(-200, 201) * 2.0**-30
    for a in (1.0, 2.3, 5.0):
        assert (np.diff(quantiles(u, a, 6.0 - a)) >= 0).all()


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
    """Hypothesis found it for the Newton steps before: a = 1 + 5e-7 and u = 5e-324 want a
    subnormal quantile."""
    spec = Pert(dist="pert", low=0.0, mode=1.192092896e-07, high=1.0)
    x = spec.ppf(np.array([5e-324, 1e-320, 1e-300, 1 - 2.0**-53]))
    assert np.isfinite(x).all() and (x >= 0).all() and (x <= 1).all()
    assert (np.diff(x) >= 0).all()


@njit
def _value_by_value(u, a, b, coefs, tops, out):
    """The reference: :func:`poly_quantile` called for each draw in turn (what
    ``beta_poly_quantiles`` did in one pass until its two passes)."""
    ra, rb = 1.0 / a, 1.0 / b
    for i in range(u.shape[0]):
        out[i] = poly_quantile(u[i], ra, rb, coefs, tops)


@pytest.mark.parametrize("a", [1.0, 2.7, 4.99])
def test_two_passes_are_the_value_by_value_quantiles_bit_for_bit(a):
    """The ``w`` of every draw first, then the polynomials: the same bits as one value at a
    time (random draws, the edges, the seam); placed (``low + width * x``, as numpy places
    it) into a strided column of a matrix from a strided column of a design, the matrix's
    other columns untouched."""
    b = 6.0 - a
    coefs, tops = beta_series(a, b)
    u = np.concatenate([np.random.default_rng(8).random(20_000), EDGES])
    ref = np.empty_like(u)
    _value_by_value(u, a, b, coefs, tops, ref)
    out = np.empty_like(u)
    beta_poly_quantiles(u, a, b, coefs, tops, out)
    np.testing.assert_array_equal(out.view(np.int64), ref.view(np.int64))

    design = np.random.default_rng(9).random((u.size, 3))
    design[:, 1] = u
    P = np.random.default_rng(10).random((u.size, 5))
    before = P.copy()
    low, width = -0.75, 3.1
    beta_poly_quantiles(design[:, 1], a, b, coefs, tops, P[:, 3], low, width, True)
    np.testing.assert_array_equal(P[:, 3].view(np.int64), (low + width * ref).view(np.int64))
    np.testing.assert_array_equal(np.delete(P, 3, axis=1), np.delete(before, 3, axis=1))
