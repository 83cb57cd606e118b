"""Quantiles of the beta distribution for Beta-PERT draws: about ten times faster than
``scipy.stats.beta.ppf``, and within 1.5e-15 of it.

A PERT parameter maps each run's unit-interval draw ``u`` through the inverse of the
regularised incomplete beta function ``I_x(a, b)``. scipy computes it with Boost's
``ibeta_inv``, from scratch for every value (about 1.2 µs each); a plan scenario draws 16
PERTs a run, which made the draws cost more CPU than the model's kernel at 10^6 runs.

Here each distribution gets a table once (:func:`beta_table`): the quantiles at
``u = k / M`` and their slopes ``dx/du = 1 / f(x)``. A value's first guess is the cubic
Hermite interpolant of its interval (for the first and last intervals, where the slope is
unbounded, the tail's leading term ``x ≈ (u a B(a, b))^(1/a)``); Newton steps on
``I_x(a, b) = u`` then refine it until the next step would move it by less than a tenth of
an ulp (the error after a step is about ``C dx²``, ``C = |f'/2f|``). In the interior one
step is enough. Above the median the complement is solved instead, ``I_y(b, a) = 1 - u``
with ``x = 1 - y``, so the equation's right side is never near 1 (``1 - u`` is exact there).

``I_x(a, b)`` is the continued fraction of Press et al., *Numerical Recipes* (3rd ed.,
§6.4), evaluated by the modified Lentz method, on the side of ``(a + 1) / (a + b + 2)``
where it converges fast (``1 - I_{1-x}(b, a)`` on the other).

Its divisions are most of a value's time, and each waits on the one before. So
:func:`beta_quantiles` advances the fractions of :data:`LANES` draws a term at a time, in a
loop over lanes that LLVM vectorises: the same operations on each draw as
:func:`quantile` makes one value at a time, and the same bits (tested), a lane's result
taken at the term where its own loop would stop: 0.65-0.72 of the time on the plan's
skewed shapes, 0.85-0.97 on a symmetric one (``a = b = 3``), whose fraction ends
after three terms (``python -m suite.bench_draws`` in ``benchmarks/``).

Error, against ``scipy.stats.beta.ppf`` for PERT shapes (``a`` in [1, 5], ``b = 6 - a``),
measured on 10^7 random points per shape and checked by ``tests/test_betainv.py``:

* at most 1.5e-15 absolute (on the unit interval; a PERT value's error is that times its
  width), and at most 53 ulp relative where the quantile is small (the rounding of
  ``exp((a - 1) ln x + ...)`` grows with ``|ln x|``; Boost's differs the same way);
* in the lower tail, down to ``u = 1e-300``, ``I_x(a, b)`` of the result is ``u`` within a
  relative 1e-13 (scipy's own ``ppf`` fails below about 1e-90, where its root finder gives
  up); in the upper tail the result is within half an ulp of 1 of scipy's (near 1 the
  spacing of doubles, not the method, limits both);
* non-decreasing in ``u`` over 10^6 sorted points per shape.

Every value is a function of ``u`` and the table only, so the numbers do not depend on how
the draws are split into chunks or threads.
"""

import math

import numpy as np
from numba import njit

from .pointers import data_pointer, load_lane, select, store_lane

#: Intervals of the quantile table.
TABLE_INTERVALS = 1024
_TINY = 1e-300
_SMALLEST = 5e-324  # the least positive double (subnormal)
_BELOW_ONE = 1.0 - 2.0**-53  # the greatest double below 1
_MAX_STEPS = 60
_MAX_TERMS = 400  # terms of the continued fraction at most


@njit(cache=True, nogil=True, inline="always")
def _lentz(aa, c, d):
    """One step of the modified Lentz method with coefficient ``aa``: the new ``c``, ``d``."""
    d = 1.0 + aa * d
    d = select(abs(d) < _TINY, _TINY, d)  # (a select, not a branch: lanes vectorise)
    c = 1.0 + aa / c
    c = select(abs(c) < _TINY, _TINY, c)
    return c, 1.0 / d


