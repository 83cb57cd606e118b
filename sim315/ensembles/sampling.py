"""The parameter matrix of an ensemble, produced chunk by chunk, by samplers behind one
protocol (:class:`Sampler`).

Run *i*'s parameters depend only on the scenario, the seed and *i* — and, for designs that
spread points over the whole ensemble (Latin hypercube, Sobol'), on the run count — never on
how runs are split into chunks. ``random`` draws are counter-based (see
:mod:`sim315.kernels.rng`), so a chunk is computed without the runs before it; Sobol' points
are reached with ``fast_forward``; a Latin hypercube's shuffles are made on first use
(:mod:`.hypercube`: ``runs x uncertain`` integers), each chunk's rows from them. Calibrated draws
(:class:`PosteriorDraws`) take, for run *i*, the row of a stored posterior sample chosen by a
counter-based uniform keyed by (seed, *i*). A sweep's design
(:class:`sim315.analysis.sweep.DesignSampler`) is a sampler like these.

A sampler is thread-safe: the executors draw the next chunks' rows in several threads at
once (what a sampler makes once, the Latin hypercube and the quantile tables, is made by
one thread under a lock).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..core.seeds import seed_key
from ..kernels.columns import put_rows
from ..kernels.rng import PARAMETER_SITE, uniform_matrix
from ..schemas.distributions import quantile_methods
from .hypercube import LatinHypercube

SAMPLERS = ("random", "lhs", "sobol")
#: Counter site of the choice of a posterior draw per run.
POSTERIOR_SITE = PARAMETER_SITE + 1


@runtime_checkable
class Sampler(Protocol):
    """What a run spec needs of a sampler: the rows of runs ``a..b`` and what to record.

    ``rows(a, b)`` must depend on ``a``, ``b`` and the sampler's inputs only (never on the
    chunks asked for before), so that any chunking and any executor give the same numbers,
    and a resumed run the same rows as an uninterrupted one. It may be called from several
    threads at once.
    """

    runs: int
    """Ensemble size."""
    entropy: int
    """Seed entropy of the run: it keys the sampler's draws and the equations' random
    streams (recorded as ``seed_entropy``)."""
    base: np.ndarray
    """Every run's parameters before sampling (defaults, overrides, calibrated estimates)."""

    @property
    def kind(self) -> str:
        """The design's name (the result file's ``sampler`` attribute)."""
        ...

    @property
    def n_uncertain(self) -> int:
        """How many columns vary from run to run."""
        ...

    def rows(self, a: int, b: int) -> np.ndarray:
        """The parameter matrix of runs ``[a, b)``, shape ``(b - a, len(base))``: a new
        array the caller owns (the start states from history are written into it)."""
        ...

    def varied_columns(self) -> list[int]:
        """The columns ``rows`` may set to anything but ``base``'s value: the result file
        stores only these per run (the others once)."""
        ...

    def provenance(self) -> dict[str, str]:
        """Result-file attributes that say how the rows were made (``sampler``,
        ``seed_entropy`` and any design); the run's fingerprint digests the design."""
        ...


def _provenance(kind: str, entropy: int) -> dict[str, str]:
    return {"sampler": kind, "seed_entropy": str(entropy)}


