"""Vensim's ALLOCATE BY PRIORITY and ALLOCATE AVAILABLE, called by generated model code
(docs/models.md, "Dimensions and arrays").

Compiled with Numba like :mod:`sim315.kernels.builtins` (and recompiled as a CUDA device
function with them); it allocates nothing: the caller passes a local work array.
"""

import math

from numba import njit


@njit(cache=True)
def allocate_by_priority(w, n, width, supply, k):
    """Element ``k``'s share of ``supply`` among the ``n`` requests in row 0 of ``w`` with
    the priorities in row 1 (rows 2 to 5 are work space).

    All requests are met when ``supply`` covers them. Otherwise the requesters, highest
    priority first (equal priorities in element order, zero requests left out), are served
    in proportion to their requests among those being served: the first alone until it has
    ``min(gap / width, 1)`` of its request, ``gap`` its priority minus the next one's, when the
    next one joins; a requester whose request is met leaves. NaN (which stops the run) for a
    negative request, a width that is not positive or a negative supply.
    """
    total = 0.0
    for i in range(n):
        if not w[0, i] >= 0.0:
            return math.nan
        total += w[0, i]
    if not (width > 0.0 and supply >= 0.0):
        return math.nan
    if supply >= total:
        return w[0, k]
    if w[0, k] == 0.0:
        return 0.0
    m = _alloc_order(w, n)
    for j in range(m):  # row 3: how much of j's request is served before j + 1 joins
        w[2, j] = 0.0
        w[5, j] = 0.0
        w[3, j] = math.inf
        if j + 1 < m:
            gap = (w[1, int(w[4, j])] - w[1, int(w[4, j + 1])]) / width
            w[3, j] = min(gap, 1.0) * w[0, int(w[4, j])]
    _alloc_serve(w, m, supply)
    for j in range(m):
        if int(w[4, j]) == k:
            return w[2, j]
    return 0.0


@njit(cache=True)
def _alloc_order(w, n):
    """Row 4 of ``w``: the elements with a request, highest priority first (equal ones in
    element order); returns how many (row 5 marks those taken)."""
    m = 0
    for i in range(n):
        w[5, i] = 0.0 if w[0, i] > 0.0 else 1.0
        if w[0, i] > 0.0:
            m += 1
    for j in range(m):
        best = -1
        for i in range(n):
            if w[5, i] == 0.0 and (best < 0 or w[1, i] > w[1, best]):
                best = i
        w[4, j] = best
        w[5, best] = 1.0
    return m


@njit(cache=True)
def _alloc_serve(w, m, supply):
    """Row 2 of ``w``: what each requester in row 4's order receives of ``supply``; row 5
    marks those being served."""
    w[5, 0] = 1.0
    c = 0  # the last requester to join
    left = supply
    for _ in range(2 * m + 2):  # each pass ends the supply, adds or removes a requester
        if not left > 0.0:
            break
        served = 0.0
        for j in range(m):
            if w[5, j] == 1.0:
                served += w[0, int(w[4, j])]
        if served == 0.0:  # everyone served is full: the next one joins
            if c + 1 >= m:
                break
            c += 1
            w[5, c] = 1.0
            continue
        top, full = math.inf, -1
        for j in range(m):
            if w[5, j] == 1.0:
                r = w[0, int(w[4, j])]
                d = (r - w[2, j]) * served / r
                if d < top:
                    top, full = d, j
        start = math.inf  # the supply until the next requester joins (none: infinite)
        if c + 1 < m:
            start = 0.0  # at once when the last to join is full
            if w[5, c] == 1.0:
                start = (w[3, c] - w[2, c]) * served / w[0, int(w[4, c])]
        dx = min(top, start, left)
        for j in range(m):
            if w[5, j] == 1.0:
                w[2, j] += w[0, int(w[4, j])] / served * dx
        if c + 1 < m and abs(dx - start) <= 1e-16 + 1e-10 * start:
            c += 1
            w[5, c] = 1.0
        if dx == top:
            w[2, full] = w[0, int(w[4, full])]
            w[5, full] = 2.0  # full: served no more
        left -= dx


@njit(cache=True)
def allocate_available(w, n, avail, k):
    """Element ``k``'s share of ``avail`` among the ``n`` requests in row 0 of ``w``, with
    their priority profiles' type, priority and width in rows 1 to 3.

    All requests are met when ``avail`` covers them. Otherwise each requester receives its
    request times its profile's share at the one market priority where the shares add up
    to ``avail`` (bisection: the total falls as the market priority rises). NaN (which stops
    the run) for a negative request or ``avail``, a width that is not positive or a profile
    type other than 1 (rectangular), 2 (triangular), 3 (normal) or 4 (exponential).
    """
    total, lo, hi = 0.0, math.inf, -math.inf
    for i in range(n):
        kind = w[1, i]
        if not (w[0, i] >= 0.0 and w[3, i] > 0.0 and 1.0 <= kind <= 4.0 and kind % 1.0 == 0.0):
            return math.nan
        total += w[0, i]
        lo = min(lo, w[2, i] - 40.0 * w[3, i])  # every share is 1 below, 0 above
        hi = max(hi, w[2, i] + 40.0 * w[3, i])
    if not avail >= 0.0:
        return math.nan
    if avail >= total:
        return w[0, k]
    for _ in range(400):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        given = 0.0
        for i in range(n):
            given += _share(w[1, i], w[2, i], w[3, i], mid) * w[0, i]
        if given > avail:
            lo = mid
        else:
            hi = mid
    return _share(w[1, k], w[2, k], w[3, k], 0.5 * (lo + hi)) * w[0, k]


@njit(cache=True)
def _share(kind, p, width, x):
    """The share of its request a requester of priority profile ``kind`` (1 rectangular,
    2 triangular, 3 normal, 4 exponential) centred on ``p`` receives at market priority
    ``x``: 1 far below ``p``, 0 far above."""
    half = 0.5 * width
    if kind == 3.0:
        return 0.5 * math.erfc((x - p) / (math.sqrt(2.0) * width))
    if kind == 4.0:
        if x < p:
            return 1.0 - 0.5 * math.exp((x - p) / width)
        return 0.5 * math.exp((p - x) / width)
    if x <= p - half:
        return 1.0
    if x >= p + half:
        return 0.0
    if kind == 1.0:
        return (p + half - x) / width
    if x < p:
        return 1.0 - 2.0 * ((x - p + half) / width) ** 2
    return 2.0 * ((p + half - x) / width) ** 2
