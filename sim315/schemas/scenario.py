"""The scenario file's schema: what a policy modeller changes, never a restatement of the model.

A scenario names a model and states only its changes: parameter overrides (constants or
time tables for policy levers), uncertain parameters with distributions, the ensemble
(runs, seed, sampler) and the integration (method, dt, save period, outputs). ``extends``
inherits another scenario and changes a few things. Reading one (``extends`` resolved, the
model located) is :func:`sim315.ensembles.scenario.load_scenario`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..core.errors import Sim315Error
from .base import Strict
from .distributions import Distribution

#: Most runs an ensemble may have (the run counter of the random generator is 64-bit; the
#: result file's size is checked against the disk before anything is written).
MAX_RUNS = 2**40
#: Largest seed: it is stored as a 64-bit signed attribute of the result file.
MAX_SEED = 2**63 - 1
#: Models shipped inside the package, usable as ``model: NAME``.
PACKAGED_MODELS = ("plan315",)


class ScenarioError(Sim315Error):
    """A scenario file that cannot be used."""


class TimeTable(Strict):
    """A policy lever that changes over time: ``{table: {2023: 0.18, 2025: 0.20}}``."""

    table: dict[float, float] = Field(min_length=1)
    """Time -> value."""
    interpolate: Literal["hold", "linear"] = "hold"
    """``hold``: each value holds until the next listed time; ``linear``: interpolate.
    Before the first and after the last time, the end values hold."""

    @field_validator("table", mode="before")
    @classmethod
    def _numeric_keys(cls, v):
        if isinstance(v, dict):
            out = {}
            for k, val in v.items():
                if isinstance(k, bool) or not isinstance(k, int | float):
                    raise ValueError(f"table times must be numbers, not {k!r}")
                out[float(k)] = val
            return out
        return v

    def points(self) -> tuple[list[float], list[float]]:
        xs = sorted(self.table)
        return xs, [self.table[x] for x in xs]


class Scenario(Strict):
    """A scenario file."""

    model: str
    """The model: a path relative to this file, or a packaged model's name."""
    extends: str | None = None
    """Another scenario file (relative to this one) whose settings this one changes."""
    description: str = ""
    """What the scenario represents."""
    overrides: dict[str, float | TimeTable] = {}
    """Parameter -> constant value, or a time table for a policy lever; each value within
    the parameter's bounds in the model, unless the name is in ``allow_out_of_bounds``."""
    allow_out_of_bounds: list[str] = []
    """Parameters whose overrides may leave the bounds the model declares (a deliberate
    stress test; recorded in the result file with the scenario)."""
    uncertain: dict[str, Distribution] = {}
    """Parameter -> distribution, sampled once per run. An array's name (or ``x[subrange]``)
    stands for each of its elements: independent draws from the same distribution, unless
    it is listed in ``shared_draws``."""
    shared_draws: list[str] = []
    """Arrays (names as in ``uncertain``) whose elements take one draw per run, the same for
    every element, instead of independent draws."""
    correlations: dict[str, float | list[list[float]]] = {}
    """Uncertain arrays (names as in ``uncertain``) whose elements are drawn correlated:
    one coefficient (the same between every pair of elements; above ``-1/(n-1)`` for *n*
    elements, below 1) or a full matrix (rows and columns in the dimension's element order,
    as ``sim315 model show`` lists them; symmetric, 1 on the diagonal, positive definite).
    Drawn with a Gaussian copula: each run's uniform points of the array's elements go to
    normal scores ``z = Φ⁻¹(u)``, are mixed as ``L z`` (``L`` the Cholesky factor of the
    matrix) and go back through ``Φ`` and each element's own ``ppf``, so every element keeps
    its distribution exactly. The coefficients are those of the normal scores: the drawn
    values' Pearson correlation is close but not equal, their Spearman rank correlation is
    ``(6/π)·asin(ρ/2)``. With ``lhs`` or ``sobol``, the correlated columns keep their
    marginals but lose the design's per-column stratification. Not with ``shared_draws``."""
    calibrated: str | None = None
    """A fitted-parameter file (``sim315 calibrate``, relative to this file): its estimates
    set those parameters (``overrides`` and ``uncertain`` still win)."""
    calibrated_draws: bool = False
    """Draw the calibrated parameters per run from the fit's stored posterior sample (run
    *i*'s row is chosen by (seed, i)) instead of taking the estimates; the fit must have
    sampled its posterior (``posterior:`` in the fit file)."""
    start_from_history: bool = False
    """Start each run from the state its own calibrated history run reaches at the end of the
    fit's window (every stock and SMOOTH/DELAY state), instead of the model's initial
    values; needs ``calibrated``. See :mod:`sim315.ensembles.spinup`."""
    runs: int = Field(default=1, ge=1, le=MAX_RUNS)
    """Number of runs in the ensemble."""
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    """Seed of the sampler and of random draws in equations; none: fresh, recorded."""
    sampler: Literal["random", "lhs", "sobol"] = "random"
    """How uncertain parameters are sampled: independent draws, Latin hypercube, Sobol'."""
    method: Literal["euler", "rk2", "rk4"] = "euler"
    """Integration method."""
    dt: float | None = Field(default=None, gt=0)
    """Time step (default: the model's)."""
    save_every: float | None = Field(default=None, gt=0)
    """Save period (default: the model's)."""
    outputs: list[str] | None = None
    """Variables to save (default: the stocks and every output that carries a target)."""
    chunk: int | None = Field(default=None, ge=1)
    """Runs per chunk (memory is bounded by the chunk; default chosen from the model size)."""
    executor: Literal["local", "dask", "cuda"] = "local"
    """Where chunks run: this machine's CPU threads, a Dask cluster, or a CUDA GPU. The same
    numbers either way (``--executor`` overrides)."""
    scheduler: str | None = None
    """The Dask scheduler's address (``tcp://host:8786``; or ``$SIM315_SCHEDULER``)."""
