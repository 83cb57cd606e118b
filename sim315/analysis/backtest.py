"""``sim315 backtest``: evidence out of sample.

Two checks, each a 90 % posterior predictive band (:mod:`sim315.analysis.posterior`) against figures
that the fit producing the posterior never saw:

1. **Backtest**: the fit is repeated on its figures up to ``until`` only (same model, same
   free parameters, same observation model, posterior sampled the same way), and predicts
   the figures of the fitted series after ``until`` up to the end of the window.
2. **Held-out figures**: the full fit's posterior predicts the figures of the fit file's
   ``holdout`` series that the fit does not use (another indicator, or a figure excluded
   from a fitted series).

Per figure: the figure, the predicted median and band, the median's relative error and
whether the band covers the figure; per check: the largest absolute relative error and the
share covered. ``docs/model.md`` states the thresholds these must keep; a test re-runs the
backtest against them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..schemas.fitfile import FitError, Window, load_fit
from .calibration import fit_problem
from .fitproblem import prepare_fit
from .posterior import band_check, predictive


def backtest(path: str | Path, until: float, draws: int = 1000) -> dict:
    """Both checks of the module docstring for the fit file ``path``."""
    path = Path(path)
    fit = load_fit(path)
    if fit.posterior is None:
        raise FitError(
            str(path), "posterior", "a backtest needs posterior settings", "add posterior: {}"
        )
    if not fit.window.start < until < fit.window.stop:
        raise FitError(
            str(path),
            "--until",
            f"{until:g} is not inside the window {fit.window.start:g}..{fit.window.stop:g}",
            "choose a year inside the window",
        )
    short = fit.model_copy(update={"window": Window(start=fit.window.start, stop=until)})
    early = fit_problem(prepare_fit(short, path))
    full = prepare_fit(fit, path)
    later = [(s, o) for s, o in full.obs if o.time > until]
    Y, obs = predictive(full, early.posterior.sample, draws, fit.seed, at=later)
    out = {
        "fit": str(path),
        "until": until,
        "band": 0.9,
        "backtest": _summary(band_check(full, Y, obs)),
        "backtest_posterior": {
            "draws": int(early.posterior.sample.shape[0]),
            "converged": early.posterior.converged(),
        },
    }
    if fit.holdout:
        whole = fit_problem(full)
        held = prepare_fit(fit, path, series="holdout")
        Y, obs = predictive(held, whole.posterior.sample, draws, fit.seed)
        out["held_out"] = _summary(band_check(held, Y, obs))
    return out


def _summary(rows: list[dict]) -> dict:
    errors = [abs(r["rel_error"]) for r in rows if r["rel_error"] is not None]
    return {
        "figures": rows,
        "n": len(rows),
        "covered": int(sum(r["inside"] for r in rows)),
        "coverage": float(np.mean([r["inside"] for r in rows])) if rows else None,
        "max_abs_rel_error": float(max(errors)) if errors else None,
    }


def markdown(report: dict) -> str:
    """The figures of both checks as one Markdown table."""
    head = "| check | series | year | figure | predicted median | 90 % band | error | covered |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    checks = [("backtest", f"fit to {report['until']:g}")]
    if "held_out" in report:
        checks.append(("held_out", "held out of the full fit"))
    for key, label in checks:
        for r in report[key]["figures"]:
            sign = {"=": "", ">": "> ", "<": "< "}[r["kind"]]
            err = "-" if r["rel_error"] is None else f"{100 * r['rel_error']:+.1f} %"
            lines.append(
                f"| {label} | {r['indicator']} | {r['year']} | {sign}{r['value']:.4g} | "
                f"{r['median']:.4g} | {r['band'][0]:.4g}–{r['band'][1]:.4g} | {err} | "
                f"{'yes' if r['inside'] else '**no**'} |"
            )
    return "\n".join(lines) + "\n"
