"""The parameter matrix of an ensemble, produced chunk by chunk.

Run *i*'s parameters depend only on the scenario, the seed and *i* — and, for designs that
spread points over the whole ensemble (Latin hypercube, Sobol'), on the run count — never on
how runs are split into chunks. ``random`` draws are counter-based (see
:mod:`sim315.kernels.rng`), so a chunk is computed without the runs before it; Sobol' points
are reached with ``fast_forward``; a Latin hypercube is built whole on first use (its
unit-cube design is ``runs x uncertain`` floats) and sliced.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.stats import qmc

from ..core.seeds import seed_key
from ..kernels.rng import PARAMETER_SITE, uniform_matrix

SAMPLERS = ("random", "lhs", "sobol")
#: Counter site of the choice of a posterior draw per run.
POSTERIOR_SITE = PARAMETER_SITE + 1


class ParameterSampler:
    """Parameter rows for runs ``[a, b)`` of an ensemble.

    Parameters
    ----------
    base : ndarray, shape (n_params,)
        Every run's parameters before sampling (defaults with the scenario's overrides).
    columns : sequence of int
        Columns of the uncertain parameters.
    dists : sequence
        Their distributions (objects with ``ppf``), in the same order.
    sampler : {'random', 'lhs', 'sobol'}
    runs : int
        Ensemble size.
    seed : int, SeedSequence or None
    posterior : (columns, sample), optional
        Calibrated parameters drawn from a stored posterior sample: run *i* takes the row
        chosen by a counter-based uniform keyed by (seed, i), so its values depend on *i*
        only.
    """

    def __init__(
        self,
        base: np.ndarray,
        columns: Sequence[int],
        dists: Sequence,
        sampler: str,
        runs: int,
        seed=None,
        posterior=None,
    ):
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}")
        self.base = np.asarray(base, dtype=np.float64)
        self.columns = list(columns)
        self.dists = list(dists)
        self.sampler = sampler
        self.runs = int(runs)
        self.key, self.entropy = seed_key(seed)
        self._design: np.ndarray | None = None
        self.posterior = None
        if posterior is not None:
            cols, sample = posterior
            self.posterior = (list(cols), np.ascontiguousarray(sample, dtype=np.float64))

    def with_seed(self, seed) -> ParameterSampler:
        """The same sampler under another seed (a resumed run's stored entropy)."""
        return ParameterSampler(
            self.base, self.columns, self.dists, self.sampler, self.runs, seed, self.posterior
        )

    @property
    def n_uncertain(self) -> int:
        return len(self.columns)

    def unit(self, a: int, b: int) -> np.ndarray:
        """Unit-hypercube points of runs ``[a, b)``, shape (b - a, n_uncertain)."""
        d = self.n_uncertain
        if self.sampler == "random":
            out = np.empty((b - a, d))
            if d:
                uniform_matrix(self.key, np.int64(a), np.int64(PARAMETER_SITE), out)
            return out
        if d == 0:
            return np.empty((b - a, 0))
        rng = np.random.default_rng(np.random.SeedSequence(self.entropy))
        if self.sampler == "sobol":
            engine = qmc.Sobol(d, scramble=True, seed=rng)
            if a:
                engine.fast_forward(a)
            with warnings.catch_warnings():
                # scipy warns that balance needs powers of two; the chunk sizes are ours, the
                # run count is the user's and is checked once in check_design()
                warnings.simplefilter("ignore", UserWarning)
                return engine.random(b - a)
        if self._design is None:
            self._design = qmc.LatinHypercube(d, seed=rng).random(self.runs)
        return self._design[a:b]

    def chunk(self, a: int, b: int) -> np.ndarray:
        """The parameter matrix of runs ``[a, b)``."""
        P = np.tile(self.base, (b - a, 1))
        if self.n_uncertain:
            u = self.unit(a, b)
            for j, (col, dist) in enumerate(zip(self.columns, self.dists, strict=True)):
                P[:, col] = dist.ppf(u[:, j])
        if self.posterior is not None:
            cols, sample = self.posterior
            P[:, cols] = sample[self.posterior_rows(a, b)]
        return P

    def posterior_rows(self, a: int, b: int) -> np.ndarray:
        """Which row of the posterior sample runs ``[a, b)`` take."""
        n = self.posterior[1].shape[0]
        u = np.empty((b - a, 1))
        uniform_matrix(self.key, np.int64(a), np.int64(POSTERIOR_SITE), u)
        return np.minimum((u[:, 0] * n).astype(np.int64), n - 1)

    def design_warning(self) -> str | None:
        """A note when the run count does not suit the design, else None."""
        if self.sampler == "sobol" and self.runs & (self.runs - 1):
            return (
                f"Sobol' points balance best at a power of two runs; {self.runs} is not "
                f"(e.g. {1 << (self.runs.bit_length() - 1)} or {1 << self.runs.bit_length()})"
            )
        return None
