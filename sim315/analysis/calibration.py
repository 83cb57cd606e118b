"""``sim315 calibrate``: fit free parameters to sparse history, and say how well they are known.

Residuals exist only at observed times. An observation ``x`` of output ``y`` gives the
relative residual ``w * (y - x) / |x|``; a bound ``> x`` gives ``w * max(0, x - y) / |x|``
(a one-sided penalty), ``< x`` the mirror. Every objective evaluation is one batched
ensemble call of the kernel: a least-squares Jacobian simulates the point and its n forward
perturbations together, the starting points are ranked in one call, and differential
evolution evaluates its whole population at once.

Uncertainty: the covariance is ``s^2 (J'J)^-1`` at the optimum with ``s^2 = SSR / (m - n)``
(m point observations, n parameters); 95 % intervals are +-t(0.975, m - n) standard
errors (Student's t: with a handful of observations 1.96 covers too little). Where ``J'J`` is
degenerate (rank-deficient, or a parameter whose interval leaves its bounds), the interval
comes from the profile likelihood: the parameter is moved toward each bound, the others
re-fitted, and the interval ends where the cost leaves the profile-t limit (bisection).
Fit statistics per series follow Sterman (2000, ch. 21): MAPE, R^2 and Theil's inequality
decomposition U^M, U^S, U^C.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize
from scipy.stats import qmc
from scipy.stats import t as student_t

from ..core.errors import suggest
from ..schemas.fitfile import FitError, FitFile, load_fit
from .history import Observation, read_history
from .posterior import at_time

CHI2_95 = 3.841458820694124  # chi-square quantile, 1 degree of freedom


@dataclass
class FitProblem:
    """A fit file made ready: the model, its window, free columns and the observations."""

    fit: FitFile
    path: Path
    plan: object
    base: np.ndarray
    free: list[str]
    columns: np.ndarray
    low: np.ndarray
    high: np.ndarray
    obs: list[tuple[int, Observation]]  # (series index, observation)
    outputs: list[str]
    times: np.ndarray = field(default_factory=lambda: np.empty(0))
    evaluations: int = 0

    @property
    def n_obs(self) -> int:
        return len(self.obs)

    def simulate(self, X: np.ndarray):
        """Outputs of the fitted series for each row of free values X[k, n_free]."""
        P = np.tile(self.base, (X.shape[0], 1))
        P[:, self.columns] = X
        self.evaluations += X.shape[0]
        w = self.fit.window
        return self.plan.model.simulate(
            P,
            method=self.plan.method,
            dt=self.plan.dt,
            outputs=self.outputs,
            start=w.start,
            stop=w.stop,
            save_every=self._save_every(),
            seed=0,
        )

    def _save_every(self) -> float:
        return self.plan.model.grid_for(self.plan.dt).dt

    def residuals(self, X: np.ndarray) -> np.ndarray:
        """Residuals R[k, m] for each row of X (one kernel call)."""
        res = self.simulate(np.atleast_2d(X))
        t = res.time
        R = np.empty((res.values.shape[0], self.n_obs))
        for i, (s, o) in enumerate(self.obs):
            ser = self.fit.series[s]
            y = at_time(t, res.values[:, :, s], o.time)
            x = o.value * ser.scale
            scale = ser.weight / max(abs(x), 1e-12)
            if o.kind == "=":
                R[:, i] = scale * (y - x)
            elif o.kind == ">":
                R[:, i] = scale * np.maximum(0.0, x - y)
            else:
                R[:, i] = scale * np.maximum(0.0, y - x)
        bad = ~np.isfinite(R)
        if bad.any():
            R[bad] = 1e3  # a run that blew up is far from the data, not a crash
        return R

    def trajectories(self, X: np.ndarray):
        return self.simulate(np.atleast_2d(X))


def prepare(path: str | Path) -> FitProblem:
    """Check a fit file against its scenario, model and data; nothing is fitted yet."""
    path = Path(path)
    return prepare_fit(load_fit(path), path)


def prepare_fit(fit: FitFile, path: Path, series: str = "series") -> FitProblem:
    """:func:`prepare` for a fit already read (a backtest shortens its window); with
    ``series="holdout"`` the problem's series are the fit's holdout series instead."""
    from ..ensembles.runner import plan_base_scenario

    source = str(path)
    original = fit
    if series == "holdout":
        fit = fit.model_copy(update={"series": fit.holdout})
    plan = plan_base_scenario(path, fit.scenario, FitError, "fit file")
    names = list(plan.model.parameter_names)
    base = plan.sampler.base.copy()
    for name, value in fit.fixed.items():
        if name not in names:
            raise FitError(
                source, f"fixed.{name}", f"unknown parameter '{name}'", suggest(name, names)
            )
        base[names.index(name)] = value
    free = list(fit.free)
    for name in free:
        if name not in names:
            raise FitError(
                source, f"free.{name}", f"unknown parameter '{name}'", suggest(name, names)
            )
        if name in fit.fixed:
            raise FitError(source, f"free.{name}", "is also fixed", "remove it from one of the two")
    try:
        plan.model.grid_for(plan.dt, start=fit.window.start, stop=fit.window.stop)
    except Exception as exc:
        raise FitError(
            source, "window", str(getattr(exc, "problem", exc)), "choose a window of whole steps"
        ) from None
    data_path = path.parent / fit.data
    history = read_history(data_path)
    indicators = sorted({o.indicator for o in history})
    outputs = []
    obs: list[tuple[int, Observation]] = []
    for s, ser in enumerate(fit.series):
        if ser.output not in plan.model.output_names:
            raise FitError(
                source,
                f"series.{s}.output",
                f"unknown output '{ser.output}'",
                suggest(ser.output, plan.model.output_names),
            )
        if ser.indicator not in indicators:
            raise FitError(
                source,
                f"series.{s}.indicator",
                f"no series '{ser.indicator}' in {fit.data}",
                suggest(ser.indicator, indicators),
            )
        outputs.append(ser.output)
        for o in history:
            if o.indicator != ser.indicator or o.scope != ser.scope:
                continue
            if any(o.year_text.startswith(e) for e in ser.exclude):
                continue
            if fit.window.start <= o.time <= fit.window.stop:
                obs.append((s, o))
    if series == "holdout":  # figures the fit does not use; none is fine
        fitted = prepare_fit(original, path).obs
        used = {(o.indicator, o.scope, o.time, o.value) for _, o in fitted}
        obs = [(s, o) for s, o in obs if (o.indicator, o.scope, o.time, o.value) not in used]
    elif not obs:
        raise FitError(
            source,
            "window",
            f"no observation of the series falls in {fit.window.start:g}..{fit.window.stop:g}",
            "widen the window or check the series",
        )
    if series != "holdout" and len(obs) < len(free):
        raise FitError(
            source,
            "free",
            f"{len(free)} free parameters but only {len(obs)} observations",
            "fix some parameters",
        )
    lo = np.array([fit.free[n].low for n in free])
    hi = np.array([fit.free[n].high for n in free])
    cols = np.array([names.index(n) for n in free])
    return FitProblem(fit, path, plan, base, free, cols, lo, hi, obs, outputs)


@dataclass
class FitResult:
    problem: FitProblem
    x: np.ndarray
    cost: float
    starts: list[dict]
    jac: np.ndarray
    cov: np.ndarray
    ci: np.ndarray
    ci_method: list[str]
    warnings: list[str]
    stats: dict
    seconds: float
    posterior: object = None
    """A :class:`sim315.analysis.posterior.Posterior` when the fit file asks for one."""
    check: dict | None = None
    """Its posterior predictive check."""


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
    method = method or problem.fit.method
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
    best = min(runs, key=lambda r: r["cost"])
    x = np.array(best["estimate"])
    r = problem.residuals(x[None, :])[0]
    J = _fd_jacobian(problem, x, r)
    cost = 0.5 * float(r @ r)
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
    with np.errstate(divide="ignore", invalid="ignore"):  # a parameter with no effect
        corr = np.nan_to_num(cov / np.outer(se, se), nan=0.0, posinf=0.0, neginf=0.0)
    for i in range(n):
        for j in range(i + 1, n):
            if abs(corr[i, j]) > 0.95:
                warnings.append(
                    f"{problem.free[i]} and {problem.free[j]} are strongly correlated "
                    f"({corr[i, j]:+.2f}): the data fix a combination, not each"
                )
    stats = series_statistics(problem, x)
    post = check = None
    if problem.fit.posterior is not None:
        from .posterior import predictive_check, sample_posterior

        settings = problem.fit.posterior
        post = sample_posterior(problem, x, settings, problem.fit.seed)
        check = predictive_check(problem, post, settings.check_draws, problem.fit.seed)
    return FitResult(
        problem,
        x,
        cost,
        runs,
        J,
        cov,
        ci,
        ci_method,
        warnings,
        stats,
        time.perf_counter() - t0,
        post,
        check,
    )


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


def theil(sim: np.ndarray, act: np.ndarray) -> tuple[float, float, float]:
    """Theil's decomposition of the mean squared error: bias, variance, covariance shares."""
    mse = float(np.mean((sim - act) ** 2))
    if mse == 0:
        return 0.0, 0.0, 0.0
    ss, sa = float(np.std(sim)), float(np.std(act))
    r = float(np.corrcoef(sim, act)[0, 1]) if ss > 0 and sa > 0 else 0.0
    um = (float(np.mean(sim)) - float(np.mean(act))) ** 2 / mse
    us = (ss - sa) ** 2 / mse
    uc = 2 * (1 - r) * ss * sa / mse
    return um, us, uc


