"""Quantile functions of the uniform and triangular distributions, each value placed by
``scale`` and ``loc`` into a column, in one pass: the formulas of scipy's ``ppf`` (and of
``sim315.schemas.distributions``' shortcuts before them), bit for bit, NaN outside [0, 1].
A column may be strided: a sampler writes straight into its parameter matrix's column."""

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def uniform_values(q, scale, loc, out):
    """``out[i] = q[i] * scale + loc`` where ``0 <= q[i] <= 1``, else NaN."""
    for i in range(q.shape[0]):
        v = q[i]
        out[i] = v * scale + loc if 0.0 <= v <= 1.0 else np.nan


@njit(cache=True, nogil=True)
def triangular_values(q, c, scale, loc, out):
    """scipy's ``triang`` quantile with its peak at ``c`` (0..1), placed: ``sqrt(c q)`` below
    the peak, ``1 - sqrt((1 - c)(1 - q))`` from it on; NaN outside [0, 1]."""
    for i in range(q.shape[0]):
        v = q[i]
        x = math.sqrt(c * v) if v < c else 1.0 - math.sqrt((1.0 - c) * (1.0 - v))
        out[i] = x * scale + loc if 0.0 <= v <= 1.0 else np.nan
