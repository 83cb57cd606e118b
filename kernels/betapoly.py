"""Quantiles of the beta distribution for Beta-PERT draws, by piecewise polynomials: about
40-55 ns a value, against 1.2-2.4 µs for ``scipy.stats.beta.ppf`` (Boost's ``ibeta_inv``, from
scratch for each value), and as close to it as Boost is to the truth.

Near ``u = 0`` the quantile behaves like ``(u a B(a, b))^(1/a)``: not a polynomial in
``u``, but ``x = w G(w)`` with ``w = u^(1/a)`` and ``G`` analytic at ``w = 0`` (the
incomplete beta function is ``x^a`` times a power series in ``x``; its ``a``-th root is
``x`` times one, which can be inverted). So the lower half, ``u`` in ``(0, 1/2]``, is
``w G(w)`` for ``w`` in ``(0, 2^(-1/a)]``, and the upper half is the lower half of the
mirrored distribution: ``x = 1 - y``, ``y`` the ``Beta(b, a)`` quantile of ``1 - u`` (exact
there). Neither half forms ``1 - u`` where it would lose digits, and small quantiles keep
their relative precision down to ``u = 1e-300``.

Each half's ``G`` is a polynomial of degree :data:`DEGREE` on each of :data:`PIECES` equal
intervals of ``w``: the Chebyshev series fitted by least squares to ``x / w`` at
:data:`OVERSAMPLE` times as many Chebyshev points (:func:`poly_nodes`, :func:`poly_fit`),
``x`` the quantiles there (the caller solves them: ``sim315.schemas.betaseries`` asks
scipy's ``betaincinv``, about 2,300 values a distribution, once), ``w`` computed from the
node's ``u`` exactly as a draw's is (so the rounding of ``1 / a`` cancels). The fit's
least squares average the nodes' own last-bit errors, which interpolation would amplify.
A value is then ``u^(1/a)`` (the C library's ``pow``, within an ulp), its piece, and
Horner's rule in powers of the piece's ``s`` in [-1, 1].

Error, against ``scipy.stats.beta.ppf`` for PERT shapes (``a, b`` in [1, 5]), measured by
``tests/test_betapoly.py`` on random points of every shape it tries: at most 1.5e-15
absolute on the unit interval and 64 ulp relative (where the quantile is small);
``I_x(a, b) = u`` within a relative 1e-13 down to ``u = 1e-300`` (below 1e-90 scipy's own
root finder gives up; what is left there is the rounding of ``1 / a`` in the exponent:
``|ln u|`` times an ulp); within an ulp of 1 of scipy's in the upper tail; non-decreasing
over sorted draws. Every value is a function of ``u`` and its distribution's series only,
so the numbers do not depend on how the draws are split into chunks or threads.
"""

import math

import numpy as np
from numba import njit

#: Equal intervals of ``w`` per half, the polynomials' degree, and how many times more
#: Chebyshev points than coefficients each is fitted to.
PIECES = 64
DEGREE = 8
OVERSAMPLE = 2


@njit(cache=True, nogil=True)
def poly_nodes(a, pieces=PIECES, degree=DEGREE, oversample=OVERSAMPLE):
    """The lower half's top ``2^(-1/a)`` in ``w``, and the draws ``u = w^a`` (pieces,
    points) whose quantiles :func:`poly_fit` takes: each piece's Chebyshev points."""
    top = 0.5 ** (1.0 / a)
    n = oversample * (degree + 1)
    h = 0.5 * top / pieces
    U = np.empty((pieces, n))
    for k in range(pieces):
        for j in range(n):
            w = (2 * k + 1) * h + h * math.cos(math.pi * (j + 0.5) / n)
            U[k, j] = min(w**a, 0.5)
    return top, U