def series_statistics(problem: FitProblem, x: np.ndarray) -> dict:
    res = problem.trajectories(x)
    out = {}
    for s, ser in enumerate(problem.fit.series):
        pts = [o for k, o in problem.obs if k == s and o.kind == "="]
        bounds = [o for k, o in problem.obs if k == s and o.kind != "="]
        if not pts and not bounds:
            continue
        sim = np.array([np.interp(o.time, res.time, res.values[0, :, s]) for o in pts])
        act = np.array([o.value * ser.scale for o in pts])
        entry = {"output": ser.output, "observations": len(pts), "bounds": len(bounds)}
        if pts:
            entry["mape"] = float(np.mean(np.abs(sim - act) / np.abs(act)))
            if len(pts) >= 2 and np.var(act) > 0:
                entry["r2"] = float(1 - np.sum((sim - act) ** 2) / np.sum((act - act.mean()) ** 2))
                um, us, uc = theil(sim, act)
                entry.update({"theil_um": um, "theil_us": us, "theil_uc": uc})
        met = [
            (
                o.kind == ">"
                and np.interp(o.time, res.time, res.values[0, :, s]) >= o.value * ser.scale
            )
            or (
                o.kind == "<"
                and np.interp(o.time, res.time, res.values[0, :, s]) <= o.value * ser.scale
            )
            for o in bounds
        ]
        if bounds:
            entry["bounds_met"] = int(sum(met))
        out[ser.indicator] = entry
    return out


