"""Counter-based random numbers: a value is a pure function of (key, run, step, site).

Nothing is carried from one draw to the next, so a run's numbers do not depend on the
thread count, the chunking or the executor (CPU threads, Dask workers or a GPU thread).
The mixer is the SplitMix64 finaliser (Steele, Lea & Flood 2014,
doi:10.1145/2714064.2660195), applied to each counter in turn — the construction of
counter-based generators such as those of Salmon et al. 2011 (doi:10.1145/2063384.2063405),
with a simpler, well-tested bijection as the round function.
"""

import math

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_C_RUN = np.uint64(0xD1B54A32D192ED03)
_C_STEP = np.uint64(0x8CB92BA72F3D8DD7)
_C_SITE = np.uint64(0xF1357AEA2E62A9C5)
_TO_UNIT = 2.0**-53

#: The ``site`` of parameter sampling draws: far from any equation's call site.
PARAMETER_SITE = 1 << 40


@njit(cache=True)
def _mix(x):
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@njit(cache=True)
def counter_uniform(key, run, step, site):
    """A uniform number in (0, 1) for the counters; never exactly 0 or 1.

    Parameters
    ----------
    key : uint64
        The seed's key (see ``sim315.seeds``).
    run, step, site : int
        Run index in the ensemble, time step (or parameter column), and call site.

    Notes
    -----
    Compiled with Numba; integer arguments are reinterpreted as uint64.
    """
    h = _mix(key + _GOLDEN)
    h = _mix(h ^ (np.uint64(run) * _C_RUN + _GOLDEN))
    h = _mix(h ^ (np.uint64(step) * _C_STEP + _GOLDEN))
    h = _mix(h ^ (np.uint64(site) * _C_SITE + _GOLDEN))
    return (float(h >> _S11) + 0.5) * _TO_UNIT


@njit(cache=True)
def counter_normal(key, run, step, site):
    """A standard normal number (Box-Muller on two counter-based uniforms)."""
    u1 = counter_uniform(key, run, step, 2 * site)
    u2 = counter_uniform(key, run, step, 2 * site + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True)
def random_uniform(key, run, step, site, lo, hi):
    """Uniform on [lo, hi) for the equation builtin ``random_uniform``."""
    return lo + (hi - lo) * counter_uniform(key, run, step, site)


@njit(cache=True)
def random_normal(key, run, step, site, mean, sd):
    """Normal(mean, sd) for the equation builtin ``random_normal``."""
    return mean + sd * counter_normal(key, run, step, site)


@njit(cache=True)
def uniform_matrix(key, run0, site0, out):
    """``out[i, j] = counter_uniform(key, run0 + i, j, site0)``: parameter sampling draws.

    Run ``run0 + i`` gets the same numbers whatever block it is computed in.
    """
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = counter_uniform(key, run0 + i, j, site0)
