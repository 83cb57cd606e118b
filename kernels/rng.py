"""Counter-based random numbers: a value is a pure function of (key, run, step, site).

Nothing is carried from one draw to the next, so a run's numbers do not depend on the
thread count, the chunking or the executor (CPU threads, Dask workers or a GPU thread).

The generator is Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers:
as easy as 1, 2, 3", doi:10.1145/2063384.2063405), as published in Random123: a 128-bit
counter ``(run lo, run hi, step, site)`` and a 64-bit key (the seed's, see
``sim315.core.seeds``) give four 32-bit words. ``tests/test_random.py`` checks it against the
Random123 known-answer vectors (``tests/rng/kat_vectors``) and runs a statistical battery on
the per-run streams. The same source compiles as CUDA device functions
(``sim315.compilation.codegen`` swaps the decorator), so the GPU draws the same numbers.

Domain: ``run`` any uint64, ``step`` and ``site`` below 2**32 (the run planner refuses
grids with more steps).
"""

import math

import numpy as np
from numba import njit

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S5 = np.uint64(5)
_S6 = np.uint64(6)
_PHILOX_M0 = np.uint64(0xD2511F53)
_PHILOX_M1 = np.uint64(0xCD9E8D57)
_PHILOX_W0 = np.uint64(0x9E3779B9)
_PHILOX_W1 = np.uint64(0xBB67AE85)
_TWO26 = 67108864.0
_TO_UNIT = 2.0**-53

#: The ``site`` of parameter sampling draws: far from any equation's call site.
PARAMETER_SITE = 0xF0000000


@njit(cache=True)
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Philox4x32 with 10 rounds: four 32-bit counter words and two key words (each held in
    a uint64) to four 32-bit output words.

    Notes
    -----
    Compiled with Numba (and as a CUDA device function). Arguments must be uint64 values
    below 2**32.
    """
    for _ in range(10):
        p0 = _PHILOX_M0 * c0
        p1 = _PHILOX_M1 * c2
        n0 = ((p1 >> _S32) ^ c1 ^ k0) & _M32
        n2 = ((p0 >> _S32) ^ c3 ^ k1) & _M32
        c0, c1, c2, c3 = n0, p1 & _M32, n2, p0 & _M32
        k0 = (k0 + _PHILOX_W0) & _M32
        k1 = (k1 + _PHILOX_W1) & _M32
    return c0, c1, c2, c3


@njit(cache=True)
def _block(key, run, step, site):
    k = np.uint64(key)
    r = np.uint64(run)
    return philox4x32_10(
        r & _M32, r >> _S32, np.uint64(step) & _M32, np.uint64(site) & _M32, k & _M32, k >> _S32
    )


@njit(cache=True)
def _unit(hi, lo):
    """53 bits of two words as a number in (0, 1): never exactly 0 or 1."""
    return (float(hi >> _S5) * _TWO26 + float(lo >> _S6) + 0.5) * _TO_UNIT


@njit(cache=True)
def counter_uniform(key, run, step, site):
    """A uniform number in (0, 1) for the counters; never exactly 0 or 1.

    Parameters
    ----------
    key : uint64
        The seed's key (see ``sim315.core.seeds``).
    run, step, site : int
        Run index in the ensemble, time step (or parameter column), and call site.

    Notes
    -----
    Compiled with Numba; integer arguments are reinterpreted as uint64.
    """
    x0, x1, _, _ = _block(key, run, step, site)
    return _unit(x0, x1)


@njit(cache=True)
def counter_normal(key, run, step, site):
    """A standard normal number (Box-Muller on the two uniforms of one Philox block)."""
    x0, x1, x2, x3 = _block(key, run, step, site)
    u1 = _unit(x0, x1)
    u2 = _unit(x2, x3)
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
