"""The ensemble driver: one explicit Runge-Kutta stepper and the loop over runs.

The code generator writes, for each model, a module with four compiled functions and the
constants below; this driver's source is appended to it, so the whole model compiles to one
Numba kernel whose calls into the model functions LLVM can inline. (A closure over the
model functions would be neater Python, but Numba cannot cache closures across processes,
and a model must compile once, not once per process.)

Contract the generated module fulfils before ``DRIVER_SOURCE``:

``N_STATE``, ``N_REC``, ``N_DFIX`` (ints)
    Number of state variables (stocks, then hidden SMOOTH/DELAY stocks), of recordable
    variables, and of DELAY FIXED pipelines.
``_init(t0, dt, p, lx, ly, lo, y, dfpar)``
    Fills ``y`` with the initial state and ``dfpar[i] = (delay time, initial value)``.
``_rhs(t, dt, y, p, lx, ly, lo, dfo, dfin, dydt)``
    Writes the derivatives at ``(t, y)`` into ``dydt`` and each DELAY FIXED input into ``dfin``;
    ``dfo`` holds the current DELAY FIXED outputs.
``_record(t, dt, y, p, lx, ly, lo, dfo, rec)``
    Writes every recordable variable at ``(t, y)`` into ``rec``.
``_post_step(y)``
    Applies per-stock constraints (non-negative stocks) after a step.

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

DRIVER_SOURCE = """
@njit(cache=True, error_model="numpy")
def _run(p, lx, ly, lo, a, b, c, t0, dt, n_steps, stride, sel, out):
    n_stages = b.shape[0]
    y = np.empty(N_STATE)
    ytmp = np.empty(N_STATE)
    k = np.empty((n_stages, N_STATE))
    rec = np.empty(N_REC)
    dfpar = np.empty((N_DFIX, 2))
    dfo = np.empty(N_DFIX)
    dfin = np.empty(N_DFIX)
    _init(t0, dt, p, lx, ly, lo, y, dfpar)
    # DELAY FIXED pipelines: ring buffers of round(delay/dt) >= 1 slots, filled with the
    # initial value; slot s holds the input pushed n steps ago.
    nbuf = np.empty(N_DFIX, np.int64)
    offs = np.empty(N_DFIX, np.int64)
    total = 0
    for i in range(N_DFIX):
        n = int(np.floor(dfpar[i, 0] / dt + 0.5))
        if n < 1:
            n = 1
        nbuf[i] = n
        offs[i] = total
        total += n
    buf = np.empty(total)
    for i in range(N_DFIX):
        for s in range(nbuf[i]):
            buf[offs[i] + s] = dfpar[i, 1]
    n_out = sel.shape[0]
    j = 0
    for step_i in range(n_steps + 1):
        t = t0 + step_i * dt
        for i in range(N_DFIX):
            dfo[i] = buf[offs[i] + step_i % nbuf[i]]
        if step_i % stride == 0:
            _record(t, dt, y, p, lx, ly, lo, dfo, rec)
            bad = False
            for m in range(n_out):
                v = rec[sel[m]]
                out[j, m] = v
                if not np.isfinite(v):
                    bad = True
            j += 1
            if bad:
                for jj in range(j, out.shape[0]):
                    for m in range(n_out):
                        out[jj, m] = np.nan
                return 1
        if step_i == n_steps:
            break
        _rhs(t, dt, y, p, lx, ly, lo, dfo, dfin, k[0])
        for i in range(N_DFIX):
            buf[offs[i] + step_i % nbuf[i]] = dfin[i]
        for s in range(1, n_stages):
            for i in range(N_STATE):
                acc = 0.0
                for q in range(s):
                    acc += a[s, q] * k[q, i]
                ytmp[i] = y[i] + dt * acc
            _rhs(t + c[s] * dt, dt, ytmp, p, lx, ly, lo, dfo, dfin, k[s])
        bad = False
        for i in range(N_STATE):
            acc = 0.0
            for s in range(n_stages):
                acc += b[s] * k[s, i]
            y[i] = y[i] + dt * acc
        _post_step(y)
        for i in range(N_STATE):
            if not np.isfinite(y[i]):
                bad = True
        if bad:
            for jj in range(j, out.shape[0]):
                for m in range(n_out):
                    out[jj, m] = np.nan
            return 1
    return 0


@njit(cache=True, parallel=True, error_model="numpy")
def ensemble(P, lx, ly, lo, a, b, c, t0, dt, n_steps, stride, sel, out, status):
    for r in prange(P.shape[0]):
        status[r] = _run(P[r], lx, ly, lo, a, b, c, t0, dt, n_steps, stride, sel, out[r])
    return 0


@njit(cache=True, error_model="numpy")
def ensemble_serial(P, lx, ly, lo, a, b, c, t0, dt, n_steps, stride, sel, out, status):
    for r in range(P.shape[0]):
        status[r] = _run(P[r], lx, ly, lo, a, b, c, t0, dt, n_steps, stride, sel, out[r])
    return 0
"""
