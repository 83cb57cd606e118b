"""The ensemble loops that every generated model module ends with, and run status codes.

The code generator (:mod:`sim315.compilation.codegen`) writes, for each model and integration
method, a module whose ``_run(p, lx, ly, lo, t0, dt, n_steps, stride, sel, out, key, run)``
integrates one run and returns its status. ``ENSEMBLE_SOURCE`` is appended to that module, so
the ensemble, the stepper and the model's equations compile into one kernel whose calls LLVM
can inline. (A closure over a generated ``_run`` would be neater Python, but Numba cannot
cache closures across processes, and a model must compile once, not once per process.)

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


#: The GPU variant: ``_run`` compiled as a CUDA device function (``numba.cuda``), one thread
#: per run, float64 throughout. ``run_cuda`` copies a chunk to the device, launches, copies
#: back. The builtins it calls are the same ``@njit`` functions as on the CPU, which Numba
#: compiles for the device. Under ``NUMBA_ENABLE_CUDASIM=1`` the same code runs in Numba's
#: CUDA simulator (tests); ``delay_fixed`` models are CPU-only (a buffer of runtime length).
CUDA_ENSEMBLE_SOURCE = '''
@cuda.jit
def ensemble_cuda(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0):
    r = cuda.grid(1)
    if r < P.shape[0]:
        status[r] = _run(P[r], lx, ly, lo, t0, dt, n_steps, stride, sel, out[r], key, run0 + r)


def run_cuda(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0):
    """Host side: one chunk through the device."""
    threads = 128
    blocks = (P.shape[0] + threads - 1) // threads
    d_out = cuda.to_device(out)
    d_status = cuda.to_device(status)
    ensemble_cuda[blocks, threads](
        cuda.to_device(P), cuda.to_device(lx), cuda.to_device(ly), cuda.to_device(lo),
        t0, dt, n_steps, stride, cuda.to_device(sel), d_out, d_status, key, run0,
    )
    d_out.copy_to_host(out)
    d_status.copy_to_host(status)
    return 0
'''
