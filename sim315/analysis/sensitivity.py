"""Global sensitivity analysis: designs and estimators.

- **Sobol'** indices from a Saltelli design (SALib's ``sample.sobol``, first-order only: N
  base rows, each giving D + 2 runs A, AB_1..AB_D, B) with SALib's estimators (Saltelli et
  al. 2010 first order, Jansen total order; see :func:`saltelli`), vectorised over every
  (output, year) at once where SALib loops in Python per output; 95 % intervals are 1.96
  bootstrap standard deviations (resampling base rows), as in SALib.
- **Morris** elementary effects: SALib's ``sample.morris`` and ``analyze.morris``
  (mu*, sigma, bootstrap interval of mu*).
- **Grids**: one-at-a-time (each factor across its levels, the others at base) and full
  factorial (every combination of levels), for "what if" tables.

Factors given as distributions are sampled through their inverse CDF; for Morris, whose
levels include 0 and 1, the unit interval is shrunk to [0.005, 0.995] so that unbounded laws
stay finite.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..schemas.sweepfile import Range

_EDGE = 0.005


@dataclass
class Design:
    """The runs of a sweep: factor values per run, and what is needed to analyse them."""

    method: str
    names: list[str]
    values: np.ndarray  # (runs, D)
    n: int
    levels: dict[str, list[float]] | None = None

    @property
    def runs(self) -> int:
        return self.values.shape[0]


def _problem(names):
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def _from_unit(spec, u: np.ndarray) -> np.ndarray:
    if isinstance(spec, Range):
        return spec.low + u * (spec.high - spec.low)
    return spec.ppf(u)


def _levels(spec, n: int) -> list[float]:
    if isinstance(spec, Range):
        if spec.values is not None:
            return list(spec.values)
        return list(np.linspace(spec.low, spec.high, n))
    return [float(v) for v in spec.ppf(np.linspace(0.05, 0.95, n))]


def make_design(method: str, factors: dict, n: int, seed: int, levels: int, base: dict) -> Design:
    """The design of a sweep; ``base`` holds every factor's base value (for grids)."""
    names = list(factors)
    d = len(names)
    if method == "sobol":
        from SALib.sample import sobol

        unit = sobol.sample(_problem(names), n, calc_second_order=False, scramble=True, seed=seed)
        values = np.column_stack([_from_unit(factors[k], unit[:, j]) for j, k in enumerate(names)])
        return Design(method, names, values, n)
    if method == "morris":
        from SALib.sample import morris

        unit = morris.sample(_problem(names), n, num_levels=levels, seed=seed)
        unit = _EDGE + unit * (1 - 2 * _EDGE)
        values = np.column_stack([_from_unit(factors[k], unit[:, j]) for j, k in enumerate(names)])
        return Design(method, names, values, n)
    grid = {k: _levels(factors[k], n) for k in names}
    base_row = np.array([base[k] for k in names])
    if method == "oat":
        rows = [base_row]
        for j, k in enumerate(names):
            for v in grid[k]:
                row = base_row.copy()
                row[j] = v
                rows.append(row)
        return Design(method, names, np.array(rows), n, grid)
    rows = [np.array(c) for c in itertools.product(*(grid[k] for k in names))]
    return Design(method, names, np.array(rows).reshape(-1, d), n, grid)


def _centred(Y: np.ndarray, d: int, n: int) -> np.ndarray:
    """The first ``n`` base rows of a Saltelli design's outputs, centred on their mean (as
    SALib does: the first-order estimator's variance, not its expectation, depends on the
    mean), shape (n, d + 2, K)."""
    Y = np.asarray(Y[: n * (d + 2)], dtype=np.float64)
    Y = Y.reshape(n * (d + 2), -1)
    return (Y - Y.mean(axis=0)).reshape(n, d + 2, -1)