@njit(cache=True, nogil=True, inline="always")
def _fraction_start(x, a, b):
    """The continued fraction's ``c``, ``d`` and ``h`` before its first term."""
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / select(abs(d) < _TINY, _TINY, d)
    return 1.0, d, d


@njit(cache=True, nogil=True, inline="always")
def _fraction_terms(m, x, a, b, c, d, h):
    """Term ``m`` (its even and odd steps) of the continued fraction: the new ``c``, ``d``,
    ``h`` and the odd step's factor (the fraction has converged when it is 1)."""
    m2 = 2.0 * m
    c, d = _lentz(m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)), c, d)
    h *= d * c
    c, d = _lentz(-(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2)), c, d)
    step = d * c
    return c, d, h * step, step


@njit(cache=True, nogil=True, inline="always")
def _converged(step):
    """Whether the continued fraction stops at a term whose odd step's factor is ``step``."""
    return abs(step - 1.0) < 1e-16


@njit(cache=True, nogil=True)
def _fraction(x, a, b):
    """The continued fraction of ``I_x(a, b)`` (modified Lentz)."""
    c, d, h = _fraction_start(x, a, b)
    for m in range(1, _MAX_TERMS):
        c, d, h, step = _fraction_terms(m, x, a, b, c, d, h)
        if _converged(step):
            break
    return h


@njit(cache=True, nogil=True, inline="always")
def _density(x, a, b, lbeta):
    """The density at ``x`` in (0, 1); ``x^a (1 - x)^b / B(a, b)``; and whether the
    continued fraction converges fast at ``x`` (else at ``1 - x``, ``a`` and ``b`` swapped)."""
    lf = (a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x) - lbeta
    pdf = math.exp(lf)
    return pdf, pdf * x * (1.0 - x), x * (a + b + 2.0) < a + 1.0


@njit(cache=True, nogil=True)
def _cdf_pdf(x, a, b, lbeta):
    """``I_x(a, b)`` and the density at ``x`` in (0, 1); ``lbeta = ln B(a, b)``."""
    pdf, front, near = _density(x, a, b, lbeta)
    if near:
        return front * _fraction(x, a, b) / a, pdf
    return 1.0 - front * _fraction(1.0 - x, b, a) / b, pdf


@njit(cache=True, nogil=True, inline="always")
def _newton(v, x, a, b, cdf, pdf):
    """One Newton step on ``I_x(a, b) = v`` from ``x``, kept inside (0, 1) by halving the
    distance to the end it would cross (at least the least positive double: a tiny ``v``
    may want a subnormal quantile, whose half rounds to 0); and whether to stop there."""
    dx = (cdf - v) / pdf
    new = x - dx
    if new <= 0.0:  # never 0 or 1 itself: the curvature below divides by both ends
        new = max(0.5 * x, _SMALLEST)
    elif new >= 1.0:
        new = min(0.5 * (x + 1.0), _BELOW_ONE)
    curve = 0.5 * abs((a - 1.0) / new - (b - 1.0) / (1.0 - new))
    # the error left after this step is about curve * dx^2: stop below a tenth of an ulp
    return new, abs(dx) * curve < 0.1 and curve * dx * dx <= 1e-17 * new


@njit(cache=True, nogil=True)
def _solve(v, x, a, b, lbeta, steps):
    """The ``x`` in (0, 1) with ``I_x(a, b) = v`` by at most ``steps`` Newton steps."""
    for _ in range(steps):
        cdf, pdf = _cdf_pdf(x, a, b, lbeta)
        if not pdf > 0.0:
            break
        x, stop = _newton(v, x, a, b, cdf, pdf)
        if stop:
            break
    return x


