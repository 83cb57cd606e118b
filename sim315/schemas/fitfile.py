"""Fit files: what ``sim315 calibrate`` fits, to which data, how (pydantic, strict)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..core.errors import Sim315Error
from .base import Strict
from .validation import load_validated


class FitError(Sim315Error):
    """A fit file that cannot be used."""


class Window(Strict):
    """The simulated period; only observations inside it are fitted."""

    start: float
    """First simulated time (initial values are those of this time: set them in ``fixed``)."""
    stop: float
    """Last simulated and fitted time (later data are kept for out-of-sample checks)."""

    @model_validator(mode="after")
    def _order(self):
        if not self.start < self.stop:
            raise ValueError(f"start ({self.start}) must be before stop ({self.stop})")
        return self


class FreeParameter(Strict):
    """A parameter the fit estimates."""

    low: float
    """Lower bound."""
    high: float
    """Upper bound, above ``low``."""
    start: float | None = None
    """A starting value (one of the starts); default: the model's value."""
    transfer: bool = True
    """Carry the estimate into scenarios that use the result; false for quantities of the
    fit's window only (an initial value at ``window.start``)."""

    @model_validator(mode="after")
    def _order(self):
        if not self.low < self.high:
            raise ValueError(f"bounds [{self.low}, {self.high}] are reversed or empty")
        if self.start is not None and not self.low <= self.start <= self.high:
            raise ValueError(f"start {self.start} lies outside [{self.low}, {self.high}]")
        return self


class Series(Strict):
    """A data series (indicator in the data file) compared with a model output."""

    indicator: str
    """The data file's indicator."""
    output: str
    """The model output it measures."""
    scale: float = 1.0
    """Data value x scale = model units (e.g. 0.1 for 亿元 -> billion yuan)."""
    weight: float = Field(default=1.0, gt=0)
    """Weight of its residuals."""
    scope: str = "city"
    """Rows of this scope only."""
    exclude: list[str] = []
    """Rows whose year text starts with one of these are left out (with the reason in a
    comment of the fit file)."""
    rel_error: float = Field(default=0.05, gt=0, allow_inf_nan=False)
    """Observation error of its figures, a relative standard deviation (the posterior's
    observation model: rounding, snapshot dates, revisions; state why in a comment)."""


class PosteriorSettings(Strict):
    """Posterior sampling after the fit (emcee ensemble sampler, see
    :mod:`sim315.analysis.posterior`)."""

    walkers: int = Field(default=32, ge=4)
    """Walkers (at least twice the free parameters plus two are used)."""
    steps: int = Field(default=3000, ge=10)
    """Steps of every walker."""
    burn: int = Field(default=1000, ge=0)
    """Steps discarded at the start."""
    thin: int = Field(default=10, ge=1)
    """Keep every thin-th step after the burn-in."""
    check_draws: int = Field(default=1000, ge=10)
    """Posterior draws simulated for the posterior predictive check."""

    @model_validator(mode="after")
    def _burn(self):
        if self.burn >= self.steps:
            raise ValueError(f"burn ({self.burn}) must be below steps ({self.steps})")
        return self


class FitFile(Strict):
    """A fit file."""

    scenario: str
    """The scenario (relative to this file) giving the model and its levers; its
    ``uncertain`` section is ignored."""
    data: str
    """The history CSV (relative to this file)."""
    window: Window
    """Simulated period and fitted observations."""
    fixed: dict[str, float] = {}
    """Parameter values for the fit (initial values of ``window.start``, historical levers)."""
    free: dict[str, FreeParameter] = Field(min_length=1)
    """Parameters to estimate."""
    series: list[Series] = Field(min_length=1)
    """Data series and the outputs they measure."""
    holdout: list[Series] = []
    """Series compared with the model but never fitted (``sim315 backtest`` checks them):
    their figures in the window that the fit does not use."""
    method: Literal["least_squares", "differential_evolution"] = "least_squares"
    """Multi-start bounded least squares, or differential evolution then least squares."""
    starts: int = Field(default=5, ge=1)
    """Starting points (Latin hypercube in the bounds, plus the given starts)."""
    seed: int = Field(default=0, ge=0)
    """Seed of the starting points and of differential evolution."""
    posterior: PosteriorSettings | None = None
    """Sample the posterior after the fit; scenarios with ``calibrated_draws`` draw from it."""


def load_fit(path: str | Path) -> FitFile:
    """Read and shape-check a fit file."""
    return load_validated(path, FitFile, FitError, _fields_at, "fit file")[0]


def _fields_at(loc: tuple) -> set[str]:
    if not loc:
        return set(FitFile.model_fields)
    kinds = {
        "window": Window,
        "free": FreeParameter,
        "series": Series,
        "holdout": Series,
        "posterior": PosteriorSettings,
    }
    cls = kinds.get(loc[0])
    return set(cls.model_fields) if cls else set()