class ParameterSampler:
    """Uncertain parameters drawn from their distributions: rows for runs ``[a, b)``.

    Parameters
    ----------
    base : ndarray, shape (n_params,)
        Every run's parameters before sampling (defaults with the scenario's overrides).
    columns : sequence of int
        Columns of the uncertain parameters.
    dists : sequence
        Their distributions (objects with ``ppf``), in the same order.
    kind : {'random', 'lhs', 'sobol'}
    runs : int
        Ensemble size.
    seed : int, SeedSequence or None
    correlated : sequence of (positions, L), optional
        Groups of uncertain columns (positions in ``columns``) drawn through a Gaussian
        copula with the lower Cholesky factor ``L`` (:func:`gaussian_copula`).
    """

    def __init__(
        self,
        base: np.ndarray,
        columns: Sequence[int | Sequence[int]],
        dists: Sequence,
        kind: str,
        runs: int,
        seed=None,
        correlated: Sequence[tuple[Sequence[int], np.ndarray]] = (),
    ):
        if kind not in SAMPLERS:
            raise ValueError(f"unknown sampler {kind!r}")
        self.base = np.asarray(base, dtype=np.float64)
        self.columns = list(columns)
        self.dists = list(dists)
        self.kind = kind
        self.runs = int(runs)
        self.key, self.entropy = seed_key(seed)
        self._design: LatinHypercube | None = None
        self._maps: list | None = None
        self._lock = threading.Lock()  # the design and maps are made once, by one thread
        self.correlated = [(list(p), np.asarray(L, dtype=np.float64)) for p, L in correlated]

    @property
    def n_uncertain(self) -> int:
        return len(self.columns)

    def unit(self, a: int, b: int) -> np.ndarray:
        """Unit-hypercube points of runs ``[a, b)``, shape (b - a, n_uncertain)."""
        d = self.n_uncertain
        if self.kind == "random":
            out = np.empty((b - a, d))
            if d:
                uniform_matrix(self.key, np.int64(a), np.int64(PARAMETER_SITE), out)
            return out
        if d == 0:
            return np.empty((b - a, 0))
        if self.kind == "sobol":
            from scipy.stats import qmc  # on first use: scipy.stats takes 0.5 s to import

            rng = np.random.default_rng(np.random.SeedSequence(self.entropy))
            engine = qmc.Sobol(d, scramble=True, seed=rng)
            if a:
                engine.fast_forward(a)
            with warnings.catch_warnings():
                # scipy warns that balance needs powers of two; the chunk sizes are ours, the
                # run count is the user's and is checked once in design_warning()
                warnings.simplefilter("ignore", UserWarning)
                return engine.random(b - a)
        with self._lock:
            if self._design is None:
                seq = np.random.SeedSequence(self.entropy)
                self._design = LatinHypercube(seq, self.runs, d)
        return self._design.rows(a, b)

    def varied_columns(self) -> list[int]:
        return sorted({int(c) for col in self.columns for c in np.atleast_1d(col)})

    def rows(self, a: int, b: int) -> np.ndarray:
        """The parameter matrix of runs ``[a, b)``."""
        P = np.tile(self.base, (b - a, 1))
        if self.n_uncertain:
            u = self.unit(a, b)
            if self.correlated:
                u = gaussian_copula(u, self.correlated)
            for j, (col, put) in enumerate(zip(self.columns, self._puts(), strict=True)):
                put(u[:, j], P, col)
        return P

    def _puts(self) -> list:
        """Each distribution's :func:`_put`, made once (not per chunk): its frozen scipy
        object (freezing costs about 0.5 ms a distribution), or a PERT's polynomials (about
        1 ms); the same numbers."""
        with self._lock:
            if self._maps is None:
                self._maps = [_put(d, col) for d, col in zip(self.dists, self.columns, strict=True)]
        return self._maps

    def provenance(self) -> dict[str, str]:
        out = _provenance(self.kind, self.entropy)
        own = quantile_methods(self.dists)
        if own:  # a quantile function of sim315's own decides these values (and the resume)
            out["quantile_method"] = own
        return out

    def design_warning(self) -> str | None:
        """A note when the run count does not suit the design, else None."""
        if self.kind == "sobol" and self.runs & (self.runs - 1):
            return (
                f"Sobol' points balance best at a power of two runs; {self.runs} is not "
                f"(e.g. {1 << (self.runs.bit_length() - 1)} or {1 << self.runs.bit_length()})"
            )
        return None