@njit(cache=True, nogil=True, inline="always")
def _guess(u, a, b, lbeta, xs, slopes):
    """The first guess at the quantile of ``u`` in (0, 1), inside (0, 1): the table's
    cubic Hermite interpolant, or in the first and last intervals the tail's leading term."""
    m = xs.shape[0] - 1
    t = u * m
    k = min(int(t), m - 1)
    if k == 0:
        guess = math.exp((math.log(u) + math.log(a) + lbeta) / a)
        guess = min(guess, xs[1])
    elif k == m - 1:
        guess = 1.0 - math.exp((math.log1p(-u) + math.log(b) + lbeta) / b)
        guess = max(guess, xs[m - 1])
    else:
        s = t - k
        h = 1.0 / m
        s2, s3 = s * s, s * s * s
        guess = (
            (2.0 * s3 - 3.0 * s2 + 1.0) * xs[k]
            + (s3 - 2.0 * s2 + s) * h * slopes[k]
            + (-2.0 * s3 + 3.0 * s2) * xs[k + 1]
            + (s3 - s2) * h * slopes[k + 1]
        )
    return min(max(guess, 1e-300), 1.0 - 2.0**-53)


@njit(cache=True, nogil=True)
def quantile(u, a, b, lbeta, xs, slopes):
    """The beta(a, b) quantile of ``u`` with the table ``xs``, ``slopes``, one value at a
    time (:func:`beta_quantiles` gives the same bits, several values at once)."""
    if not 0.0 <= u <= 1.0:
        return np.nan
    if u == 0.0 or u == 1.0:
        return u
    guess = _guess(u, a, b, lbeta, xs, slopes)
    if u <= 0.5:
        return _solve(u, guess, a, b, lbeta, _MAX_STEPS)
    return 1.0 - _solve(1.0 - u, 1.0 - guess, b, a, lbeta, _MAX_STEPS)


@njit(cache=True, nogil=True)
def beta_table(a, b, lbeta, intervals):
    """The quantiles ``xs[k]`` at ``u = k / intervals`` and their slopes ``dx/du``, each
    solved from a bracketing start (the median's neighbourhood) by the same Newton steps."""
    xs = np.empty(intervals + 1)
    slopes = np.empty(intervals + 1)
    xs[0], xs[intervals] = 0.0, 1.0
    slopes[0] = slopes[intervals] = np.inf
    mid = (a - 1.0 / 3.0) / (a + b - 2.0 / 3.0)  # the median, approximately
    for k in range(1, intervals):
        u = k / intervals
        if u <= 0.5:
            x = _solve(u, mid, a, b, lbeta, _MAX_STEPS)
        else:
            x = 1.0 - _solve(1.0 - u, 1.0 - mid, b, a, lbeta, _MAX_STEPS)
        xs[k] = x
        slopes[k] = 1.0 / _cdf_pdf(x, a, b, lbeta)[1]
    return xs, slopes


#: Values whose continued fractions advance together in :func:`beta_quantiles` (the lanes
#: of its vector loop: the fraction's divisions are its cost, and one value's chain of them
#: waits on each result; eight values' are independent).
LANES = 8
# rows of beta_quantiles' lane state
_X, _A, _B, _C, _D, _H, _LIVE = range(7)
_V, _XN, _AN, _BN, _PDF, _FRONT, _NEAR, _FLIP = range(7, 15)


@njit(cache=True, nogil=True, error_model="numpy")
def _fractions(w):
    """:func:`_fraction` of each lane of ``w`` (rows ``_X``, ``_A``, ``_B``; ``_LIVE`` 1)
    into its row ``_H``, all lanes a term at a time: the same operations as one value's, a
    lane's result kept from the term where its own loop would stop. Every row is read and
    written through ``w``'s data pointer at constant offsets, so that LLVM, seeing the rows
    apart, vectorises the loop over lanes."""
    p = data_pointer(w)
    for i in range(LANES):
        c, d, h = _fraction_start(
            load_lane(p, _X * LANES, i), load_lane(p, _A * LANES, i), load_lane(p, _B * LANES, i)
        )
        store_lane(p, _C * LANES, i, c)
        store_lane(p, _D * LANES, i, d)
        store_lane(p, _H * LANES, i, h)
    for m in range(1, _MAX_TERMS):
        more = 0  # lanes going on (an integer: a float sum would not vectorise)
        for i in range(LANES):
            x, a, b = (
                load_lane(p, _X * LANES, i),
                load_lane(p, _A * LANES, i),
                load_lane(p, _B * LANES, i),
            )
            h0 = load_lane(p, _H * LANES, i)
            c, d, h, step = _fraction_terms(
                m, x, a, b, load_lane(p, _C * LANES, i), load_lane(p, _D * LANES, i), h0
            )
            on = load_lane(p, _LIVE * LANES, i)
            store_lane(p, _C * LANES, i, c)
            store_lane(p, _D * LANES, i, d)
            store_lane(p, _H * LANES, i, select(on == 1.0, h, h0))
            go = select(_converged(step), 0.0, on)
            store_lane(p, _LIVE * LANES, i, go)
            more += go == 1.0
        if more == 0:
            break


