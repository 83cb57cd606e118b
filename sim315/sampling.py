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

from .kernels.rng import PARAMETER_SITE, uniform_matrix
from .seeds import seed_key

SAMPLERS = ("random", "lhs", "sobol")
#: Counter sites of calibrated (joint) draws, one per rejection try.
JOINT_SITE = PARAMETER_SITE + (1 << 20)


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
    """

    def __init__(
        self,
        base: np.ndarray,
        columns: Sequence[int],
        dists: Sequence,
        sampler: str,
        runs: int,
        seed=None,
        joint=None,
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
        self.joint = None
        if joint is not None:
            cols, mean, cov, bounds = joint
            # a factor of the covariance that tolerates a singular one (profiled parameters)
            w, v = np.linalg.eigh(np.asarray(cov, dtype=float))
            factor = v * np.sqrt(np.clip(w, 0.0, None))
            self.joint = (list(cols), np.asarray(mean), factor, np.asarray(bounds, dtype=float))

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
        if self.joint is not None:
            cols, _, _, _ = self.joint
            P[:, cols] = self.joint_draws(a, b)
        return P

    def joint_draws(self, a: int, b: int, tries: int = 64) -> np.ndarray:
        """Calibrated parameters of runs ``[a, b)``: multivariate normal, truncated to the
        fit's bounds by rejection (each try a counter-based draw, so run i's values depend
        on i only); after ``tries`` rejections the last draw is clipped."""
        from scipy.special import ndtri

        cols, mean, factor, bounds = self.joint
        d = len(cols)
        out = np.empty((b - a, d))
        todo = np.ones(b - a, dtype=bool)
        for k in range(tries):
            u = np.empty((b - a, d))
            uniform_matrix(self.key, np.int64(a), np.int64(JOINT_SITE + k), u)
            x = mean + ndtri(u) @ factor.T
            ok = np.all((x >= bounds[:, 0]) & (x <= bounds[:, 1]), axis=1)
            take = todo & (ok | (k == tries - 1))
            out[take] = np.clip(x[take], bounds[:, 0], bounds[:, 1])
            todo &= ~take
            if not todo.any():
                break
        return out

    def design_warning(self) -> str | None:
        """A note when the run count does not suit the design, else None."""
        if self.sampler == "sobol" and self.runs & (self.runs - 1):
            return (
                f"Sobol' points balance best at a power of two runs; {self.runs} is not "
                f"(e.g. {1 << (self.runs.bit_length() - 1)} or {1 << self.runs.bit_length()})"
            )
        return None
