"""Every target of a run's outputs measured a chunk at a time, in one Numba pass
(:func:`sim315.kernels.measures.measure_chunk`): the values and verdicts of
:func:`sim315.language.targets.measure` bit for bit (tested against it), for the streaming
summary, which measures each chunk as it comes (one Python call per target per chunk cost
more than storing the chunk)."""

from __future__ import annotations

import numpy as np

from ..kernels import measures as km
from ..schemas.target import Target

_KINDS = {
    "level": km.LEVEL,
    "cumulative": km.CUMULATIVE,
    "growth": km.GROWTH,
    "every_year": km.EVERY_YEAR,
}


def _bound(b) -> tuple[float, int]:
    if b is None:
        return np.nan, km.NO_BOUND
    return b[0], km.STRICT if b[1] else km.AT_LEAST


def _worst(t: Target) -> int:
    """How :func:`sim315.language.targets.badness` ranks an every_year target's years."""
    if t.compare in (">", ">=") or t.overshoot == "met":
        return km.LOWEST
    if t.compare in ("<", "<="):
        return km.HIGHEST
    return km.FARTHEST if t.compare == "~" else km.OUTSIDE


class TargetMeasures:
    """Targets ``(output index, Target, time columns, first column)`` of a summary: their
    measures of a chunk (:meth:`of`): ``E[:, at]`` the measured value, an every_year target's
    additions after it; ``met[:, k]`` whether each run met target ``k``."""

    def __init__(self, targets: list[tuple[int, Target, list[int], int]], width: int):
        self.targets = targets
        self.width = int(width)
        n = len(targets)
        self.spec = np.zeros((n, 8), np.int64)
        self.bounds = np.zeros((2, n))
        self.centre = np.zeros((n, 2))
        self.columns = np.zeros((n, max([len(c) for _, _, c, _ in targets], default=1)), np.int64)
        for k, (m, t, cols, at) in enumerate(targets):
            (lo, lk), (hi, uk) = (_bound(b) for b in t.bounds())
            self.bounds[:, k] = lo, hi
            self.centre[k] = t.value if isinstance(t.value, tuple) else (t.value, t.value)
            self.columns[k, : len(cols)] = cols
            self.spec[k] = m, _KINDS[t.kind], t.count, lk, uk, _worst(t), len(cols), at
        # a target whose years are not all saved is refused when measured, as measure() does
        self.unsaved = [t for _, t, cols, _ in targets if len(cols) != len(t.years_needed())]
        self.growth = [
            (k, t, at, 1.0 / (int(t.window[1]) - int(t.window[0]) + 1))
            for k, (_, t, _, at) in enumerate(targets)
            if t.kind == "growth"
        ]

    def of(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(E, met)`` of a chunk's ``values`` (runs, times, outputs)."""
        if self.unsaved:
            t = self.unsaved[0]
            raise ValueError(f"target {t.describe()!r} needs times that are not saved")
        n = values.shape[0]
        E = np.empty((n, self.width))
        met = np.empty((n, len(self.targets)), np.bool_)
        if self.targets:
            km.measure_chunk(values, self.spec, *self.bounds, self.centre, self.columns, E, met)
        for k, t, at, power in self.growth:  # numpy's power, as measure() takes it
            with np.errstate(invalid="ignore", divide="ignore"):
                E[:, at] = E[:, at] ** power - 1.0
            met[:, k] = t.met(E[:, at])
        return E, met