@njit(cache=True, nogil=True, inline="always")
def _lane(w, i, u, a, b, lbeta, xs, slopes):
    """Lane ``i`` of ``w`` set for the draw ``u`` in (0, 1): its first Newton step's
    equation and continued fraction, as :func:`quantile` would take them."""
    guess = _guess(u, a, b, lbeta, xs, slopes)
    flip = u > 0.5
    v, x, aa, bb = (1.0 - u, 1.0 - guess, b, a) if flip else (u, guess, a, b)
    pdf, front, near = _density(x, aa, bb, lbeta)
    w[_V, i], w[_XN, i], w[_AN, i], w[_BN, i] = v, x, aa, bb
    w[_PDF, i], w[_FRONT, i], w[_NEAR, i], w[_FLIP, i] = pdf, front, near, flip
    w[_X, i], w[_A, i], w[_B, i] = (x, aa, bb) if near else (1.0 - x, bb, aa)
    w[_LIVE, i] = 1.0


@njit(cache=True, nogil=True, inline="always")
def _finish(w, i, lbeta):
    """The quantile of lane ``i`` of ``w`` once its fraction is known: :func:`quantile`'s
    first Newton step, and the next ones, rarely needed, one value at a time."""
    v, x, a, b = w[_V, i], w[_XN, i], w[_AN, i], w[_BN, i]
    pdf, front, h = w[_PDF, i], w[_FRONT, i], w[_H, i]
    if pdf > 0.0:
        cdf = front * h / a if w[_NEAR, i] == 1.0 else 1.0 - front * h / b
        x, stop = _newton(v, x, a, b, cdf, pdf)
        if not stop:
            x = _solve(v, x, a, b, lbeta, _MAX_STEPS - 1)
    return 1.0 - x if w[_FLIP, i] == 1.0 else x


@njit(cache=True, nogil=True)
def beta_quantiles(u, a, b, lbeta, xs, slopes, out):
    """``out[i]``: the beta(a, b) quantile of ``u[i]`` (NaN outside [0, 1]), the same bits as
    :func:`quantile` of each, :data:`LANES` draws' continued fractions at a time."""
    w = np.empty((_FLIP + 1, LANES))
    at = np.empty(LANES, np.int64)  # each lane's draw
    j = 0
    while j < u.shape[0]:
        i = 0
        while i < LANES and j < u.shape[0]:
            uj = u[j]
            if not 0.0 < uj < 1.0:  # 0, 1 or outside: no equation to solve
                out[j] = uj if uj == 0.0 or uj == 1.0 else np.nan
            else:
                _lane(w, i, uj, a, b, lbeta, xs, slopes)
                at[i] = j
                i += 1
            j += 1
        for k in range(i, LANES):  # lanes without a draw: not live, ordinary numbers
            w[_X, k], w[_A, k], w[_B, k], w[_LIVE, k] = 0.5, 2.0, 2.0, 0.0
        _fractions(w)
        for k in range(i):
            out[at[k]] = _finish(w, k, lbeta)


@njit(cache=True, nogil=True)
def beta_quantiles_one_by_one(u, a, b, lbeta, xs, slopes, out):
    """:func:`beta_quantiles` one value at a time (:func:`quantile` of each): the reference
    its lanes are tested and measured against."""
    for i in range(u.shape[0]):
        out[i] = quantile(u[i], a, b, lbeta, xs, slopes)
