"""A fit file made ready to fit: its model and window, the free parameters and their bounds,
and the observations (:class:`FitProblem`); and what fitting it gives (:class:`FitResult`).

Residuals exist only at observed times. An observation ``x`` of output ``y`` gives the
relative residual ``w * (y - x) / |x|``; a bound ``> x`` gives ``w * max(0, x - y) / |x|``
(a one-sided penalty), ``< x`` the mirror. Each evaluation of the residuals of several
parameter vectors is one batched ensemble call of the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.errors import suggest
from ..schemas.fitfile import FitError, FitFile, load_fit
from .history import Observation, read_history
from .posterior import at_time

if TYPE_CHECKING:
    from ..ensembles.plan import RunPlan


@dataclass
class FitProblem:
    """A fit file made ready: the model, its window, free columns and the observations."""

    fit: FitFile
    path: Path
    plan: RunPlan
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
    base = _base_values(fit, plan, names, source)
    free = _free_names(fit, names, source)
    try:
        plan.model.grid_for(plan.dt, start=fit.window.start, stop=fit.window.stop)
    except Exception as exc:
        raise FitError(
            source, "window", str(getattr(exc, "problem", exc)), "choose a window of whole steps"
        ) from None
    outputs, obs = _observations(fit, plan, path.parent / fit.data, source)
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


def _base_values(fit: FitFile, plan, names: list[str], source: str) -> np.ndarray:
    """The scenario's parameter values with the fit file's fixed ones put in."""
    base = plan.sampler.base.copy()
    for name, value in fit.fixed.items():
        if name not in names:
            raise FitError(
                source, f"fixed.{name}", f"unknown parameter '{name}'", suggest(name, names)
            )
        base[names.index(name)] = value
    return base


def _free_names(fit: FitFile, names: list[str], source: str) -> list[str]:
    """The free parameters, each a parameter of the model and not also fixed."""
    free = list(fit.free)
    for name in free:
        if name not in names:
            raise FitError(
                source, f"free.{name}", f"unknown parameter '{name}'", suggest(name, names)
            )
        if name in fit.fixed:
            raise FitError(source, f"free.{name}", "is also fixed", "remove it from one of the two")
    return free


def _observations(fit: FitFile, plan, data_path: Path, source: str):
    """The outputs of the series and their observations in the window, as
    ``(outputs, [(series index, observation), ...])``."""
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
    return outputs, obs


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
