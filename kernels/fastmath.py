"""Branch-free ``exp``, ``log`` and ``pow`` that LLVM vectorises, for the block-of-runs kernel.

Numba calls ``math.exp``, ``math.log`` and ``x ** y`` through the C library, one value at a
time: a loop over a block's lanes that calls them cannot use vector instructions (the
numba/llvmlite wheels have no SVML, Intel's vector math library). These are plain arithmetic
on float64 and its bits (two bitcasts, :func:`_bits` and :func:`_float`), with the special
cases chosen by selects, not branches, so that a lane loop calling them compiles to vector
code. They are the classic fdlibm algorithms (Sun Microsystems, 1993; as in musl's
``exp.c`` and ``log.c``): a reduction by multiples of ln 2, a minimax polynomial on the
reduced range, a scaling by a power of two.

Error, against Python's ``math`` (the C library the scalar kernel calls), checked on
10^7 random points, the special values and subnormals by ``tests/test_fastmath.py``:

* :func:`exp`: at most 1 ulp; 0, infinities and NaN exactly as ``math.exp`` (overflow to
  inf, underflow through the subnormals to 0).
* :func:`log`: at most 1 ulp; ``log(0) = -inf``, negative arguments NaN, subnormal
  arguments exact to the same bound.
* :func:`pow`: ``exp(y * log|x|)`` with C99's special cases and signs (negative ``x`` with
  an integer ``y``; NaN for a negative finite ``x`` with a non-integer ``y``); within
  ``2 + 3 |y ln x|`` ulp of ``x ** y``: the rounding of ``y * log|x|`` is magnified by the
  exponential (at most 1e-15 relative while ``|y ln x| <= 1``, 5e-13 at the extreme
  ``|y ln x| = 709``).

Each is deterministic: a lane computes the same bits whether LLVM vectorised its loop or
not (no fused multiply-adds are formed: Numba does not allow contraction).
"""

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _bits(typingctx, x):
    """The bits of a float64 as a uint64 (a bitcast, not a conversion)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.uint64))

    return types.uint64(types.float64), codegen


@intrinsic
def _float(typingctx, u):
    """The float64 whose bits are the uint64 ``u`` (a bitcast, not a conversion)."""
    if u != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.uint64), codegen


# Rounding to a whole number: x + 1.5 * 2**52 - 1.5 * 2**52, and its bits hold the integer.
_SHIFT = 6755399441055744.0
_SHIFT_BITS = np.uint64(0x4338000000000000)
_BIAS = np.uint64(1023)
_S52 = np.uint64(52)
_INF = math.inf

# exp (fdlibm e_exp.c)
_INVLN2 = 1.44269504088896338700e00
_LN2HI = 6.93147180369123816490e-01
_LN2LO = 1.90821492927058770002e-10
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08

# log (fdlibm e_log.c)
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_TINY = 2.2250738585072014e-308  # the least normal number
_TWO54 = 18014398509481984.0
# x's bits plus this put the mantissa of sqrt(2)/2 .. sqrt(2) in one binade
_SQRT_HALF_OFFSET = np.uint64((0x3FF00000 - 0x3FE6A09E) << 32)
_SQRT_HALF_BITS = np.uint64(0x3FE6A09E << 32)
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_TWO52_BITS = np.uint64(0x4330000000000000)
_TWO52 = 4503599627370496.0


@njit(cache=True, error_model="numpy")
def _pow2(k):
    """2**k for a whole float ``k`` in [-1022, 1023], from its bits."""
    return _float(((_bits(k + _SHIFT) - _SHIFT_BITS) + _BIAS) << _S52)


@njit(cache=True, error_model="numpy")
def exp(x):
    """e**x within 1 ulp of ``math.exp(x)``; branch-free (see the module docstring)."""
    xc = x if x < 710.0 else 710.0  # past the overflow threshold; NaN too (fixed below)
    xc = xc if xc > -746.0 else -746.0  # past the underflow to 0
    k = (xc * _INVLN2 + _SHIFT) - _SHIFT  # the nearest whole number to x / ln 2
    hi = xc - k * _LN2HI  # exact
    lo = k * _LN2LO
    r = hi - lo  # |r| <= ln(2)/2
    rr = r * r
    c = r - rr * (_P1 + rr * (_P2 + rr * (_P3 + rr * (_P4 + rr * _P5))))
    y = 1.0 + ((r * c / (2.0 - c) - lo) + hi)
    # 2**k in two factors, each a normal number, so that subnormal results round once
    k1 = math.floor(k * 0.5)
    y = (y * _pow2(k1)) * _pow2(k - k1)
    return x if x != x else y


@njit(cache=True, error_model="numpy")
def log(x):
    """The natural logarithm within 1 ulp of ``math.log(x)``; branch-free (see the module
    docstring)."""
    tiny = x < _TINY  # subnormal (or zero or negative: fixed below)
    xs = x * _TWO54 if tiny else x
    ix = _bits(xs) + _SQRT_HALF_OFFSET
    e = _float((ix >> _S52) | _TWO52_BITS) - _TWO52  # the biased exponent, as a float
    k = (e - 1023.0) - (54.0 if tiny else 0.0)
    f = _float((ix & _MANTISSA) + _SQRT_HALF_BITS) - 1.0  # x = 2**k * (1 + f)
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    y = (((s * (hfsq + (t2 + t1)) + k * _LN2LO) - hfsq) + f) + k * _LN2HI
    y = -_INF if x == 0.0 else y
    y = math.nan if x < 0.0 else y
    return x if (x != x) | (x == _INF) else y


@njit(cache=True, error_model="numpy")
def pow(x, y):
    """``x ** y`` as ``exp(y * log|x|)`` with C99's special cases; within
    ``2 + 3 |y ln x|`` ulp of ``x ** y`` (see the module docstring)."""
    ax = abs(x)
    r = exp(y * log(ax))
    whole = math.floor(y) == y  # infinities count as even whole numbers
    half = y * 0.5
    odd = whole & (math.floor(half) != half)
    negative = math.copysign(1.0, x) < 0.0  # -0.0 too
    r = -r if negative & odd else r
    undefined = negative & (x != 0.0) & (ax < _INF) & (abs(y) < _INF) & (not whole)
    r = math.nan if undefined else r
    one = (y == 0.0) | (x == 1.0) | ((x == -1.0) & (abs(y) == _INF))
    return 1.0 if one else r