@njit(cache=True, nogil=True)
def _monomial(c, out):
    """The coefficients ``out`` of ``sum c[i] T_i(s)`` in powers of ``s``."""
    m = c.shape[0]
    t0 = np.zeros(m)
    t1 = np.zeros(m)
    t0[0] = 1.0
    t1[1 % m] = 1.0
    out[:] = c[0] * t0
    for i in range(1, m):
        out[:] += c[i] * t1
        t2 = -t0
        t2[1:] += 2.0 * t1[:-1]
        t0, t1 = t1, t2


@njit(cache=True, nogil=True)
def poly_fit(U, X, a, degree=DEGREE):
    """Each piece's polynomial in powers of its ``s`` (pieces, degree + 1): ``G = x / w``
    at the draws ``U`` of :func:`poly_nodes`, their quantiles ``X``, fitted by the
    Chebyshev series truncated to ``degree`` (least squares on those points)."""
    pieces, n = U.shape
    m = degree + 1
    r = 1.0 / a
    coefs = np.empty((pieces, m))
    c = np.empty(m)
    for k in range(pieces):
        for i in range(m):
            s = 0.0
            for j in range(n):
                s += X[k, j] / U[k, j] ** r * math.cos(math.pi * i * (j + 0.5) / n)
            c[i] = (1.0 if i else 0.5) * 2.0 * s / n
        _monomial(c, coefs[k])
    return coefs


@njit(cache=True, nogil=True, inline="always")
def _w(u, ra, rb):
    """A draw's ``w``: ``u^(1/a)`` in the lower half, ``(1 - u)^(1/b)`` in the upper."""
    up = u > 0.5
    return (1.0 - u if up else u) ** (rb if up else ra)


@njit(cache=True, nogil=True, inline="always")
def _from_w(u, w, coefs, tops):
    """The quantile of ``u`` from its ``w`` (:func:`_w`): the piece, Horner's rule, the half."""
    up = u > 0.5
    half = int(up)
    pieces, m = coefs.shape[1], coefs.shape[2]
    top = tops[half]
    k = min(int(w * (pieces / top)), pieces - 1)
    h = 0.5 * top / pieces
    s = (w - (2 * k + 1) * h) / h
    c = coefs[half, k]
    p = c[m - 1]
    for i in range(m - 2, -1, -1):
        p = p * s + c[i]
    y = w * p
    x = 1.0 - y if up else y
    x = u if u == 0.0 or u == 1.0 else x
    return x if 0.0 <= u <= 1.0 else np.nan


@njit(cache=True, nogil=True, inline="always")
def poly_quantile(u, ra, rb, coefs, tops):
    """The ``Beta(a, b)`` quantile of ``u`` (``ra, rb = 1 / a, 1 / b``) from both halves'
    polynomials (``coefs[0]``, ``tops[0]``: the lower half's; ``[1]``: the mirrored
    distribution's); NaN outside [0, 1]. The half is picked by conditional expressions on
    values, not by two paths of code (a draw is above or below 1/2 at random). The
    reference :func:`beta_poly_quantiles` is tested against, value by value."""
    return _from_w(u, _w(u, ra, rb), coefs, tops)


@njit(cache=True, nogil=True)
def beta_poly_quantiles(u, a, b, coefs, tops, out, low=0.0, width=1.0, place=False):
    """``out[i]``: the ``Beta(a, b)`` quantile of ``u[i]`` (:func:`poly_quantile`, the same
    bits); with ``place``, ``low + width`` times it (a PERT's value, as numpy places it).
    ``u`` and ``out`` may be strided (a column of a design and of a parameter matrix) and
    must not overlap. Two passes: every ``w`` (a call of the C library's ``pow`` each), then
    the polynomials, whose loop holds no call, so the processor overlaps their Horner
    chains: 34 -> 27 ns a value here."""
    ra, rb = 1.0 / a, 1.0 / b
    for i in range(u.shape[0]):
        out[i] = _w(u[i], ra, rb)
    for i in range(u.shape[0]):
        x = _from_w(u[i], out[i], coefs, tops)
        out[i] = low + width * x if place else x
