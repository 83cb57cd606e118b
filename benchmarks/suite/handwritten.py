"""A hand-written Numba kernel of the ladder reference model (tests/models/ladder).

The yardstick for generated code: what a careful engineer would write by hand for this one
model — straight-line Euler, scalars in registers, no NaN checks, no generic stepper. The
benchmark suite reports generated/hand-written time; ``setup`` checks that both give the
same numbers, so the comparison is like for like.

Parameter columns follow the compiled model's ``parameter_names`` (checked in
:func:`check_layout`); outputs are the five stocks, saved every ``stride`` steps.
"""

import math

import numpy as np
from numba import njit, prange

PARAMETERS = [
    "entry_rate",
    "support_boost",
    "support_start",
    "sme_promotion",
    "ht_promotion",
    "giant_promotion",
    "sme_exit",
    "ht_exit",
    "rd_sme",
    "rd_ht",
    "rd_giant",
    "rd_leader",
    "knowledge_delay",
    "perception_time",
    "reference_knowledge",
    "pool.init",
    "smes.init",
    "hightech.init",
    "giants.init",
    "leaders.init",
]
OUTPUTS = ("pool", "smes", "hightech", "giants", "leaders")


def table_points(model) -> tuple[np.ndarray, np.ndarray]:
    """The points of the model's one table (knowledge_effect_table), as its kernel gets them."""
    call = model.kernel_call(outputs=OUTPUTS)
    if call.lo.shape[0] != 2:
        raise ValueError(f"expected one table, the kernel has {call.lo.shape[0] - 1}")
    return call.lx.copy(), call.ly.copy()


def check_layout(model) -> None:
    """Raise if the compiled model's parameter order differs from this kernel's."""
    if tuple(model.parameter_names) != tuple(PARAMETERS):
        raise ValueError(f"parameter layout changed: {model.parameter_names}")


@njit(cache=True, error_model="numpy")
def _interp(xs, ys, x):
    if x <= xs[0]:
        return ys[0]
    n = xs.shape[0]
    if x >= xs[n - 1]:
        return ys[n - 1]
    i = 1
    while xs[i] < x:
        i += 1
    w = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
    return ys[i - 1] + w * (ys[i] - ys[i - 1])


@njit(cache=True, error_model="numpy")
def ladder_run(p, xs, ys, t0, dt, n_steps, stride, out):
    pool, smes, ht, gi, le = p[15], p[16], p[17], p[18], p[19]
    tau3 = p[12] / 3.0
    # STEP fires at the whole step nearest its start, a tie going later (Vensim's
    # Time + TIME STEP/2 > start; sim315.kernels.builtins.event_step)
    start_step = math.floor((p[2] - t0) / dt + 0.5)
    rd = smes * p[8] + ht * p[9] + gi * p[10] + le * p[11]
    l1 = rd * tau3
    l2 = rd * tau3
    l3 = rd * tau3
    perc = l3 / tau3
    j = 0
    for k in range(n_steps + 1):
        if k % stride == 0:
            out[j, 0] = pool
            out[j, 1] = smes
            out[j, 2] = ht
            out[j, 3] = gi
            out[j, 4] = le
            j += 1
        if k == n_steps:
            break
        rd = smes * p[8] + ht * p[9] + gi * p[10] + le * p[11]
        o1 = l1 / tau3
        o2 = l2 / tau3
        know = l3 / tau3
        eff = _interp(xs, ys, perc / p[14])
        boost = p[1] if k >= start_step else 0.0
        entry = pool * p[0] * (1.0 + boost)
        prom1 = smes * p[3] * eff
        exit1 = smes * p[6]
        prom2 = ht * p[4]
        exit2 = ht * p[7]
        prom3 = gi * p[5]
        pool = pool - dt * entry
        smes = smes + dt * (entry - prom1 - exit1)
        ht = ht + dt * (prom1 - prom2 - exit2)
        gi = gi + dt * (prom2 - prom3)
        le = le + dt * prom3
        l1 = l1 + dt * (rd - o1)
        l2 = l2 + dt * (o1 - o2)
        l3 = l3 + dt * (o2 - know)
        perc = perc + dt * ((know - perc) / p[13])
    return 0


@njit(cache=True, parallel=True, error_model="numpy")
def ladder_ensemble(P, xs, ys, t0, dt, n_steps, stride, out):
    for r in prange(P.shape[0]):
        ladder_run(P[r], xs, ys, t0, dt, n_steps, stride, out[r])
    return 0


@njit(cache=True, error_model="numpy")
def ladder_ensemble_serial(P, xs, ys, t0, dt, n_steps, stride, out):
    for r in range(P.shape[0]):
        ladder_run(P[r], xs, ys, t0, dt, n_steps, stride, out[r])
    return 0


