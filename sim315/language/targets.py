"""Measuring targets on an ensemble: one (runs, times) array of an output -> per-run values.

A target (:class:`sim315.schemas.target.Target`, the one target value type) measures, per
run, one number from the output's saved values ``x`` and compares it:

- ``level``: ``x(year)``;
- ``every_year``: the additions ``a_y = x(y) - x(y-1)`` for each year ``y`` of the window;
  the run meets the target when every year's addition does; its measured value is its
  worst year's addition (the lowest for ``>``/``>=``, the highest for ``<``/``<=``, the
  farthest outside for ``~`` and ``between``);
- ``cumulative``: ``x(last) - x(first-1)``;
- ``growth``: ``(x(last) / x(first-1)) ** (1 / (last - first + 1)) - 1`` (NaN unless both
  are positive).

With ``count: true`` the measured value (each year's addition for ``every_year``) is rounded
to the nearest whole number, ``floor(x + 0.5)``, before comparing, so that 1.9999999999 and
2.000000001 both count as 2 whatever the integration method. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..schemas.target import Target


@dataclass(frozen=True)
class ModelTarget:
    """A target bound to the model element (output) it measures; ``ir.targets[id]``."""

    id: str
    element: str
    spec: Target

    @property
    def year(self) -> float:
        """The last year measured (the year of a level target, else the window's end)."""
        return self.spec.last_year

    def info(self) -> dict:
        """The definition as saved with the output (JSON-able, ``id`` filled in)."""
        return self.spec.to_dict(self.id)


@dataclass(frozen=True)
class Measure:
    """A target measured on every run."""

    value: np.ndarray
    """(runs,) the measured value (rounded for counts; every_year: the worst addition)."""
    met: np.ndarray
    """(runs,) bool: the run meets the target (NaN never does)."""
    years: np.ndarray | None = None
    """every_year: the window's years."""
    additions: np.ndarray | None = None
    """every_year: (runs, years) each year's addition (rounded for counts)."""


def time_index(times: np.ndarray, year: float) -> int | None:
    """The index of the saved time equal to ``year`` (to rounding), or None."""
    times = np.asarray(times, dtype=float)
    if times.size == 0:
        return None
    k = int(np.argmin(np.abs(times - year)))
    return k if abs(times[k] - year) <= 1e-9 * max(1.0, abs(year)) else None


def missing_years(target: Target, times: np.ndarray) -> list[float]:
    """The years the target needs that are not saved times."""
    return [y for y in target.years_needed() if time_index(times, y) is None]


def _column(x: np.ndarray, times: np.ndarray, year: float, target: Target) -> np.ndarray:
    k = time_index(times, year)
    if k is None:
        raise ValueError(f"target {target.describe()!r} needs time {year:g}, which is not saved")
    return x[:, k]


def _round(v: np.ndarray, target: Target) -> np.ndarray:
    return np.floor(v + 0.5) if target.count else v


def badness(target: Target, a: np.ndarray) -> np.ndarray:
    """Larger is further from meeting the target (NaN is worst): orders the years."""
    v = target.value
    with np.errstate(invalid="ignore"):
        if target.compare in (">", ">=") or target.overshoot == "met":
            b = -a
        elif target.compare in ("<", "<="):
            b = a
        elif target.compare == "~":
            b = np.abs(a - v)
        else:
            b = np.maximum(v[0] - a, a - v[1])
    return np.where(np.isnan(b), np.inf, b)


def measure(target: Target, x: np.ndarray, times: np.ndarray) -> Measure:
    """Measure ``target`` on ``x`` (runs, times) saved at ``times``."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    kind = target.kind
    if kind == "level":
        value = _round(_column(x, times, target.year, target), target)
        return Measure(value, target.met(value))
    first, last = int(target.window[0]), int(target.window[1])
    start = _column(x, times, first - 1, target)
    end = _column(x, times, last, target)
    if kind == "cumulative":
        value = _round(end - start, target)
        return Measure(value, target.met(value))
    if kind == "growth":
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = (start > 0) & (end > 0)
            ratio = np.where(ok, end / np.where(ok, start, 1.0), np.nan)
            value = ratio ** (1.0 / (last - first + 1)) - 1.0
        return Measure(value, target.met(value))
    years = np.arange(first, last + 1, dtype=float)
    levels = np.stack([_column(x, times, y, target) for y in range(first - 1, last + 1)], axis=1)
    additions = _round(np.diff(levels, axis=1), target)
    worst = np.argmax(badness(target, additions), axis=1)
    value = additions[np.arange(additions.shape[0]), worst]
    met = target.met(additions).all(axis=1)
    return Measure(value, met, years, additions)


def worst_year(target: Target, m: Measure, ok: np.ndarray | None = None) -> float:
    """every_year: the year whose median addition (over the ``ok`` runs) is worst; else NaN."""
    if m.additions is None:
        return float("nan")
    a = m.additions if ok is None else m.additions[ok]
    if a.shape[0] == 0:
        return float("nan")
    med = np.median(a, axis=0)  # NaN where a finished run has NaN: then that year is worst
    return float(m.years[int(np.argmax(badness(target, med)))])