def _put(dist, col):
    """``put(u, P, col)``: draws ``u`` (a column of the unit design) made values of ``P``'s
    column ``col`` (or, for a list of columns, each of them: one shared draw). Written in
    place in one pass by the distribution's own quantile function where it has one
    (``fast_place``: uniform, triangular, PERT, 0.03-0.13 ms a 2,492-run chunk), else its
    ``ppf``'s values assigned; the same numbers either way."""
    place = dist.fast_place() if hasattr(dist, "fast_place") else None
    if place is not None and np.ndim(col) == 0:
        return lambda u, P, col: place(u, P[:, col])
    ppf = dist.fast_ppf() if hasattr(dist, "fast_ppf") else dist.ppf

    def put(u, P, col):
        x = ppf(u)
        P[:, col] = x if np.ndim(col) == 0 else np.asarray(x)[:, None]  # shared

    return put


def gaussian_copula(u: np.ndarray, groups) -> np.ndarray:
    """``u`` with each group's columns correlated, row by row (a copy; ``u`` may be a view
    of a stored design): ``z = Φ⁻¹(u)``, ``z' = L z`` per row, ``Φ(z')``. Each column stays uniform
    on (0, 1), so each element keeps its distribution; ``L Lᵀ`` is the normal scores'
    correlation matrix. Clipped to (0, 1) open, as the counter-based uniforms are.

    Each mixed score is one row's own sum (not a BLAS product, whose blocking, and so
    rounding, may depend on the number of rows): the same numbers for any chunking."""
    from scipy.special import ndtr, ndtri

    out = np.array(u, dtype=np.float64, copy=True)
    for positions, L in groups:
        z = ndtri(np.clip(out[:, positions], _U_MIN, _U_MAX))
        mixed = np.empty_like(z)
        for i in range(z.shape[1]):  # L is lower triangular
            mixed[:, i] = (z[:, : i + 1] * L[i, : i + 1]).sum(axis=1)
        out[:, positions] = np.clip(ndtr(mixed), _U_MIN, _U_MAX)
    return out


#: The open unit interval the copula keeps to: a normal score stays finite and no ``ppf``
#: of an unbounded distribution meets 0 or 1.
_U_MIN, _U_MAX = 2.0**-54, 1.0 - 2.0**-53


class PosteriorDraws:
    """Calibrated parameters drawn from a stored posterior sample, over another sampler's
    rows: run *i* takes the sample row chosen by a counter-based uniform keyed by the inner
    sampler's seed and *i*, so its values depend on *i* only.

    Parameters
    ----------
    inner : Sampler
        The rest of each row (the scenario's uncertain parameters); its seed keys the draws.
    columns : sequence of int
        The columns the sample's columns go to.
    sample : ndarray, shape (draws, len(columns))
    """

    def __init__(self, inner: Sampler, columns: Sequence[int], sample: np.ndarray):
        self.inner = inner
        self.posterior = (list(columns), np.ascontiguousarray(sample, dtype=np.float64))
        self._columns = np.array(columns, dtype=np.int64)
        self.key, self.entropy = seed_key(inner.entropy)
        self.runs = inner.runs
        self.base = inner.base

    kind = property(lambda self: self.inner.kind)
    n_uncertain = property(lambda self: self.inner.n_uncertain)  # the scenario's uncertain

    def varied_columns(self) -> list[int]:
        return sorted(set(self.inner.varied_columns()) | {int(c) for c in self.posterior[0]})

    def rows(self, a: int, b: int) -> np.ndarray:
        P = self.inner.rows(a, b)
        put_rows(P, self._columns, self.posterior[1], self.posterior_rows(a, b))
        return P

    def posterior_rows(self, a: int, b: int) -> np.ndarray:
        """Which row of the posterior sample runs ``[a, b)`` take."""
        n = self.posterior[1].shape[0]
        u = np.empty((b - a, 1))
        uniform_matrix(self.key, np.int64(a), np.int64(POSTERIOR_SITE), u)
        return np.minimum((u[:, 0] * n).astype(np.int64), n - 1)

    def provenance(self) -> dict[str, str]:
        cols, sample = self.posterior
        draws = f"{sample.shape[0]} draws of {len(cols)} calibrated parameters"
        return {**self.inner.provenance(), "posterior_draws": draws}
