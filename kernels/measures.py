"""Every target of a chunk of runs measured in one pass (:mod:`sim315.results.measures`):
the numbers of :func:`sim315.language.targets.measure`, bit for bit, without a Python call
per target per chunk.

Each target ``k`` is a row of small arrays. ``spec[k]`` holds its output, its kind
(:data:`LEVEL`, :data:`CUMULATIVE`, :data:`GROWTH`, :data:`EVERY_YEAR`), whether it counts
(``floor(x + 0.5)``), the kinds of its lower and upper bounds (:data:`NO_BOUND`,
:data:`AT_LEAST` for ``>=``/``<=``, :data:`STRICT` for ``>``/``<``), how an every_year
target's years are ranked (:data:`LOWEST`, :data:`HIGHEST`, :data:`FARTHEST` from
``centre[k, 0]``, :data:`OUTSIDE` of ``centre[k]``), how many time columns it reads and the
column of ``E`` its measured value goes to; ``lower[k]``, ``upper[k]`` are the bounds and
``columns[k]`` the time columns (the years it needs, in order). An every_year target's
additions go to the columns of ``E`` after its value, and whether each run met target ``k``
to ``met[:, k]``. A growth target gets its ratio ``x(last) / x(first - 1)`` (NaN unless both
are positive) and no verdict: its power is numpy's, taken by the caller.
"""

import math

import numpy as np
from numba import njit

LEVEL, CUMULATIVE, GROWTH, EVERY_YEAR = 0, 1, 2, 3
NO_BOUND, AT_LEAST, STRICT = 0, 1, 2
LOWEST, HIGHEST, FARTHEST, OUTSIDE = 0, 1, 2, 3


@njit(cache=True, nogil=True, inline="always")
def _meets(x, lower, lower_kind, upper, upper_kind):
    """Target.met of one value (comparisons with NaN are false: NaN never meets)."""
    if lower_kind == AT_LEAST and not x >= lower:
        return False
    if lower_kind == STRICT and not x > lower:
        return False
    if upper_kind == AT_LEAST and not x <= upper:
        return False
    if upper_kind == STRICT and not x < upper:
        return False
    return lower_kind != NO_BOUND or upper_kind != NO_BOUND


@njit(cache=True, nogil=True, inline="always")
def _badness(a, worst, centre):
    """How far an addition is from meeting (larger is worse; NaN worst of all)."""
    if math.isnan(a):
        return np.inf
    if worst == LOWEST:
        return -a
    if worst == HIGHEST:
        return a
    if worst == FARTHEST:
        return abs(a - centre[0])
    below, above = centre[0] - a, a - centre[1]
    return above if above > below else below


@njit(cache=True, nogil=True)
def measure_chunk(values, spec, lower, upper, centre, columns, E, met):
    """Measure every target on ``values`` (runs, times, outputs) into ``E`` and ``met``.
    ``spec[k]``: output, kind, count, lower_kind, upper_kind, worst, width (the number of
    time columns), at (the first column of ``E``)."""
    n = values.shape[0]
    for k in range(spec.shape[0]):
        m, kind, count, lk = spec[k, 0], spec[k, 1], spec[k, 2], spec[k, 3]
        uk, worst, width, at = spec[k, 4], spec[k, 5], spec[k, 6], spec[k, 7]
        lo, hi = lower[k], upper[k]
        cols = columns[k]
        for r in range(n):
            if kind in (LEVEL, CUMULATIVE):
                v = values[r, cols[0], m]
                if kind == CUMULATIVE:
                    v = values[r, cols[1], m] - v
                if count:
                    v = np.floor(v + 0.5)
                E[r, at] = v
                met[r, k] = _meets(v, lo, lk, hi, uk)
            elif kind == GROWTH:
                start, end = values[r, cols[0], m], values[r, cols[1], m]
                E[r, at] = end / start if start > 0.0 and end > 0.0 else np.nan
                met[r, k] = False
            else:
                every = True
                chosen, bad = 0.0, 0.0
                for y in range(width - 1):
                    a = values[r, cols[y + 1], m] - values[r, cols[y], m]
                    if count:
                        a = np.floor(a + 0.5)
                    E[r, at + 1 + y] = a
                    every = every and _meets(a, lo, lk, hi, uk)
                    b = _badness(a, worst, centre[k])
                    if y == 0 or b > bad:  # the first of the worst, as argmax takes
                        chosen, bad = a, b
                E[r, at] = chosen
                met[r, k] = every