def simulate(model, P, serial: bool = False) -> np.ndarray:
    """Run the hand-written kernel with the model's grid and lookup points."""
    g = model.grid
    xs, ys = table_points(model)
    out = np.empty((P.shape[0], g.n_saved, len(OUTPUTS)))
    fn = ladder_ensemble_serial if serial else ladder_ensemble
    fn(P, xs, ys, g.start, g.dt, np.int64(g.n_steps), np.int64(g.stride), out)
    return out


# -- the "block of runs" experiment ---------------------------------------------------------
# The same model advanced for BLOCK runs at once: every statement is a loop over the block's
# lanes, so LLVM can vectorise the arithmetic across runs (the lookup stays scalar per lane).
# Each lane computes exactly what the scalar kernel computes, so results are bit-identical.
BLOCK = 16


@njit(cache=True, error_model="numpy")
def ladder_block(P, xs, ys, t0, dt, n_steps, stride, out, r0, nb):
    # lane-contiguous copies: pb[i, q] is parameter i of lane q, so each statement below reads
    # consecutive memory across lanes and LLVM can use SIMD loads
    pb = np.empty((20, BLOCK))
    for q in range(BLOCK):
        src = P[r0 + min(q, nb - 1)]  # idle lanes repeat the last run; never stored
        for i in range(20):
            pb[i, q] = src[i]
    pool = pb[15].copy()
    smes = pb[16].copy()
    ht = pb[17].copy()
    gi = pb[18].copy()
    le = pb[19].copy()
    tau3 = pb[12] / 3.0
    rd = smes * pb[8] + ht * pb[9] + gi * pb[10] + le * pb[11]
    l1 = rd * tau3
    l2 = rd * tau3
    l3 = rd * tau3
    perc = l3 / tau3
    eff = np.empty(BLOCK)
    j = 0
    for k in range(n_steps + 1):
        if k % stride == 0:
            for q in range(nb):
                o = out[r0 + q]
                o[j, 0] = pool[q]
                o[j, 1] = smes[q]
                o[j, 2] = ht[q]
                o[j, 3] = gi[q]
                o[j, 4] = le[q]
            j += 1
        if k == n_steps:
            break
        for q in range(BLOCK):
            eff[q] = _interp(xs, ys, perc[q] / pb[14, q])
        for q in range(BLOCK):
            rdq = smes[q] * pb[8, q] + ht[q] * pb[9, q] + gi[q] * pb[10, q] + le[q] * pb[11, q]
            o1 = l1[q] / tau3[q]
            o2 = l2[q] / tau3[q]
            know = l3[q] / tau3[q]
            boost = pb[1, q] if k >= math.floor((pb[2, q] - t0) / dt + 0.5) else 0.0
            entry = pool[q] * pb[0, q] * (1.0 + boost)
            prom1 = smes[q] * pb[3, q] * eff[q]
            exit1 = smes[q] * pb[6, q]
            prom2 = ht[q] * pb[4, q]
            exit2 = ht[q] * pb[7, q]
            prom3 = gi[q] * pb[5, q]
            pool[q] = pool[q] - dt * entry
            smes[q] = smes[q] + dt * (entry - prom1 - exit1)
            ht[q] = ht[q] + dt * (prom1 - prom2 - exit2)
            gi[q] = gi[q] + dt * (prom2 - prom3)
            le[q] = le[q] + dt * prom3
            l1[q] = l1[q] + dt * (rdq - o1)
            l2[q] = l2[q] + dt * (o1 - o2)
            l3[q] = l3[q] + dt * (o2 - know)
            perc[q] = perc[q] + dt * ((know - perc[q]) / pb[13, q])
    return 0


@njit(cache=True, error_model="numpy")
def ladder_block_ensemble_serial(P, xs, ys, t0, dt, n_steps, stride, out):
    for r0 in range(0, P.shape[0], BLOCK):
        nb = min(BLOCK, P.shape[0] - r0)
        ladder_block(P, xs, ys, t0, dt, n_steps, stride, out, r0, nb)
    return 0


def simulate_block(model, P) -> np.ndarray:
    """The block kernel, one thread (the experiment in benchmarks/README.md)."""
    g = model.grid
    xs, ys = table_points(model)
    out = np.empty((P.shape[0], g.n_saved, len(OUTPUTS)))
    ladder_block_ensemble_serial(
        P,
        xs,
        ys,
        g.start,
        g.dt,
        np.int64(g.n_steps),
        np.int64(g.stride),
        out,
    )
    return out
