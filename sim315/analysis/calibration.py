"""``sim315 calibrate``: fit free parameters to sparse history, and say how well they are known.

The problem (model, window, free parameters, observations and their residuals) is
:mod:`.fitproblem`; what the fit says for people (statistics, the fitted-parameter file,
figures, the summary) is :mod:`.fitreport`. Every objective evaluation is one batched
ensemble call of the kernel: a least-squares Jacobian simulates the point and its n forward
perturbations together, the starting points are ranked in one call, and differential
evolution evaluates its whole population at once.

Uncertainty: the covariance is ``s^2 (J'J)^-1`` at the optimum with ``s^2 = SSR / (m - n)``
(m point observations, n parameters); 95 % intervals are +-t(0.975, m - n) standard
errors (Student's t: with a handful of observations 1.96 covers too little). Where ``J'J`` is
degenerate (rank-deficient, or a parameter whose interval leaves its bounds), the interval
comes from the profile likelihood: the parameter is moved toward each bound, the others
re-fitted, and the interval ends where the cost leaves the profile-t limit (bisection).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import optimize
from scipy.stats import qmc
from scipy.stats import t as student_t

from .fitproblem import FitProblem, FitResult, prepare, prepare_fit
from .fitreport import (
    plot_series,
    result_document,
    sample_path,
    series_statistics,
    summary_text,
    theil,
    write_result,
)

__all__ = [  # the problem and the report have modules of their own; these names stay here too
    "FitProblem",
    "FitResult",
    "calibrate",
    "fit_problem",
    "plot_series",
    "prepare",
    "prepare_fit",
    "result_document",
    "sample_path",
    "series_statistics",
    "summary_text",
    "theil",
    "write_result",
]

CHI2_95 = 3.841458820694124  # chi-square quantile, 1 degree of freedom


def _fd_jacobian(problem: FitProblem, x: np.ndarray, f0: np.ndarray | None = None) -> np.ndarray:
    """Forward differences, the point and its perturbations in one batched call."""
    n = x.size
    h = 1e-6 * np.maximum(np.abs(x), 1e-3 * (problem.high - problem.low))
    step = np.where(x + h > problem.high, -h, h)
    X = np.tile(x, (n + 1, 1))
    X[1:] += np.diag(step)
    R = problem.residuals(X)
    base = R[0] if f0 is None else f0
    return ((R[1:] - base) / step[:, None]).T


def _least_squares(problem: FitProblem, x0: np.ndarray, fixed_index: int | None = None):
    """Bounded least squares from x0 (optionally holding one parameter fixed)."""
    keep = np.arange(x0.size) if fixed_index is None else np.delete(np.arange(x0.size), fixed_index)

    def full(z):
        x = x0.copy()
        x[keep] = z
        return x

    def fun(z):
        return problem.residuals(full(z)[None, :])[0]

    def jac(z):
        return _fd_jacobian(problem, full(z))[:, keep]

    lo, hi = problem.low[keep], problem.high[keep]
    z0 = np.clip(x0[keep], lo, hi)
    if keep.size == 0:
        r = fun(z0)
        return full(z0), 0.5 * float(r @ r)
    sol = optimize.least_squares(
        fun,
        z0,
        jac=jac,
        bounds=(lo, hi),
        x_scale="jac",
        xtol=1e-10,
        ftol=1e-10,
        gtol=1e-10,
        max_nfev=200,
    )
    return full(sol.x), float(sol.cost)


def _starting_points(problem: FitProblem) -> np.ndarray:
    fit = problem.fit
    d = len(problem.free)
    lhs = qmc.LatinHypercube(d, seed=np.random.default_rng(fit.seed)).random(max(1, fit.starts - 1))
    points = problem.low + lhs * (problem.high - problem.low)
    given = np.array(
        [
            fit.free[n].start if fit.free[n].start is not None else problem.base[c]
            for n, c in zip(problem.free, problem.columns, strict=True)
        ]
    )
    given = np.clip(given, problem.low, problem.high)
    return np.vstack([given, points])[: fit.starts]


def calibrate(path: str | Path, method: str | None = None, starts: int | None = None) -> FitResult:
    """Fit a fit file; see the module docstring."""
    return fit_problem(prepare(path), method, starts)


def fit_problem(problem: FitProblem, method: str | None = None, starts: int | None = None):
    """Fit a prepared problem (and sample its posterior when the fit file asks)."""
    import time

    t0 = time.perf_counter()
    if starts is not None:
        problem.fit = problem.fit.model_copy(update={"starts": starts})
    runs = _search(problem, method or problem.fit.method)
    best = min(runs, key=lambda r: r["cost"])
    x = np.array(best["estimate"])
    r = problem.residuals(x[None, :])[0]
    J = _fd_jacobian(problem, x, r)
    cost = 0.5 * float(r @ r)
    cov, ci, ci_method, warnings = _uncertainty(problem, x, J, cost)
    stats = series_statistics(problem, x)
    post = check = None
    if problem.fit.posterior is not None:
        from .posterior import predictive_check, sample_posterior

        settings = problem.fit.posterior
        post = sample_posterior(problem, x, settings, problem.fit.seed)
        check = predictive_check(problem, post, settings.check_draws, problem.fit.seed)
    seconds = time.perf_counter() - t0
    return FitResult(
        problem, x, cost, runs, J, cov, ci, ci_method, warnings, stats, seconds, post, check
    )


def _search(problem: FitProblem, method: str) -> list[dict]:
    """The local fits, each as {start, estimate, cost}: from every starting point (best
    first), or one polishing differential evolution's optimum."""
    X0 = _starting_points(problem)
    R0 = problem.residuals(X0)  # all starting points in one call
    runs = []
    if method == "differential_evolution":

        def cost(xt):  # scipy passes (n, S) when vectorized
            R = problem.residuals(np.atleast_2d(xt.T))
            return 0.5 * np.sum(R * R, axis=1)

        de = optimize.differential_evolution(
            cost,
            list(zip(problem.low, problem.high, strict=True)),
            vectorized=True,
            seed=problem.fit.seed,
            polish=False,
            init="latinhypercube",
            tol=1e-8,
            maxiter=300,
            updating="deferred",
        )
        x, c = _least_squares(problem, de.x)
        runs.append({"start": de.x.tolist(), "estimate": x.tolist(), "cost": c})
    else:
        for k in np.argsort(0.5 * np.sum(R0 * R0, axis=1)):
            x, c = _least_squares(problem, X0[k])
            runs.append({"start": X0[k].tolist(), "estimate": x.tolist(), "cost": c})
    return runs