def _estimate(Y3: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    fa, fb = Y3[:, 0], Y3[:, d + 1]
    fab = Y3[:, 1 : d + 1]  # (n, d, K): A with column i taken from B
    var = np.var(np.concatenate([fa, fb]), axis=0)
    var = np.where(var > 0, var, np.nan)  # a constant output has no indices
    s1 = np.mean(fb[:, None, :] * (fab - fa[:, None, :]), axis=0) / var
    st = 0.5 * np.mean((fa[:, None, :] - fab) ** 2, axis=0) / var
    return s1, st


def saltelli(Y: np.ndarray, d: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """First- and total-order indices, shape (d, K), from Saltelli-design outputs Y[runs, K].

    ``S1_i = E[f(B) (f(AB_i) - f(A))] / V`` (Saltelli et al. 2010, doi:10.1016/j.cpc.2009.09.018,
    Table 2 (b)), which stays near 0 for factors without effect where Jansen's
    ``V - E[(f(B) - f(AB_i))^2] / 2`` subtracts two large numbers; ``ST_i = E[(f(A) -
    f(AB_i))^2] / 2V`` (Jansen 1999). Both are SALib's ``analyze.sobol`` estimators on the same
    runs (``tests/test_sweep.py`` checks the numbers agree).
    """
    return _estimate(_centred(Y, d, n), d)


def sobol_indices(Y: np.ndarray, d: int, n: int, resamples: int, seed: int) -> dict:
    """Indices with bootstrap intervals, and the same at N/2 for the convergence check."""
    Yn = _centred(Y, d, n)
    s1, st = _estimate(Yn, d)
    rng = np.random.default_rng(seed)
    boot1 = np.empty((resamples, *s1.shape))
    bootT = np.empty((resamples, *st.shape))
    for b in range(resamples):
        idx = rng.integers(0, n, n)
        boot1[b], bootT[b] = _estimate(Yn[idx], d)
    half = n // 2
    h1, hT = saltelli(Y, d, half)
    with np.errstate(invalid="ignore"):
        c1 = 1.96 * np.nanstd(boot1, axis=0)
        cT = 1.96 * np.nanstd(bootT, axis=0)
    return {"S1": s1, "ST": st, "S1_conf": c1, "ST_conf": cT, "S1_half": h1, "ST_half": hT}


def morris_indices(design: Design, Y: np.ndarray, levels: int, seed: int) -> dict:
    """mu*, sigma and mu*'s interval per factor, for each column of Y[runs, K]."""
    from SALib.analyze import morris

    problem = {
        "num_vars": len(design.names),
        "names": design.names,
        "bounds": [
            [float(design.values[:, j].min()), float(design.values[:, j].max())]
            for j in range(len(design.names))
        ],
    }
    k = Y.shape[1]
    out = {key: np.empty((len(design.names), k)) for key in ("mu_star", "sigma", "mu_star_conf")}
    for c in range(k):
        res = morris.analyze(
            problem, design.values, Y[:, c], num_levels=levels, seed=seed, print_to_console=False
        )
        for key in out:
            out[key][:, c] = np.asarray(res[key], dtype=float)
    return out


#: Movement between N/2 and N that never warns, whatever the intervals: indices are shares
#: of variance, and a change below this is not worth another run.
CONVERGENCE_ATOL = 0.02


def convergence_warnings(
    idx: dict, names: list[str], labels: list[str], atol: float = CONVERGENCE_ATOL
) -> list[str]:
    """Where indices moved between N/2 and N more than their intervals allow (twice the 95 %
    half-width plus ``atol``)."""
    warnings = []
    for key in ("S1", "ST"):
        moved = np.abs(idx[key] - idx[f"{key}_half"])
        allowed = 2 * idx[f"{key}_conf"] + atol
        bad = np.argwhere(np.nan_to_num(moved) > np.nan_to_num(allowed, nan=np.inf))
        for j, c in bad:
            warnings.append(
                f"{key} of {names[j]} for {labels[c]} moved {moved[j, c]:.3f} between N/2 and N, "
                f"more than its interval allows ({allowed[j, c]:.3f}): increase n"
            )
    return warnings
