"""Work that threads claim as they go, from one shared counter.

A kernel's serial entry points (:mod:`sim315.kernels.driver`,
:mod:`sim315.kernels.lanes_driver`) take their runs (or blocks of runs) a share at a time
from ``claims``, an int64 array ``[next, parts]``: each claim takes the next
``share(items, parts)`` items, by an atomic add to ``claims[0]``, until none are left. Threads
that call an entry point with the same ``claims`` at once split its items between them as they
go: a thread that started late, or shares its core with other work, takes fewer, and none
waits for another at the end, as with fixed slices (:mod:`sim315.ensembles.threads`). A run's
numbers depend only on its run number, so they are the same whoever computes it; each item is
claimed exactly once. One caller alone: ``parts`` 1, one claim of everything. A ``claims``
is spent by the call it was made for: called again with it, an entry point computes nothing
(:func:`claims_for` makes a fresh one per call).
"""

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _fetch_add(typingctx, counter, by):
    """``counter[0] += by``, atomically; the value before."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None
    if not isinstance(by, types.Integer):
        return None
    sig = types.int64(counter, by)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        arr = context.make_array(arrty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        at = cgutils.get_item_pointer(context, builder, arrty, arr, [zero])
        step = context.cast(builder, args[1], signature.args[1], types.int64)
        # "monotonic": the counter orders nothing else; the callers' join publishes the results
        return builder.atomic_rmw("add", at, step, "monotonic")

    return sig, codegen


@njit(cache=True, nogil=True)
def share(items, parts):
    """Items a claim takes: ``items`` in ``parts`` claims (at least one item)."""
    return max(1, -(-items // max(1, parts)))


@njit(cache=True, nogil=True)
def claim(claims, step):
    """The first of the next ``step`` items of ``claims`` (none left when it is past the
    last)."""
    return _fetch_add(claims, np.int64(step))


def claims_for(parts: int) -> np.ndarray:
    """A fresh ``claims`` for one call of an entry point shared by threads in ``parts``
    claims (``1``: one caller takes everything at once)."""
    return np.array([0, max(1, int(parts))], dtype=np.int64)
