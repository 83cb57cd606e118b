"""The ensemble loops that every generated model module ends with, and run status codes.

The code generator (:mod:`sim315.compilation.codegen`) writes, for each model and integration
method, a module whose ``_run(p, lx, ly, lo, t0, dt, n_steps, stride, sel, out, key, run)``
integrates one run and returns its status. It then copies the source of the entry points
below (:data:`ENTRY_POINTS`, with :func:`inspect.getsource`) into that module, so the
ensemble, the stepper and the model's equations compile into one kernel whose calls LLVM can
inline. (A closure over a generated ``_run`` would be neater Python, but Numba cannot cache
closures across processes, and a model must compile once, not once per process.)

The ``_run`` defined here is a placeholder with the same signature, never copied: it makes
this module real Python that ruff checks and tests run (``tests/test_driver.py``). Each
saved value it writes is a known function of its inputs.

Two entry points share ``_run``, so a run's numbers are the same whichever is used:
``ensemble_serial`` loops on the calling thread and releases the GIL, and sim315 runs it on
threads of its own that claim the runs as they go (:mod:`sim315.ensembles.threads`): that
costs nothing to compile; ``ensemble`` spreads runs over Numba's threads with ``prange``, for
callers of a kernel module who want that (compiling its parallel region costs about as much
as the model). The GPU's entry points are in :mod:`sim315.kernels.cuda_driver`.
"""

from numba import njit, prange

from .claims import claim as _claim
from .claims import share as _share

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

#: The functions the code generator copies into every CPU model module, in this order.
ENTRY_POINTS = ("ensemble", "ensemble_serial")


@njit(error_model="numpy")
def _run(p, lx, ly, lo, t0, dt, n_steps, stride, sel, out, key, run):
    """Placeholder of the generated ``_run`` (never copied): saved value ``m`` at saved time
    ``j`` is ``p[sel[m]] + (t0 + j*stride*dt) + lx[0]*ly[0] + lo[0] + run + key % 7``, up to
    step ``n_steps``; a run whose first parameter is negative has status 1."""
    extra = lx[0] * ly[0] + lo[0] + run + float(key % 7)
    for j in range(min(out.shape[0], n_steps // stride + 1)):
        t = t0 + j * stride * dt
        for m in range(sel.shape[0]):
            out[j, m] = p[sel[m]] + t + extra
    return 1 if p[0] < 0.0 else 0


#: The same function inlined into its caller (Numba IR inlining): the generated module defines
#: it the same way after its ``_run``, for ``ensemble_serial``.
_run_inline = njit(error_model="numpy", inline="always")(_run.py_func)


@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def ensemble(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0):
    """Runs P[r] (run number run0 + r) for every r in parallel; out[r], status[r]."""
    for r in prange(P.shape[0]):
        status[r] = _run(P[r], lx, ly, lo, t0, dt, n_steps, stride, sel, out[r], key, run0 + r)
    return 0


@njit(cache=True, nogil=True, error_model="numpy")
def ensemble_serial(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0, claims):
    """As ``ensemble``, on the calling thread (``_run`` inlined: compiled once, here): the
    runs it claims from ``claims`` (:mod:`sim315.kernels.claims`), beside the other threads
    that call it with the same."""
    n = P.shape[0]
    step = _share(n, claims[1])
    while True:
        a = _claim(claims, step)
        if a >= n:
            break
        for r in range(a, min(a + step, n)):
            run = run0 + r
            p, o = P[r], out[r]
            status[r] = _run_inline(p, lx, ly, lo, t0, dt, n_steps, stride, sel, o, key, run)
    return 0
