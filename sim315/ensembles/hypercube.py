"""The Latin hypercube of ``sampler: lhs``: the numbers of scipy 1.17's
``qmc.LatinHypercube(d, rng=np.random.default_rng(seq)).random(n)`` (scrambled, strength 1,
no optimisation; tests/test_lhs.py checks them against the installed scipy's), made here so
that they do not depend on how the installed scipy (``>= 1.10`` is allowed) draws from the
generator it is given.

The draws, in scipy's order, come from the first child of ``seq`` (scipy spawns one from the
generator it is given): every point's jitter ``u ~ U(0, 1)`` (an ``(n, d)`` draw, one 64-bit
output of PCG64 per value), then one shuffle of ``1..n`` per dimension; point *k*'s
coordinate *i* is ``(perm_i[k] - u[k, i]) / n``.

Only the shuffles need the whole design: a shuffle's first places are settled last. So
:class:`LatinHypercube` makes them once (``d x n`` 32-bit integers: 104 MB for the plan's
10^6 runs of 26 dimensions, where the design itself would be 208 MB of floats, all of it
written before the first run could start), skipping the jitter with PCG64's ``advance``;
each chunk's rows draw their own jitter, from the generator advanced to their first draw.
The numbers are the same, bit for bit, for any chunks.
"""

from __future__ import annotations

import numpy as np


class LatinHypercube:
    """An ``n x d`` Latin hypercube from ``seq`` (see the module docstring), row by row."""

    def __init__(self, seq: np.random.SeedSequence, n: int, d: int):
        self.n, self.d = int(n), int(d)
        bits = np.random.PCG64(seq.spawn(1)[0])
        self._jitter = bits.state  # where the jitter's n * d draws start
        bits.advance(self.n * self.d)  # as if they were drawn (and no 32-bit half is kept)
        rng = np.random.Generator(bits)
        # the same permutation for any integer type: the shuffle draws by length alone
        kind = np.int32 if self.n < 2**31 else np.int64
        self.perms = np.empty((self.d, self.n), dtype=kind)
        ranks = np.arange(1, self.n + 1, dtype=kind)
        for p in self.perms:
            p[:] = ranks
            rng.shuffle(p)

    def rows(self, a: int, b: int) -> np.ndarray:
        """Points ``a .. b - 1``, shape ``(b - a, d)``."""
        bits = np.random.PCG64()
        bits.state = self._jitter
        bits.advance(a * self.d)
        out = np.random.Generator(bits).uniform(size=(b - a, self.d))
        np.subtract(self.perms[:, a:b].T, out, out=out)  # as floats: exact below 2^53
        out /= self.n
        return out


def latin_hypercube(seq: np.random.SeedSequence, n: int, d: int) -> np.ndarray:
    """The whole ``n x d`` design of :class:`LatinHypercube`."""
    return LatinHypercube(seq, n, d).rows(0, n)
