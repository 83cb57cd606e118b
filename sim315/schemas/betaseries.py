"""The piecewise polynomials behind a Beta-PERT's draws (:mod:`sim315.kernels.betapoly`):
each half's nodes solved by scipy's ``betaincinv`` (Boost's ``ibeta_inv``, the function
``scipy.stats.beta.ppf`` calls; ``scipy.special`` loads without ``scipy.stats``), once per
distribution, then fitted (about 4 ms in all). scipy wraps Boost's there from 1.11 on (the
floor in pyproject.toml); before, Cephes' ``incbi``, which was not even monotone (scipy
issue 12796)."""

from __future__ import annotations

import numpy as np


def beta_series(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """``(coefs, tops)`` of ``Beta(a, b)`` for :func:`~sim315.kernels.betapoly.
    beta_poly_quantiles`: the lower half's polynomials, then the mirrored distribution's."""
    from scipy.special import betaincinv

    from ..kernels.betapoly import poly_fit, poly_nodes

    halves = []
    tops = np.empty(2)
    for i, (p, q) in enumerate(((a, b), (b, a))):
        tops[i], U = poly_nodes(p)
        halves.append(poly_fit(U, betaincinv(p, q, U), p))
    return np.ascontiguousarray(np.stack(halves)), tops