def sample_path(out: str | Path) -> Path:
    """Where the posterior sample of the fitted-parameter file ``out`` is written."""
    out = Path(out)
    return out.with_name(out.stem + "-posterior.csv")


def result_document(result: FitResult, out: str | Path | None = None) -> dict:
    """The fitted-parameter file's content (YAML-ready); paths relative to ``out``."""
    import os

    p = result.problem
    where = Path(out).resolve().parent if out is not None else Path.cwd()
    se = np.sqrt(np.maximum(np.diag(result.cov), 0.0))
    spread = max(r["cost"] for r in result.starts) - min(r["cost"] for r in result.starts)
    return {
        "fit": os.path.relpath(p.path.resolve(), where),
        "method": p.fit.method,
        "window": {"start": p.fit.window.start, "stop": p.fit.window.stop},
        "observations": p.n_obs,
        "cost": result.cost,
        "evaluations": p.evaluations,
        "seconds": round(result.seconds, 2),
        "parameters": {
            name: {
                "estimate": float(result.x[j]),
                "ci95": [float(result.ci[j, 0]), float(result.ci[j, 1])],
                "se": float(se[j]),
                "interval": result.ci_method[j],
                "bounds": [float(p.low[j]), float(p.high[j])],
                "transfer": p.fit.free[name].transfer,
            }
            for j, name in enumerate(p.free)
        },
        "covariance": {"names": list(p.free), "matrix": result.cov.tolist()},
        "series": result.stats,
        "starts": result.starts,
        "starts_agree": bool(spread <= 1e-6 * max(1.0, result.cost)),
        "warnings": result.warnings,
        **_posterior_section(result, out),
    }


