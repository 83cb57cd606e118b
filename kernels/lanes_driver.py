"""The ensemble loops of the block-of-runs kernel, which generated model modules end with.

:mod:`sim315.compilation.lanes` writes, after a model's scalar ``_run``, a
``_run_lanes(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0, r0, nb,
nl)`` that integrates the rows ``r0 .. r0 + nb - 1`` of ``P`` (``nb <= nl``, ``nl`` =
``LANES``, passed so that LLVM vectorises the lane loops rather than unrolling them) at
once, one vector lane per run, and writes their outputs and statuses. ``out`` is either
by column, (saved times, outputs, runs), each (time, output) column of the runs contiguous
(a view whose columns have room past the runs), or by rows of runs, (runs, saved times,
outputs), C-ordered: :func:`by_column` tells which. The helpers below (``by_column``,
``lookup_between``, ``end_lanes``) are imported by generated modules; the
entry points (:data:`ENTRY_POINTS`) are copied after ``_run_lanes`` with
:func:`inspect.getsource`, as :mod:`sim315.kernels.driver`'s are after ``_run``; they take
the same arguments as that module's ``ensemble`` and ``ensemble_serial``.

Blocks are formed from absolute run numbers: block ``b`` holds the runs ``b*LANES`` to
``(b+1)*LANES - 1`` of the ensemble that are in this call (fewer at a chunk's ends: the
idle lanes repeat a run and are never written). A lane computes its run alone, so a run's
numbers depend neither on the threads nor on the chunking.

The ``_run_lanes`` and ``LANES`` defined here are placeholders, never copied: ``_run_lanes``
writes what :func:`sim315.kernels.driver._run`'s placeholder writes, so
``tests/test_lanes.py`` runs these entry points against the same expected numbers.
"""

import numpy as np
from numba import njit, prange

from .claims import claim as _claim
from .claims import share as _share
from .driver import STATUS_NONFINITE, STATUS_OK

#: The functions the code generator copies after every model's ``_run_lanes``.
ENTRY_POINTS = ("ensemble_lanes", "ensemble_lanes_serial", "_block")

#: Runs per block of the placeholder (a generated module sets its own).
LANES = 4


@njit(error_model="numpy")
def _run_lanes(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0, r0, nb, nl):
    """Placeholder of the generated ``_run_lanes`` (never copied): the placeholder ``_run``
    of :mod:`sim315.kernels.driver` for each of the rows ``r0 .. r0 + nb - 1``."""
    for q in range(nb):
        r = r0 + q
        p = P[r]
        extra = lx[0] * ly[0] + lo[0] + (run0 + r) + float(key % 7)
        col = by_column(out)
        for j in range(min(out.shape[0] if col else out.shape[1], n_steps // stride + 1)):
            t = t0 + j * stride * dt
            for m in range(sel.shape[0]):
                if col:
                    out[j, m, r] = p[sel[m]] + t + extra
                else:
                    out[r, j, m] = p[sel[m]] + t + extra
        status[r] = 1 if p[0] < 0.0 else 0
    return 0


@njit(cache=True, nogil=True)
def _block(n, run0, b):
    """Rows ``(r0, nb)`` of this call's block ``b``: the runs numbered ``(first + b) *
    LANES`` to ``(first + b + 1) * LANES - 1`` (``first``, the block of run ``run0``)."""
    a = (run0 // LANES + b) * LANES - run0
    r0 = max(a, 0)
    return r0, min(a + LANES, n) - r0


@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def ensemble_lanes(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0):
    """Runs P[r] (run number run0 + r), blocks of LANES runs in parallel; their outputs
    into out (see by_column), status[r]."""
    n = P.shape[0]
    n_blocks = 0 if n == 0 else (run0 + n - 1) // LANES - run0 // LANES + 1
    for b in prange(n_blocks):
        r0, nb = _block(n, run0, b)
        _run_lanes(
            P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0, r0, nb, LANES
        )
    return 0


@njit(cache=True, nogil=True, error_model="numpy")
def ensemble_lanes_serial(
    P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0, claims
):
    """As ``ensemble_lanes``, on the calling thread: the blocks it claims from ``claims``
    (:mod:`sim315.kernels.claims`), beside the other threads that call it with the same."""
    n = P.shape[0]
    n_blocks = 0 if n == 0 else (run0 + n - 1) // LANES - run0 // LANES + 1
    step = _share(n_blocks, claims[1])
    while True:
        b0 = _claim(claims, step)
        if b0 >= n_blocks:
            break
        for b in range(b0, min(b0 + step, n_blocks)):
            r0, nb = _block(n, run0, b)
            _run_lanes(
                P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0, r0, nb, LANES
            )
    return 0


@njit(cache=True, error_model="numpy")
def lookup_between(x, x0, y0, xn, yn, xlo, xhi, ylo, yhi):
    """:func:`sim315.kernels.builtins.lookup` of ``x`` in a table from ``(x0, y0)`` to
    ``(xn, yn)``, given the points ``(xlo, ylo)``, ``(xhi, yhi)`` around ``x`` that its
    binary search finds: the same numbers, without branches (it vectorises)."""
    w = (x - xlo) / (xhi - xlo)
    y = ylo + w * (yhi - ylo)
    y = yn if x >= xn else y
    y = y0 if x <= x0 else y
    return np.nan if x != x else y


@njit(cache=True, nogil=True)
def by_column(out):
    """Whether the kernel's ``out`` is by column, (saved times, outputs, runs), rather than
    by rows of runs, (runs, saved times, outputs), C-ordered: a column has room past its
    runs, so its stride is never the width of the last axis, as a row's is (a rule of
    :meth:`sim315.ensembles.kernelcall.KernelCall.buffers`)."""
    return out.strides[1] != out.shape[2] * out.itemsize


@njit(cache=True, nogil=True)
def end_lanes(out, status, r0, nb, ends):
    """Each run's status at the end of its block: lane ``q`` became non-finite at saved
    time ``ends[q]`` (its outputs are NaN from there), or it did not (``ends[q] < 0``)."""
    for q in range(nb):
        if ends[q] < 0:
            status[r0 + q] = STATUS_OK
            continue
        status[r0 + q] = STATUS_NONFINITE
        if by_column(out):
            for j in range(ends[q], out.shape[0]):
                for m in range(out.shape[1]):
                    out[j, m, r0 + q] = np.nan
        else:
            out[r0 + q, ends[q] :, :] = np.nan
