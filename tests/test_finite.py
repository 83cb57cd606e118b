"""``kernels/finite.py``: the kernel's whole-state test, one intrinsic, says what
``math.isfinite(0.0 * s_0 + 0.0 * s_1 + ...)`` says, for any values and any count."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from sim315.kernels.finite import all_finite

_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, -1e308, 1.7976931348623157e308, math.inf, math.nan]),
)


@njit
def _three(a, b, c):
    return all_finite((a, b, c))


@njit
def _one(a):
    return all_finite((a,))


@njit
def _none():
    return all_finite(())


def _sum_says(values):
    return math.isfinite(sum(0.0 * v for v in values))


@settings(max_examples=300, deadline=None)
@given(a=_VALUES, b=_VALUES, c=_VALUES)
def test_it_says_what_the_sum_of_zeros_says(a, b, c):
    assert _three(a, b, c) == _sum_says((a, b, c)) == all(map(math.isfinite, (a, b, c)))
    assert _one(a) == math.isfinite(a)


def test_each_position_counts_and_an_empty_state_is_finite():
    for i in range(3):
        for bad in (math.nan, math.inf, -math.inf):
            v = [1.0, 2.0, 3.0]
            v[i] = bad
            assert not _three(*v)
    assert _three(1e308, 1e308, 1e308)  # 0 * x never overflows: no false alarm
    assert _none()


def test_a_long_state_and_float32_values():
    n = 47  # plan315's
    src = f"def f(x):\n    return _f(({''.join(f'x[{i}], ' for i in range(n))}))"
    ns = {"_f": all_finite}
    exec(src, ns)
    f = njit(ns["f"])
    x = np.ones(n)
    assert f(x)
    for i in (0, 23, 46):
        y = x.copy()
        y[i] = np.inf
        assert not f(y)
    assert f(x.astype(np.float32)) and not f(np.full(n, np.nan, dtype=np.float32))