def _posterior_section(result: FitResult, out) -> dict:
    if result.posterior is None:
        return {}
    from .posterior import document

    name = sample_path(out).name if out is not None else "posterior.csv"
    return {"posterior": document(result.posterior, result.check, name)}


def write_result(result: FitResult, out: str | Path) -> Path:
    """Write the fitted-parameter file (atomically)."""
    import yaml

    from ..core.textfile import check_writable, write_atomic

    out = check_writable(out)
    if result.posterior is not None:
        from .posterior import write_sample

        write_sample(result.posterior, sample_path(out))
    text = yaml.safe_dump(result_document(result, out), sort_keys=False, allow_unicode=True)
    head = "# Written by sim315 calibrate: estimates, 95 % intervals, covariance, fit.\n"
    return write_atomic(out, head + text)


def plot_series(result: FitResult, folder: str | Path, draws: int = 200) -> list[Path]:
    """One PNG per series: history points and bounds, the fitted trajectory and its band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = result.problem
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(p.fit.seed)
    if result.posterior is not None:  # the posterior sample, when there is one
        sample = result.posterior.sample
        X = sample[rng.integers(0, sample.shape[0], size=draws)]
        band_label = "90 % band (posterior draws)"
    else:
        X = rng.multivariate_normal(result.x, result.cov, size=draws, method="eigh")
        X = np.clip(X, p.low, p.high)
        band_label = "90 % band (parameter uncertainty)"
    band = p.trajectories(np.vstack([result.x, X]))
    written = []
    for s, ser in enumerate(p.fit.series):
        fig, ax = plt.subplots(figsize=(7, 4.2))
        t = band.time
        vals = band.values[:, :, s]
        lo, hi = np.percentile(vals[1:], [5, 95], axis=0)
        ax.fill_between(t, lo, hi, alpha=0.3, color="C0", label=band_label)
        ax.plot(t, vals[0], color="C0", lw=2, label="fitted")
        for k, o in p.obs:
            if k != s:
                continue
            marker = {"=": "o", ">": "^", "<": "v"}[o.kind]
            ax.plot(o.time, o.value * ser.scale, marker, color="C3", ms=7)
        ax.plot([], [], "o", color="C3", label="history (^ lower bound)")
        ax.set_title(f"{ser.output} vs {ser.indicator}")
        ax.set_xlabel("time")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = folder / f"fit_{ser.output}_{s}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def _fmt_interval(lo: float, hi: float) -> str:
    return f"[{lo:.4g}, {hi:.4g}]"


def summary_text(result: FitResult) -> str:
    """A table of estimates and intervals, then the series statistics and warnings."""
    p = result.problem
    lines = [f"{'parameter':28s} {'estimate':>11s}  95 % interval (method)"]
    for j, name in enumerate(p.free):
        interval = _fmt_interval(*result.ci[j])
        lines.append(f"{name:28s} {result.x[j]:11.4g}  {interval} ({result.ci_method[j]})")
    lines.append("")
    lines.append(f"{'series':44s} {'n':>3s} {'MAPE':>7s} {'R2':>6s}  U^M/U^S/U^C")
    for ind, st in result.stats.items():
        mape = f"{100 * st['mape']:.1f}%" if "mape" in st else "-"
        r2 = f"{st['r2']:.2f}" if "r2" in st else "-"
        theil_ = (
            f"{st['theil_um']:.2f}/{st['theil_us']:.2f}/{st['theil_uc']:.2f}"
            if "theil_um" in st
            else "-"
        )
        n = st["observations"] + st["bounds"]
        lines.append(f"{ind[:44]:44s} {n:3d} {mape:>7s} {r2:>6s}  {theil_}")
    for w in result.warnings:
        lines.append(f"warning: {w}")
    if result.posterior is not None:
        from .posterior import summary_lines

        lines += summary_lines(result.posterior, result.check)
    agree = result_document(result)["starts_agree"]
    costs = ", ".join(f"{r['cost']:.4g}" for r in result.starts)
    lines.append(
        f"starts: {len(result.starts)} (costs {costs}); agree: {agree}; "
        f"{p.evaluations} runs in {result.seconds:.1f} s"
    )
    return "\n".join(lines)
