"""The block kernel's vectorisable exp, log and pow (``sim315.kernels.fastmath``) against the
C library that ``math`` and the scalar kernel call: their stated error on 10^7 random
points, and the special values (0, -0, infinities, NaN, subnormals) exactly."""

import math

import numpy as np
import pytest
from numba import njit
from sim315.kernels import fastmath

N = 10**7
SPECIAL = np.array(
    [
        0.0,
        -0.0,
        math.inf,
        -math.inf,
        math.nan,
        5e-324,
        1e-310,
        -1e-310,
        2.2250738585072014e-308,
        1.0,
        -1.0,
        2.0,
        -2.0,
        0.5,
        -0.5,
        3.0,
        -3.0,
        1.5,
        0.1,
        1e300,
        -1e300,
        1e-300,
        709.78,
        709.79,
        710.0,
        -708.4,
        -745.1,
        -745.2,
        -746.0,
        88.7,
        1e-17,
        -1e-17,
    ]
)


@njit(error_model="numpy")
def _exp_both(x, fast, ref):
    for i in range(x.shape[0]):
        fast[i] = fastmath.exp(x[i])
        ref[i] = math.exp(x[i])


@njit(error_model="numpy")
def _log_both(x, fast, ref):
    for i in range(x.shape[0]):
        fast[i] = fastmath.log(x[i])
        ref[i] = math.log(x[i])


@njit(error_model="numpy")
def _pow_both(x, y, fast, ref):
    for i in range(x.shape[0]):
        fast[i] = fastmath.pow(x[i], y[i])
        ref[i] = x[i] ** y[i]  # the scalar kernel's **: the C library's pow


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in units in the last place (doubles between a and b, signs ordered)."""
    ia, ib = a.view(np.int64), b.view(np.int64)
    low = np.iinfo(np.int64).min
    oa = np.where(ia < 0, low - ia, ia)
    ob = np.where(ib < 0, low - ib, ib)
    return np.abs(oa - ob)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Equal values, NaN included, zeros with their sign."""
    return (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))


def _run(fn, *args):
    fast, ref = np.empty(args[0].shape[0]), np.empty(args[0].shape[0])
    fn(*args, fast, ref)
    return fast, ref


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20261127)


def test_exp_within_one_ulp_on_ten_million_points(rng):
    x = rng.uniform(-745.2, 709.8, N)  # the whole range, subnormal results included
    x[: N // 2] = rng.uniform(-3.0, 3.0, N // 2)  # and where models live
    fast, ref = _run(_exp_both, x)
    assert _ulps(fast, ref).max() <= 1


def test_log_within_one_ulp_on_ten_million_points(rng):
    x = 2.0 ** rng.uniform(-1074.0, 1024.0, N)  # every binade, subnormals included
    x[: N // 2] = rng.uniform(0.25, 4.0, N // 2)  # near 1, where log is smallest
    fast, ref = _run(_log_both, x)
    assert _ulps(fast, ref).max() <= 1


def test_pow_within_its_stated_bound(rng):
    n = N // 10
    x = 2.0 ** rng.uniform(-30.0, 30.0, n)
    y = rng.uniform(-20.0, 20.0, n)
    x[: n // 4] *= np.where(rng.random(n // 4) < 0.5, -1.0, 1.0)  # negative bases...
    y[: n // 4] = np.round(y[: n // 4])  # ...with whole exponents
    fast, ref = _run(_pow_both, x, y)
    bound = 2.0 + 3.0 * np.abs(y * np.log(np.abs(x)))
    assert (_ulps(fast, ref) <= bound).all()


def test_special_values_are_the_c_librarys():
    fast, ref = _run(_exp_both, SPECIAL)
    assert (_same(fast, ref) | (_ulps(fast, ref) <= 1)).all()
    assert np.isnan(fast[np.isnan(SPECIAL)]).all()
    fast, ref = _run(_log_both, SPECIAL)
    assert (_same(fast, ref) | (_ulps(fast, ref) <= 1)).all()
    assert _same(fast, ref)[~np.isfinite(ref) | (SPECIAL == 1.0)].all()


def test_pow_special_cases_are_c99s():
    """Every pair of special values: the same NaNs, infinities, zeros (with their signs) and
    ones as the C library; finite results within the stated bound."""
    x, y = (a.ravel() for a in np.meshgrid(SPECIAL, SPECIAL))
    fast, ref = _run(_pow_both, x, y)
    exact = ~np.isfinite(ref) | (ref == 0.0) | (ref == 1.0) | ~np.isfinite(fast)
    assert _same(fast, ref)[exact].all()
    with np.errstate(all="ignore"):
        bound = 2.0 + 3.0 * np.abs(y * np.log(np.abs(x)))
    assert (_ulps(fast, ref)[~exact] <= bound[~exact]).all()
