"""The GPU's ensemble driver: one CUDA thread per run, and the host code that streams a chunk
of runs through the device.

For the ``cuda`` target the code generator compiles the model's ``_run`` as a CUDA device
function (float64 throughout) and copies the source of :data:`ENTRY_POINTS` below into the
model's module (:func:`inspect.getsource`, the same mechanism that recompiles the builtins
for the device). The ``_run`` here is a placeholder with the same signature, never copied,
so that this module is real Python that ruff checks and tests run under Numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``). Importing this module imports ``numba.cuda``, which
works without a GPU; only the code generator's ``cuda`` target and the tests import it.

Entry points, all with the arguments of :mod:`sim315.kernels.driver`'s ``ensemble``:

``ensemble_cuda``
    The kernel: thread ``r`` runs ``P[r]`` (run number ``run0 + r``).
``launch_cuda``
    Launches ``ensemble_cuda`` over every row of arrays already on the device, on a stream,
    and returns at once: time the kernel alone with it (``cuda.synchronize()`` after).
``run_cuda``
    Host arrays in, host arrays out. The parameter rows go through the device in
    sub-chunks, in turn over ``streams`` CUDA streams, each with its own page-locked
    (pinned) host staging buffers and device buffers: while one sub-chunk's kernel runs,
    another's results copy back and a third's parameters copy in, and the host copies
    finished results into ``out``. The tables and the selection go to the device once.
    Each run's numbers are those of one launch over the whole chunk: a thread's work
    depends only on its row and its run number.
"""

import numpy as np
from numba import cuda, njit, prange

from .driver import _run as _cpu_placeholder

#: The functions the code generator copies into every CUDA model module, in this order.
ENTRY_POINTS = (
    "ensemble_cuda",
    "launch_cuda",
    "copy_rows",
    "stage_buffers",
    "keep_results",
    "run_cuda",
)


#: Placeholder of the generated ``_run`` (never copied): the CPU placeholder of
#: :mod:`sim315.kernels.driver` compiled for the device, so both give the same numbers.
_run = cuda.jit(device=True)(_cpu_placeholder.py_func)


@cuda.jit
def ensemble_cuda(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0):
    """Thread ``r`` runs ``P[r]`` (run number ``run0 + r``) into ``out[r]``, ``status[r]``."""
    r = cuda.grid(1)
    if r < P.shape[0]:
        status[r] = _run(P[r], lx, ly, lo, t0, dt, n_steps, stride, sel, out[r], key, run0 + r)


def launch_cuda(
    P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0, stream=0, threads=128
):
    """Launch ``ensemble_cuda`` over every row of ``P`` on ``stream`` (0: the default
    stream) and return without waiting. Pass device arrays (``cuda.to_device``,
    ``cuda.device_array``): a host array would be copied in and out around the launch."""
    n = P.shape[0]
    if n > 0:
        blocks = (n + threads - 1) // threads
        ensemble_cuda[blocks, threads, stream](
            P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0
        )
    return 0


@njit(cache=True, parallel=True, nogil=True)
def copy_rows(dst, src):
    """``dst[:] = src`` for arrays (runs, saved, outputs), runs over Numba's CPU threads:
    page-faulting fresh host memory on one thread would be slower than the device."""
    for r in prange(src.shape[0]):
        for j in range(src.shape[1]):
            for m in range(src.shape[2]):
                dst[r, j, m] = src[r, j, m]


def stage_buffers(P, out, sub, streams):
    """For each of ``streams`` CUDA streams: the stream, pinned host buffers and device
    buffers for a sub-chunk of ``sub`` rows (parameters, outputs, statuses)."""
    pipes = []
    for _ in range(streams):
        pipes.append(
            (
                cuda.stream(),
                cuda.pinned_array((sub, P.shape[1]), np.float64),
                cuda.pinned_array((sub, *out.shape[1:]), np.float64),
                cuda.pinned_array(sub, np.int32),
                cuda.device_array((sub, P.shape[1]), np.float64),
                cuda.device_array((sub, *out.shape[1:]), np.float64),
                cuda.device_array(sub, np.int32),
            )
        )
    return pipes


def keep_results(pipe, a, b, out, status, parallel_copy):
    """Wait for the sub-chunk (rows ``[a, b)``) in flight on ``pipe`` (one of
    :func:`stage_buffers`), then copy its results from the pinned buffers into ``out`` and
    ``status``: by :func:`copy_rows`, or by numpy on this thread."""
    s, _h_p, h_out, h_status = pipe[:4]
    s.synchronize()
    if parallel_copy:
        copy_rows(out[a:b], h_out[: b - a])
    else:
        out[a:b] = h_out[: b - a]
    status[a:b] = h_status[: b - a]


def run_cuda(
    P,
    lx,
    ly,
    lo,
    t0,
    dt,
    n_steps,
    stride,
    sel,
    out,
    status,
    key,
    run0,
    sub_runs=0,
    streams=3,
    parallel_copy=True,
):
    """Host side: the chunk ``P`` (host arrays) through the device, results into the host
    arrays ``out`` and ``status``, sub-chunks of ``sub_runs`` rows pipelined over ``streams``
    CUDA streams (``sub_runs=0``: a quarter of the chunk, at most about 64 MiB of output,
    at least 16,384 runs); see :func:`keep_results` for ``parallel_copy``."""
    n = P.shape[0]
    d_lx, d_ly, d_lo, d_sel = (cuda.to_device(x) for x in (lx, ly, lo, sel))  # once
    if n == 0 or P.size == 0 or out.size == 0:  # no rows, parameters or outputs: no staging
        d_status = cuda.to_device(status)
        d_args = (t0, dt, n_steps, stride, d_sel, cuda.to_device(out), d_status, key, run0)
        launch_cuda(cuda.to_device(P), d_lx, d_ly, d_lo, *d_args)
        d_status.copy_to_host(status)
        return 0
    if sub_runs <= 0:
        row_bytes = out[0].nbytes + P[0].nbytes + 4
        sub_runs = max(16384, min((64 << 20) // row_bytes, (n + 3) // 4))
    sub = min(n, sub_runs)
    n_sub = (n + sub - 1) // sub
    streams = max(1, min(streams, n_sub))
    pipes = stage_buffers(P, out, sub, streams)
    in_flight = [(0, 0)] * streams  # rows [a, b) whose results stream k is bringing back
    for i in range(n_sub + streams):
        k = i % streams
        if in_flight[k][1] > in_flight[k][0]:  # stream k's previous sub-chunk
            keep_results(pipes[k], *in_flight[k], out, status, parallel_copy)
            in_flight[k] = (0, 0)
        if i >= n_sub:
            continue
        s, h_p, h_out, h_status, d_p, d_out, d_status = pipes[k]
        a = i * sub
        b = min(n, a + sub)
        m = b - a
        h_p[:m] = P[a:b]
        d_p[:m].copy_to_device(h_p[:m], stream=s)
        d_args = (t0, dt, n_steps, stride, d_sel, d_out[:m], d_status[:m], key, run0 + a, s)
        launch_cuda(d_p[:m], d_lx, d_ly, d_lo, *d_args)
        d_out[:m].copy_to_host(h_out[:m], stream=s)
        d_status[:m].copy_to_host(h_status[:m], stream=s)
        in_flight[k] = (a, b)
    return 0
