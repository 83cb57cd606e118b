"""Column checks on parameter matrices, for the result file's writer."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def first_mismatch(P, cols, row):
    """The first ``k`` for which column ``cols[k]`` of ``P`` (rows, columns) holds, in some
    row, another value than ``row[cols[k]]`` (bit for bit: NaN matches NaN, -0.0 does not
    match 0.0), else -1. ``P`` is C-ordered; no copy of the columns is made."""
    bits = P.view(np.int64)
    ref = row.view(np.int64)
    for i in range(bits.shape[0]):
        for k in range(cols.shape[0]):
            c = cols[k]
            if bits[i, c] != ref[c]:
                return k
    return -1
