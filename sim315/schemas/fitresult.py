"""The fitted-parameter file that ``sim315 calibrate`` writes and scenarios read.

What scenarios use is typed strictly: the fit it came from, each free parameter's estimate and
whether it transfers, and where the posterior sample is. The diagnostics beside them (fit
statistics per series, the starting points, the posterior's convergence figures and predictive
check) are recorded for people and typed loosely. NaN and inf are accepted as values: an
interval can be unbounded, and a NaN estimate is refused with its own message where scenarios
read it (:func:`sim315.ensembles.calibrated.read_calibrated`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from .base import Strict, fields_of


class _Loose(Strict):
    model_config = ConfigDict(allow_inf_nan=True)  # see the module docstring


class Window(_Loose):
    start: float
    """First time of the fit's window."""
    stop: float
    """Last time of the fit's window."""


class FittedParameter(_Loose):
    estimate: float
    """The point estimate."""
    ci95: list[float] | None = None
    """95 % interval ``[low, high]``."""
    se: float | None = None
    """Standard error."""
    interval: str | None = None
    """How the interval was found: ``jacobian`` or ``profile``."""
    bounds: list[float] | None = None
    """The fit's bounds ``[low, high]``."""
    transfer: bool = True
    """Whether scenarios take this estimate (else it belongs to the fit's window)."""


class Covariance(_Loose):
    names: list[str]
    """Rows and columns of ``matrix``."""
    matrix: list[list[float]]
    """The estimates' covariance."""


class PosteriorRecord(_Loose):
    sample: str
    """The posterior sample (CSV), relative to this file."""
    draws: int | None = None
    """Rows of the sample."""
    sampler: str | None = None
    """How it was drawn."""
    walkers: int | None = None
    """Ensemble walkers."""
    steps: int | None = None
    """Steps per walker."""
    burn: int | None = None
    """Steps discarded at the start."""
    thin: int | None = None
    """Every how many steps a draw is kept."""
    acceptance: float | None = None
    """Mean acceptance rate."""
    seconds: float | None = None
    """Time taken."""
    observation_model: str | None = None
    """The likelihood, in words."""
    parameters: dict[str, dict[str, Any]] = {}
    """Per parameter: median, 90 % interval, R-hat, ESS, autocorrelation, identifiable."""
    converged: bool | None = None
    """Whether every chain diagnostic passed."""
    predictive_check: dict[str, Any] | None = None
    """The share of observations inside the posterior predictive band, figure by figure."""


class FitResultFile(_Loose):
    fit: str
    """The fit file, relative to this file."""
    parameters: dict[str, FittedParameter]
    """The free parameters, by name."""
    method: str | None = None
    """The optimiser."""
    window: Window | None = None
    """The fit's window."""
    observations: int | None = None
    """Point observations fitted."""
    cost: float | None = None
    """The objective at the estimate."""
    evaluations: int | None = None
    """Model runs taken."""
    seconds: float | None = None
    """Time taken."""
    covariance: Covariance | None = None
    """Covariance of the estimates."""
    series: dict[str, dict[str, Any]] = {}
    """Fit statistics per series (MAPE, R^2, Theil's decomposition)."""
    starts: list[dict[str, Any]] = []
    """Each starting point's estimate and cost."""
    starts_agree: bool | None = None
    """Whether the starting points reached the same cost."""
    warnings: list[str] = []
    """What the fit could not settle."""
    posterior: PosteriorRecord | None = None
    """The posterior sample, when the fit drew one."""


def fields_at(loc: tuple) -> set[str]:
    """The valid field names at ``loc`` of a fit-result file (for 'did you mean')."""
    if not loc:
        return fields_of(FitResultFile)
    if loc[0] == "parameters" and len(loc) >= 2:
        return fields_of(FittedParameter)
    if loc[0] == "posterior":
        return fields_of(PosteriorRecord)
    return set()
