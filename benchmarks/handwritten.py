"""A hand-written Numba kernel of the ladder reference model (tests/models/ladder).

The yardstick for generated code: what a careful engineer would write by hand for this one
model — straight-line Euler, scalars in registers, no NaN checks, no generic stepper. The
benchmark suite reports generated/hand-written time; ``setup`` checks that both give the
same numbers, so the comparison is like for like.

Parameter columns follow the compiled model's ``parameter_names`` (checked in
:func:`check_layout`); outputs are the five stocks, saved every ``stride`` steps.
"""

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
    rd = smes * p[8] + ht * p[9] + gi * p[10] + le * p[11]
    l1 = rd * tau3
    l2 = rd * tau3
    l3 = rd * tau3
    perc = l3 / tau3
    j = 0
    for k in range(n_steps + 1):
        t = t0 + k * dt
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
        boost = p[1] if t >= p[2] - 1e-6 * dt else 0.0
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
    tab = model.ir.spec.lookups["knowledge_effect_table"]
    xs = np.array(tab.x)
    ys = np.array(tab.y)
    out = np.empty((P.shape[0], g.n_saved, len(OUTPUTS)))
    fn = ladder_ensemble_serial if serial else ladder_ensemble
    fn(P, xs, ys, g.start, g.dt, np.int64(g.n_steps), np.int64(g.stride), out)
    return out
