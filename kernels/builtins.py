"""System-dynamics builtins called by generated model code.

All functions are compiled with Numba, take plain floats and arrays, and allocate nothing.
Time arguments are compared with a tolerance of a millionth of ``dt`` so that an event
scheduled on the dt grid fires on that grid point even when ``t0 + k*dt`` rounds.
"""

import math

import numpy as np
from numba import njit

_EPS = 1e-6


@njit(cache=True)
def lookup(xs, ys, start, stop, x):
    """Piecewise-linear table lookup, holding the end values outside the range.

    Parameters
    ----------
    xs, ys : ndarray of float64
        Flat arrays holding the points of every table of a model.
    start, stop : int
        This table's slice ``[start, stop)`` in ``xs`` and ``ys``; ``xs`` increases within it.
    x : float
        Where to evaluate.

    Notes
    -----
    Compiled with Numba. A NaN ``x`` returns NaN. ``stop - start`` must be at least 1.
    """
    if x != x:
        return np.nan
    if x <= xs[start]:
        return ys[start]
    last = stop - 1
    if x >= xs[last]:
        return ys[last]
    lo = start
    hi = last
    while hi - lo > 1:  # binary search for xs[lo] <= x < xs[hi]
        mid = (lo + hi) // 2
        if xs[mid] <= x:
            lo = mid
        else:
            hi = mid
    w = (x - xs[lo]) / (xs[hi] - xs[lo])
    return ys[lo] + w * (ys[hi] - ys[lo])


@njit(cache=True)
def step(height, start, t, dt):
    """Vensim STEP: 0 before ``start``, ``height`` from ``start`` on."""
    if t >= start - _EPS * dt:
        return height
    return 0.0


@njit(cache=True)
def pulse(start, width, t, dt):
    """Vensim PULSE: 1 for ``start <= t < start + width``; a width below dt lasts one dt."""
    w = width if width >= dt else dt
    if t >= start - _EPS * dt and t < start + w - _EPS * dt:
        return 1.0
    return 0.0


@njit(cache=True)
def ramp(slope, start, end, t, dt):
    """Vensim RAMP: 0 before ``start``, rising by ``slope`` per time unit until ``end``."""
    if t <= start:
        return 0.0
    if t >= end:
        return slope * (end - start)
    return slope * (t - start)


@njit(cache=True)
def fill_nan(out, start):
    """Fill ``out[start:, :]`` with NaN: the saved times after a run stopped."""
    for j in range(start, out.shape[0]):
        for m in range(out.shape[1]):
            out[j, m] = np.nan


@njit(cache=True)
def _last_at_or_below(xs, start, stop, x):
    """The largest index ``lo`` in ``[start, stop)`` with ``xs[lo] <= x`` (``start`` when
    ``x`` lies before the table): binary search."""
    if x < xs[start]:
        return start
    lo = start
    hi = stop
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xs[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def lookup_hold(xs, ys, start, stop, x):
    """Step-holding table: the y of the last point with ``xs <= x`` (the first y before).

    Used for policy levers given as time tables (``{2023: 0.18, 2025: 0.20}``): the value
    changes at each listed time and holds until the next. Same arguments as :func:`lookup`.
    """
    if x != x:
        return np.nan
    x = x + 1e-9 * (abs(x) + 1.0)  # a time that rounds just below a listed time is at it
    return ys[_last_at_or_below(xs, start, stop, x)]


@njit(cache=True)
def lookup_extrapolate(xs, ys, start, stop, x):
    """LOOKUP EXTRAPOLATE: like :func:`lookup`, but outside the range the first or last
    segment is extended linearly (a one-point table is constant)."""
    if x != x:
        return np.nan
    last = stop - 1
    if last == start:
        return ys[start]
    if x < xs[start]:
        lo = start
    elif x > xs[last]:
        lo = last - 1
    else:
        return lookup(xs, ys, start, stop, x)
    w = (x - xs[lo]) / (xs[lo + 1] - xs[lo])
    return ys[lo] + w * (ys[lo + 1] - ys[lo])


@njit(cache=True)
def lookup_backward(xs, ys, start, stop, x):
    """LOOKUP BACKWARD: the y of the last point with ``xs <= x`` (the first y before the
    range). Same arguments as :func:`lookup`."""
    if x != x:
        return np.nan
    return ys[_last_at_or_below(xs, start, stop, x)]


@njit(cache=True)
def lookup_forward(xs, ys, start, stop, x):
    """LOOKUP FORWARD: the y of the first point with ``xs >= x`` (the last y after the
    range). Same arguments as :func:`lookup`."""
    if x != x:
        return np.nan
    last = stop - 1
    if x > xs[last]:
        return ys[last]
    lo = start - 1
    hi = last
    while hi - lo > 1:  # smallest hi with xs[hi] >= x
        mid = (lo + hi) // 2
        if xs[mid] >= x:
            hi = mid
        else:
            lo = mid
    return ys[hi]


@njit(cache=True)
def pulse_train(start, width, interval, end, t, dt):
    """Vensim PULSE TRAIN: 1 for ``width`` from ``start``, again every ``interval``, while
    ``t < end``; a width below dt lasts one dt; an interval of 0 or less gives one pulse."""
    if t < start - _EPS * dt or t >= end - _EPS * dt:
        return 0.0
    w = width if width >= dt else dt
    since = t - start
    if interval > 0.0:
        since = since - interval * math.floor((since + _EPS * dt) / interval)
    if since < w - _EPS * dt:
        return 1.0
    return 0.0


@njit(cache=True)
def integer(x):
    """Vensim INTEGER: ``x`` truncated toward zero (INTEGER(-3.7) = -3).

    Notes
    -----
    ``x - fmod(x, 1)`` is exact and stays a float (``math.trunc`` gives an integer, which
    overflows past 2**63); floats of 2**52 and more are whole already, infinities included.
    """
    if abs(x) >= 4503599627370496.0:
        return x
    return x - np.fmod(x, 1.0)


@njit(cache=True)
def modulo(a, b):
    """Vensim MODULO: the remainder of ``a / b`` with the sign of ``a`` (MODULO(-10, 3) = -1,
    as Vensim's output shows); NaN when ``b`` is 0."""
    if b == 0.0:
        return np.nan
    return np.fmod(a, b)


@njit(cache=True)
def quantum(x, q):
    """Vensim QUANTUM: ``q * INTEGER(x / q)``; ``x`` itself when ``q <= 0``."""
    if q <= 0.0:
        return x
    return q * integer(x / q)


@njit(cache=True)
def xidz(a, b, x):
    """Vensim XIDZ: ``a / b``, or ``x`` when ``b`` is 0."""
    if b == 0.0:
        return x
    return a / b


@njit(cache=True)
def zidz(a, b):
    """Vensim ZIDZ: ``a / b``, or 0 when ``b`` is 0."""
    if b == 0.0:
        return 0.0
    return a / b