def _uncertainty(problem: FitProblem, x: np.ndarray, J: np.ndarray, cost: float):
    """The covariance, the 95 % intervals and how each was found (``jacobian`` or
    ``profile``), and the warnings about parameters the data do not identify."""
    # degrees of freedom: point observations less parameters (a bound is not a measurement)
    m = sum(1 for _, o in problem.obs if o.kind == "=")
    n = x.size
    dof = m - n
    s2 = max(2 * cost / dof if dof > 0 else 2 * cost, 1e-12)
    JTJ = J.T @ J
    cov = s2 * np.linalg.pinv(JTJ)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    quantile = float(student_t.ppf(0.975, dof)) if dof > 0 else 1.96
    ci = np.column_stack([x - quantile * se, x + quantile * se])
    rank = np.linalg.matrix_rank(JTJ, tol=1e-10 * max(1e-300, np.abs(JTJ).max()))
    ci_method = ["jacobian"] * n
    warnings = []
    for j, name in enumerate(problem.free):
        degenerate = rank < n or ci[j, 0] < problem.low[j] or ci[j, 1] > problem.high[j]
        if degenerate:
            ci[j] = _profile_interval(problem, x, j, cost, s2, dof, quantile)
            ci_method[j] = "profile"
        span = problem.high[j] - problem.low[j]
        if ci[j, 0] <= problem.low[j] + 1e-9 * span or ci[j, 1] >= problem.high[j] - 1e-9 * span:
            warnings.append(
                f"{name}: the 95 % interval reaches a bound [{problem.low[j]:g}, "
                f"{problem.high[j]:g}] - not identifiable from these data"
            )
    return cov, ci, ci_method, warnings + _correlated(problem.free, cov, se)


def _correlated(names: list[str], cov: np.ndarray, se: np.ndarray) -> list[str]:
    """A warning for each pair of parameters correlated beyond 0.95."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a parameter with no effect
        corr = np.nan_to_num(cov / np.outer(se, se), nan=0.0, posinf=0.0, neginf=0.0)
    out = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if abs(corr[i, j]) > 0.95:
                out.append(
                    f"{names[i]} and {names[j]} are strongly correlated "
                    f"({corr[i, j]:+.2f}): the data fix a combination, not each"
                )
    return out


def _profile_interval(problem, x, j, cost_min, s2, dof, quantile) -> np.ndarray:
    """Profile-likelihood interval of parameter j: where the cost, the others re-fitted,
    stays within ``cost_min * (1 + t^2 / dof)`` (the profile-t limit; with no degrees of
    freedom, ``cost_min + s^2 * chi2 / 2``). Each side is located by bisection."""
    limit = cost_min * (1 + quantile**2 / dof) if dof > 0 else cost_min + 0.5 * s2 * CHI2_95
    limit = max(limit, cost_min + 1e-12)

    def profile(v):
        x0 = x.copy()
        x0[j] = v
        return _least_squares(problem, x0, fixed_index=j)[1]

    ends = []
    for bound in (problem.low[j], problem.high[j]):
        if profile(bound) <= limit:
            ends.append(bound)
            continue
        inside, outside = x[j], bound
        for _ in range(12):  # 2**-12 of the distance to the bound
            mid = 0.5 * (inside + outside)
            if profile(mid) <= limit:
                inside = mid
            else:
                outside = mid
        ends.append(inside)
    return np.array(sorted(ends))
