"""Column checks and copies on parameter matrices (rows of runs): for the posterior draws
and start states put into a chunk's rows and for the result file's writer."""

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


@njit(cache=True, nogil=True)
def take_columns(P, cols, out):
    """``out[:] = P[:, cols]``, into a buffer the caller keeps."""
    for i in range(P.shape[0]):
        p = P[i]
        o = out[i]
        for k in range(cols.shape[0]):
            o[k] = p[cols[k]]


@njit(cache=True, nogil=True)
def keep_by_row(P, cols, draws, table, seen):
    """For each run ``i`` of the rows ``P`` (C-ordered), which drew row ``draws[i]``: that
    row's values ``P[i, cols]`` kept in ``table[draws[i]]`` the first time it is drawn
    (``seen`` marks it), else compared with the kept ones (equal as numbers; NaN equals
    NaN). Returns (the first run whose values differ from its row's, else -1; whether any
    row was new), without gathering the chunk's columns or the table's rows first."""
    new = False
    for i in range(P.shape[0]):
        p = P[i]
        t = table[draws[i]]
        if not seen[draws[i]]:
            for k in range(cols.shape[0]):
                t[k] = p[cols[k]]
            seen[draws[i]] = True
            new = True
            continue
        for k in range(cols.shape[0]):
            x, y = p[cols[k]], t[k]
            if x != y and not (np.isnan(x) and np.isnan(y)):
                return i, new
    return -1, new


@njit(cache=True, nogil=True)
def put_rows(P, cols, table, rows):
    """``P[:, cols] = table[rows]``: each run's row of a table (a posterior sample, the end
    states of its rows' histories) into its parameter row, without gathering the rows first."""
    for i in range(P.shape[0]):
        p = P[i]
        t = table[rows[i]]
        for k in range(cols.shape[0]):
            p[cols[k]] = t[k]


@njit(cache=True, nogil=True)
def take_outputs(values, cols, m, out):
    """``out[:] = values[:, cols, m]`` (``values``: runs, times, outputs, in either layout
    of a chunk), into a buffer the caller keeps: a kept output's times of each run."""
    for k in range(cols.shape[0]):
        c = cols[k]
        for i in range(out.shape[0]):
            out[i, k] = values[i, c, m]
