"""The ensemble loops that every generated model module ends with, and run status codes.

The code generator (:mod:`sim315.codegen`) writes, for each model and integration method, a
module whose ``_run(p, lx, ly, lo, t0, dt, n_steps, stride, sel, out, key, run)``
integrates one run
and returns its status. ``ENSEMBLE_SOURCE`` is appended to that module, so the ensemble, the
stepper and the model's equations compile into one kernel whose calls LLVM can inline. (A
closure over a generated ``_run`` would be neater Python, but Numba cannot cache closures
across processes, and a model must compile once, not once per process.)

Two entry points share ``_run``, so a run's numbers are the same whichever is used:
``ensemble`` spreads runs over threads with ``prange``; ``ensemble_serial`` loops on the
calling thread, for single runs and small batches, where waking a thread pool costs more
than the work.
"""

#: Run status codes written to ``status[run]``.
STATUS_OK = 0
#: A stock or a recorded variable became NaN or infinite; the run stopped, the rest of its
#: output is NaN.
STATUS_NONFINITE = 1
#: Human-readable meaning of each status code.
STATUS_MESSAGES = {
    STATUS_OK: "ok",
    STATUS_NONFINITE: "a value became NaN or infinite; the run stopped there",
}

ENSEMBLE_SOURCE = '''
@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def ensemble(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0):
    """Runs P[r] (run number run0 + r) for every r in parallel; out[r], status[r]."""
    for r in prange(P.shape[0]):
        status[r] = _run(P[r], lx, ly, lo, t0, dt, n_steps, stride, sel, out[r], key, run0 + r)
    return 0


@njit(cache=True, nogil=True, error_model="numpy")
def ensemble_serial(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0):
    """As ``ensemble``, on the calling thread."""
    for r in range(P.shape[0]):
        status[r] = _run(P[r], lx, ly, lo, t0, dt, n_steps, stride, sel, out[r], key, run0 + r)
    return 0
'''
