"""System-dynamics builtins called by generated model code.

All functions are compiled with Numba, take plain floats and arrays, and allocate nothing.

Time is counted in whole steps. The kernel evaluates at step positions ``n`` (``n = i`` at
the step's start, ``t = t0 + i*dt``; ``n = i + c`` at a Runge-Kutta stage at ``t + c*dt``)
and an event at time ``T`` (a STEP's start, a PULSE's start and end, a value of a step-holding
time table) happens at the whole step :func:`event_step` gives: the step nearest ``T``, a tie
going to the later one, i.e. Vensim's ``Time + TIME STEP/2 > T``. An evaluation at position
``n`` sees the event once ``n >= event_step(T)``. No tolerance is needed: a time on the grid
is within rounding of a whole number of steps, half a step away from any tie.
"""

import math

import numpy as np
from numba import njit

#: Lever modes in the kernel's lever records (see :func:`lever`).
LEVER_HOLD = 0
LEVER_LINEAR = 1


@njit(cache=True)
def whole(x):
    """``floor(x)`` as a float; NaN and infinities pass through."""
    if not abs(x) < 4503599627370496.0:  # NaN, infinite, or a whole number already
        return x
    return float(math.floor(x))


@njit(cache=True)
def event_step(time, t0, dt):
    """The whole step at which an event at ``time`` happens: ``floor((time - t0)/dt + 1/2)``
    (as a float). NaN passes through (an event at NaN never happens), as do infinities."""
    return whole((time - t0) / dt + 0.5)


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
def step(height, start, t0, dt, n):
    """Vensim STEP at step position ``n``: 0 before ``start``'s step, ``height`` from it on
    (``Time + TIME STEP/2 > start`` in Vensim's words; see the module docstring)."""
    if n >= event_step(start, t0, dt):
        return height
    return 0.0


@njit(cache=True)
def pulse(start, width, t0, dt, n):
    """Vensim PULSE at step position ``n``: 1 from ``start``'s step until the step of
    ``start + width`` (excluded), 0 elsewhere; a pulse lasts at least one step (a width of
    0, or below dt, lasts one dt)."""
    first = event_step(start, t0, dt)
    stop = event_step(start + width, t0, dt)
    if stop < first + 1.0:
        stop = first + 1.0
    if n >= first and n < stop:
        return 1.0
    return 0.0


@njit(cache=True)
def ramp(slope, start, end, t):
    """Vensim RAMP at time ``t``: 0 before ``start``, rising by ``slope`` per time unit until
    ``end``, then held. Continuous in time, so it needs no event rule: it is evaluated at the
    exact time of the step position (``t0 + n*dt``)."""
    if t <= start:
        return 0.0
    if t >= end:
        return slope * (end - start)
    return slope * (t - start)


@njit(cache=True)
def start_value(p, k, value):
    """A state slot's initial value: column ``k`` of the parameter row ``p`` when the row has
    it (a warm start, ``<state>.start``) and it is not NaN, else ``value`` (the model's own).
    One call per slot, so the slot is assigned once (see sim315.compilation.codegen)."""
    if p.shape[0] > k:
        x = p[k]
        if x == x:
            return x
    return value


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
def lever(xs, ys, start, stop, mode, t0, dt, n, t):
    """A time-tabled lever's value at step position ``n`` (time ``t``): its table is
    ``xs[start:stop]`` (times, increasing) and ``ys[start:stop]``.

    ``mode`` :data:`LEVER_LINEAR`: interpolated at ``t``, the end values held outside (as
    :func:`lookup`). :data:`LEVER_HOLD`: the value listed at ``T`` holds from
    ``event_step(T)`` on, until the next listed value's step; before the first, the first.
    """
    if mode == LEVER_LINEAR:
        return lookup(xs, ys, start, stop, t)
    if n != n:
        return np.nan
    lo = start
    hi = stop
    while hi - lo > 1:  # the last point whose step is at or before n (binary search)
        mid = (lo + hi) // 2
        if event_step(xs[mid], t0, dt) <= n:
            lo = mid
        else:
            hi = mid
    return ys[lo]


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
def pulse_train(start, width, interval, end, t0, dt, n):
    """Vensim PULSE TRAIN at step position ``n``: pulses of ``width`` (at least one step)
    starting at ``start``, ``start + interval``, ... while before ``end``'s step; an interval
    of 0 or less gives one pulse. Every start and end is placed by :func:`event_step`."""
    if n >= event_step(end, t0, dt):
        return 0.0
    k = 0.0
    if interval > 0.0 and abs(start) < np.inf and interval < np.inf:
        # the last pulse whose step is at or before n: estimated from its time, then set
        # right by the event rule itself (the estimate is off by one at most, at a tie)
        k = whole(((whole(n) + 0.5) * dt + t0 - start) / interval)
        if not k > 0.0:
            k = 0.0
        for _ in range(2):
            if k > 0.0 and event_step(start + k * interval, t0, dt) > n:
                k -= 1.0
            elif event_step(start + (k + 1.0) * interval, t0, dt) <= n:
                k += 1.0
    return pulse(start + k * interval, width, t0, dt, n)


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
