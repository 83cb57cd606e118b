"""Sweep files: which factors to vary, how, and what to measure (pydantic, strict)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..core.errors import Sim315Error
from .base import Strict, fields_of
from .distributions import Distribution
from .validation import load_validated


class SweepError(Sim315Error):
    """A sweep file that cannot be used."""


class Range(Strict):
    """A factor varied uniformly over [low, high], or over given values (grids)."""

    low: float | None = None
    """Lower end."""
    high: float | None = None
    """Upper end."""
    values: list[float] | None = None
    """Explicit levels (one-at-a-time and factorial grids only)."""

    @model_validator(mode="after")
    def _check(self):
        if self.values is None:
            if self.low is None or self.high is None:
                raise ValueError("give low and high, or values")
            if not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        elif not self.values:
            raise ValueError("values must not be empty")
        return self


class SweepFile(Strict):
    """A sweep file."""

    scenario: str
    """The base scenario (relative to this file): model, overrides, calibration. Its
    ``uncertain`` parameters and calibrated draws are held at their base values."""
    method: Literal["sobol", "morris", "oat", "factorial"] = "sobol"
    """Sobol' indices (Saltelli design, Jansen estimators), Morris elementary effects, a
    one-at-a-time grid, or a full-factorial grid."""
    n: int = Field(default=1024, ge=2)
    """Sobol': base sample size N (N (D + 2) runs); Morris: trajectories (r (D + 1) runs);
    grids: levels per factor given as a range."""
    seed: int = Field(default=0, ge=0)
    """Seed of the design."""
    factors: dict[str, Range | Distribution] = Field(min_length=1)
    """Parameter -> range (uniform) or distribution."""
    outputs: list[str] | None = None
    """Outputs of interest (default: every output carrying a target)."""
    years: list[float] | None = Field(default=None, min_length=1)
    """Times of interest (default: each whole year from the start to the last target year)."""
    bootstrap: int = Field(default=200, ge=10)
    """Bootstrap resamples for the indices' 95 % intervals."""
    levels: int = Field(default=4, ge=2)
    """Morris grid levels."""


def load_sweep(path: str | Path) -> SweepFile:
    """Read and shape-check a sweep file."""
    return load_validated(path, SweepFile, SweepError, _fields_at, "sweep file")[0]


def _fields_at(loc: tuple) -> set[str]:
    if not loc:
        return set(SweepFile.model_fields)
    if loc[0] == "factors" and len(loc) >= 2:
        from . import distributions as d

        return fields_of(Range, d.Distribution)
    return set()
