"""A target: one plain, frozen value, the only type of target past the model file.

The model file's schema (:class:`sim315.schemas.modelfile.Target`) checks a target's shape
in YAML and converts into this type once; the compiled model binds it to its element
(:class:`sim315.language.targets.ModelTarget`), result files save it (:meth:`Target.to_json`)
and every reader reads it back (:meth:`Target.from_json`). No pydantic here: results,
reports and analyses never import the model-file schema. How each kind is measured on an
ensemble is :mod:`sim315.language.targets`.
"""

from __future__ import annotations

import json
import operator
from dataclasses import asdict, dataclass

import numpy as np

#: Relative distance within which a measured value counts as equal to a target's bound.
EQUAL_RTOL = 1e-9

#: How a value is compared with a lower (1) or upper (-1) bound, strictly or not.
_COMPARE = {
    (1, True): operator.gt,
    (1, False): operator.ge,
    (-1, True): operator.lt,
    (-1, False): operator.le,
}

KINDS = ("level", "every_year", "cumulative", "growth")
COMPARES = (">", ">=", "<", "<=", "~", "between")


def _pair(v) -> tuple[float, float]:
    return (float(v[0]), float(v[1]))


@dataclass(frozen=True, kw_only=True)
class Target:
    """A commitment an output is measured against, e.g. "≥ 70 every year 2023–2027".

    The fields are the model file's (see its schema for what each means); constructing one
    checks that they fit together and raises ValueError when they do not."""

    kind: str = "level"
    compare: str
    value: float | tuple[float, float]
    year: float | None = None
    window: tuple[float, float] | None = None
    tolerance: float = 0.1
    overshoot: str | None = None
    count: bool = False
    id: str | None = None
    source: str | None = None

    def __post_init__(self):
        norm = {
            "value": _pair(self.value) if isinstance(self.value, list | tuple) else self.value,
            "year": None if self.year is None else float(self.year),
            "window": None if self.window is None else _pair(self.window),
            "tolerance": float(self.tolerance),
        }
        if not isinstance(norm["value"], tuple):
            norm["value"] = float(norm["value"])
        for name, v in norm.items():
            object.__setattr__(self, name, v)
        self._check()

    def _check(self) -> None:
        if self.kind not in KINDS or self.compare not in COMPARES:
            raise ValueError(f"unknown kind {self.kind!r} or comparison {self.compare!r}")
        if (self.compare == "between") != isinstance(self.value, tuple):
            raise ValueError("'between' takes value: [low, high]; the others take one number")
        if isinstance(self.value, tuple) and self.value[0] > self.value[1]:
            raise ValueError(f"value [{self.value[0]:g}, {self.value[1]:g}] is reversed")
        if self.kind == "level":
            self._check_level()
        else:
            self._check_window()
        if self.compare == "~" and self.overshoot is None:
            raise ValueError(
                "'~' needs overshoot: met (more than the value counts as met) or miss "
                "(only within the tolerance counts)"
            )
        if self.compare not in ("~", "between") and self.overshoot is not None:
            raise ValueError("overshoot applies only to compare: '~' and 'between'")
        if self.count and self.kind == "growth":
            raise ValueError("count: true rounds whole things; a growth rate is not one")

    def _check_level(self) -> None:
        if self.window is not None:
            raise ValueError(
                "a level target takes year:, not window:; for a window give kind: "
                "every_year, cumulative or growth"
            )
        if self.year is None:
            raise ValueError("a level target needs year: (the time it is compared at)")

    def _check_window(self) -> None:
        if self.year is not None:
            raise ValueError(f"a {self.kind} target takes window: [first, last], not year:")
        if self.window is None:
            raise ValueError(f"a {self.kind} target needs window: [first, last], e.g. [2023, 2027]")
        first, last = self.window
        if not (float(first).is_integer() and float(last).is_integer()):
            raise ValueError(f"window [{first:g}, {last:g}] must be whole years")
        if first > last:
            raise ValueError(f"window [{first:g}, {last:g}] is reversed")

    # -- saved form: written and read here only -------------------------------------------

    def to_dict(self, id: str | None = None) -> dict:
        """The definition as saved with results (JSON-able; ``id`` filled in when given)."""
        out = asdict(self)
        for name in ("value", "window"):
            if isinstance(out[name], tuple):
                out[name] = list(out[name])
        if id is not None:
            out["id"] = id
        return out

    def to_json(self, id: str | None = None) -> str:
        """:meth:`to_dict` as the text saved in result files."""
        return json.dumps(self.to_dict(id))

    @classmethod
    def from_json(cls, raw: str | bytes | dict) -> Target:
        """A target from its saved JSON (files from before ``overshoot`` read '~' as 'miss')."""
        data = json.loads(raw) if isinstance(raw, str | bytes) else dict(raw)
        if data.get("compare") == "~" and data.get("overshoot") is None:
            data["overshoot"] = "miss"
        return cls(**data)

    # -- what it asks -----------------------------------------------------------------------

    @property
    def first_year(self) -> float:
        """The first year measured (``year`` for a level target)."""
        return self.year if self.window is None else self.window[0]

    @property
    def last_year(self) -> float:
        """The last year measured (``year`` for a level target)."""
        return self.year if self.window is None else self.window[1]

    def years_needed(self) -> list[float]:
        """The times at which the output must be saved to measure the target."""
        if self.kind == "level":
            return [self.year]
        first, last = int(self.window[0]), int(self.window[1])
        if self.kind == "every_year":
            return [float(y) for y in range(first - 1, last + 1)]
        return [float(first - 1), float(last)]

    def met(self, x):
        """Elementwise: does the measured value ``x`` meet the comparison? (NaN never does.)

        A value within :data:`EQUAL_RTOL` (relative) of a bound counts as equal to it: a
        target met exactly (a realised growth of 0.17999999999999994 against ``>= 0.18``, the
        lever's own 18 %) must not be decided by floating-point rounding. ``count`` rounding
        is applied by :func:`sim315.language.targets.measure`, not here."""
        x = np.asarray(x, dtype=float)
        out = None
        with np.errstate(invalid="ignore"):
            for side, bound in zip((1, -1), self.bounds(), strict=True):
                if bound is None:
                    continue
                at, strict = bound
                ok = _COMPARE[side, strict](x, at)
                out = ok if out is None else out & ok
        return out

    def bounds(self) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
        """What :meth:`met` compares with: ``(lower, upper)``, each None (no such bound) or
        ``(at, strict)``: a met value is above (``strict``) or at least ``at``, and below or
        at most it. Each ``at`` is the target's bound moved by :data:`EQUAL_RTOL` of itself,
        so that a value equal to the bound to rounding counts as equal."""
        v = self.value

        def lowered(bound):  # x >= lowered(b): x at least b, to rounding
            return bound - EQUAL_RTOL * abs(bound)

        def raised(bound):  # x <= raised(b): x at most b, to rounding
            return bound + EQUAL_RTOL * abs(bound)

        upper_too = self.overshoot != "met"
        if self.compare == ">":
            return (raised(v), True), None
        if self.compare == ">=":
            return (lowered(v), False), None
        if self.compare == "<":
            return None, (lowered(v), True)
        if self.compare == "<=":
            return None, (raised(v), False)
        if self.compare == "~":
            low, high = v - self.tolerance * abs(v), v + self.tolerance * abs(v)
            return (lowered(low), False), (raised(high), False) if upper_too else None
        return (lowered(v[0]), False), (raised(v[1]), False) if upper_too else None

    def describe(self) -> str:
        """E.g. ``≥ 70 every year 2023–2027``, ``≈ 8 (±25 %, more counts as met) in 2027``."""
        growth = self.kind == "growth"

        def num(v: float) -> str:
            if growth:
                return f"{100 * v:.4g} %/yr"
            return f"{v:,.0f}" if float(v).is_integer() and abs(v) >= 1e4 else f"{v:g}"

        if self.compare == "between":
            lo, hi = self.value
            head = f"{100 * lo:.4g}–{num(hi)}" if growth else f"{num(lo)}–{num(hi)}"
            if self.overshoot == "met":
                head += " (more counts as met)"
        elif self.compare == "~":
            rule = ", more counts as met" if self.overshoot == "met" else ""
            head = f"≈ {num(self.value)} (±{100 * self.tolerance:.3g} %{rule})"
        else:
            sign = {">=": "≥", "<=": "≤"}.get(self.compare, self.compare)
            head = f"{sign} {num(self.value)}"
        if self.kind == "level":
            return f"{head} in {self.year:g}"
        span = f"{self.window[0]:g}–{self.window[1]:g}"
        what = {"every_year": "every year", "cumulative": "cumulative"}.get(
            self.kind, "realised growth"
        )
        return f"{head} {what} {span}"
