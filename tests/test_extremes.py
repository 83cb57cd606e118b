"""``min``/``max`` intrinsics of the generated kernel (``kernels/extremes.py``): the values,
signs of zero and NaN propagation of Python's and Numba's builtins, bit for bit."""

import itertools
import math

import numpy as np
import pytest
from conftest import compile_spec
from numba import njit
from numba.core.errors import TypingError
from sim315.kernels.extremes import largest, smallest

SPECIAL = [0.0, -0.0, 1.0, -1.5, 2.0**-1074, np.inf, -np.inf, np.nan, 3.0]


@njit
def _ours2(a, b):
    return smallest((a, b)), largest((a, b))


@njit
def _numbas2(a, b):
    return min(a, b), max(a, b)


@njit
def _ours3(a, b, c):
    return smallest((a, b, c)), largest((a, b, c))


@njit
def _numbas3(a, b, c):
    return min(a, b, c), max(a, b, c)


def _same(x, y):
    return (math.isnan(x) and math.isnan(y)) or (
        x == y and math.copysign(1.0, x) == math.copysign(1.0, y)
    )


def test_two_and_three_arguments_as_the_builtins():
    for a, b in itertools.product(SPECIAL, repeat=2):
        got, ref = _ours2(a, b), _numbas2(a, b)
        assert all(_same(x, y) for x, y in zip(got, ref, strict=True)), (a, b, got, ref)
        assert all(_same(x, y) for x, y in zip(got, (min(a, b), max(a, b)), strict=True))
    for a, b, c in itertools.product(SPECIAL, repeat=3):
        got, ref = _ours3(a, b, c), _numbas3(a, b, c)
        assert all(_same(x, y) for x, y in zip(got, ref, strict=True)), (a, b, c, got, ref)


@njit
def _mixed(k, x):
    return smallest((k, x)), largest((x, k)), smallest((k, 2)), largest((True, False))


def test_mixed_types_are_converted_as_the_builtins_convert_them():
    got = _mixed(3, 2.5)
    assert got == (2.5, 3.0, 2, True)
    assert isinstance(got[0], float) and isinstance(got[2], int)


def test_anything_but_numbers_is_refused():
    with pytest.raises(TypingError):
        njit(lambda a: smallest((a, 1.0)))(np.ones(2))
    with pytest.raises(TypingError):
        njit(lambda: smallest(()))()


def test_the_kernels_use_them_on_the_cpu_and_the_builtins_on_cuda():
    spec = {
        "name": "mm",
        "time": {"start": 0, "stop": 2, "dt": 1, "units": "year"},
        "parameters": {
            "k": {"value": 0.5, "units": "1/year"},
            "f": {"value": 0.1, "units": "t/year"},
            "c": {"value": 2.0, "units": "t"},
            "r": {"value": 1.0, "units": "1/year"},
        },
        "stocks": {"x": {"initial": 1, "units": "t", "inflows": ["g"]}},
        "flows": {"g": {"equation": "max(k * x, f, k * c) - min(x, c) * r", "units": "t/year"}},
    }
    mm = compile_spec(spec)
    cpu = mm.source_code("euler")
    assert "_max((" in cpu and "_min((" in cpu
    assert "from sim315.kernels.extremes import smallest as _min" in cpu
    assert "_min = min" in mm.source_code("euler", "cuda")
    x = mm.simulate().values[:, :, mm.output_names.index("x")][0]
    ref = [1.0]
    for _ in range(2):
        ref.append(ref[-1] + (max(0.5 * ref[-1], 0.1, 0.5 * 2.0) - min(ref[-1], 2.0) * 1.0))
    np.testing.assert_array_equal(x, ref)


@njit
def _ints(a, b, ua, ub):
    return smallest((a, b)), largest((a, b)), smallest((ua, ub)), largest((ua, ub))


@njit
def _ints_builtin(a, b, ua, ub):
    return min(a, b), max(a, b), min(ua, ub), max(ua, ub)


def test_signed_and_unsigned_integers_compare_as_the_builtins():
    big = np.uint64(2**63 + 5)  # above int64's range: an unsigned compare
    for a, b in [(-3, 2), (2, -3), (-(2**63), 2**63 - 1), (7, 7)]:
        got = _ints(a, b, big, np.uint64(3))
        assert got == _ints_builtin(a, b, big, np.uint64(3)) == (min(a, b), max(a, b), 3, big)
