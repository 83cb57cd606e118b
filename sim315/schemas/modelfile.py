"""The model file schema: what a stock-and-flow model file may contain.

A model file is YAML. Pydantic checks its shape (fields, types); :mod:`sim315.compilation.compiler`
checks its meaning (names, units, loops). Numbers that a scenario may vary (parameter
values, numeric initial values, lookup points) are inputs of the compiled kernel, not
constants baked into it, so changing them never recompiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..core.errors import ModelError, suggest
from ..core.yamlio import line_of, read_yaml
from .base import Strict

Equation = Annotated[str, Field(min_length=1)]


def _units_text(value):
    """``units: 1`` in YAML is a number; units are text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Units = Annotated[str, BeforeValidator(_units_text)]


def _pair(value):
    """YAML has no tuples: ``bounds: [0, 1]`` reads as a list."""
    return tuple(value) if isinstance(value, list) else value


Bounds = Annotated[tuple[float | None, float | None], BeforeValidator(_pair)]
Pair = Annotated[tuple[float, float], BeforeValidator(_pair)]


class _Strict(Strict):
    # Model files have always accepted inf and NaN constants (imported Vensim models use
    # them); refusing them is a behaviour change for its own issue, not a refactoring.
    model_config = ConfigDict(allow_inf_nan=True)


def _as_text(value):
    """Equations may be written as bare numbers in YAML; keep them as text."""
    if isinstance(value, bool):
        raise ValueError("an equation must be a number or an expression, not true/false")
    if isinstance(value, int | float):
        return repr(value)
    return value


class TimeSpec(_Strict):
    """The simulation clock."""

    start: float
    """Initial time, in ``units``."""
    stop: float
    """Final time, in ``units``; must be after ``start``."""
    dt: float = Field(gt=0)
    """Integration time step; must divide ``stop - start`` into whole steps."""
    save_every: float | None = Field(default=None, gt=0)
    """Save period, a whole multiple of ``dt``; defaults to ``dt``."""
    units: Units = "year"
    """The time unit; flows are stock units per this unit."""


#: Relative distance within which a measured value counts as equal to a target's bound.
EQUAL_RTOL = 1e-9


class Target(_Strict):
    """A commitment an output is measured against, e.g. "≥ 70 every year 2023–2027".

    See :mod:`sim315.language.targets` for how each kind is measured on an ensemble."""

    kind: Literal["level", "every_year", "cumulative", "growth"] = "level"
    """What is measured: ``level`` (the value at ``year``), ``every_year`` (each year's
    addition ``x(y) - x(y-1)`` for every year of ``window``), ``cumulative`` (the addition
    over the window, ``x(last) - x(first-1)``) or ``growth`` (the realised average growth
    ``(x(last)/x(first-1))**(1/years) - 1``, a fraction: 0.18 is 18 % a year)."""
    compare: Literal[">", ">=", "<", "<=", "~", "between"]
    """How the measured value meets the target: above, at least, below, at most, about
    (within ``tolerance``, see ``overshoot``), or within ``[low, high]`` (``between``)."""
    value: float | Pair
    """The target value, or ``[low, high]`` for ``between``."""
    year: float | None = None
    """``level`` only: the time at which the output is compared (must be a saved time)."""
    window: Pair | None = None
    """``every_year``, ``cumulative``, ``growth``: ``[first, last]``, whole years; the
    output is read at ``first - 1`` (the start of the first year) and at the later years."""
    tolerance: float = Field(default=0.1, gt=0)
    """Relative tolerance of ``~`` (about)."""
    overshoot: Literal["met", "miss"] | None = None
    """Required for ``~``: ``met`` when more than the value counts as met (``x >= value -
    tolerance * |value|``), ``miss`` when only ``|x - value| <= tolerance * |value|`` does.
    Optional for ``between`` (default ``miss``): ``met`` counts above the range as met."""
    count: bool = False
    """Whole things (platforms, labs, projects): the measured value is rounded to the
    nearest whole number (``floor(x + 0.5)``) before it is compared."""
    id: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    """The row label in result files and tables (default: the element's name); unique
    across the model."""
    source: str | None = None
    """Where the target comes from (e.g. the plan's section)."""

    @model_validator(mode="after")
    def _shape(self):
        if (self.compare == "between") != isinstance(self.value, tuple):
            raise ValueError("'between' takes value: [low, high]; the others take one number")
        if isinstance(self.value, tuple) and self.value[0] > self.value[1]:
            raise ValueError(f"value [{self.value[0]:g}, {self.value[1]:g}] is reversed")
        if self.kind == "level":
            if self.window is not None:
                raise ValueError(
                    "a level target takes year:, not window:; for a window give kind: "
                    "every_year, cumulative or growth"
                )
            if self.year is None:
                raise ValueError("a level target needs year: (the time it is compared at)")
        else:
            if self.year is not None:
                raise ValueError(f"a {self.kind} target takes window: [first, last], not year:")
            if self.window is None:
                raise ValueError(
                    f"a {self.kind} target needs window: [first, last], e.g. [2023, 2027]"
                )
            first, last = self.window
            if not (float(first).is_integer() and float(last).is_integer()):
                raise ValueError(f"window [{first:g}, {last:g}] must be whole years")
            if first > last:
                raise ValueError(f"window [{first:g}, {last:g}] is reversed")
        if self.compare == "~" and self.overshoot is None:
            raise ValueError(
                "'~' needs overshoot: met (more than the value counts as met) or miss "
                "(only within the tolerance counts)"
            )
        if self.compare not in ("~", "between") and self.overshoot is not None:
            raise ValueError("overshoot applies only to compare: '~' and 'between'")
        if self.count and self.kind == "growth":
            raise ValueError("count: true rounds whole things; a growth rate is not one")
        return self

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
        import numpy as np

        x = np.asarray(x, dtype=float)
        v = self.value

        def ge(bound):
            return x >= bound - EQUAL_RTOL * abs(bound)

        def le(bound):
            return x <= bound + EQUAL_RTOL * abs(bound)

        with np.errstate(invalid="ignore"):
            if self.compare == ">":
                return ~le(v) & ~np.isnan(x)
            if self.compare == ">=":
                return ge(v)
            if self.compare == "<":
                return ~ge(v) & ~np.isnan(x)
            if self.compare == "<=":
                return le(v)
            if self.compare == "~":
                if self.overshoot == "met":
                    return ge(v - self.tolerance * abs(v))
                return ge(v - self.tolerance * abs(v)) & le(v + self.tolerance * abs(v))
            if self.overshoot == "met":
                return ge(v[0])
            return ge(v[0]) & le(v[1])

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


class Parameter(_Strict):
    """A constant input of the model, varied by scenarios and Monte Carlo."""

    value: float
    """Default value."""
    units: Units = "1"
    """Units, e.g. ``firms/year``; ``1`` for dimensionless."""
    bounds: Bounds | None = None
    """Plausible range ``[low, high]`` (``null`` for open); the value must lie inside."""
    doc: str = ""
    """What the parameter means."""
    source: str | None = None
    """Where the value comes from: a data row, a document, or 'assumed' and why."""


class Stock(_Strict):
    """A level that accumulates its inflows minus its outflows."""

    initial: float | str
    """Initial value: a number (then a kernel input named ``<stock>.init``) or an equation."""
    units: Units
    """Units of the level."""
    inflows: list[str] = []
    """Flows that fill the stock."""
    outflows: list[str] = []
    """Flows that drain the stock."""
    doc: str = ""
    """What the stock means."""
    source: str | None = None
    """Where a numeric initial value comes from."""
    non_negative: bool = False
    """Floor the stock at zero after every step (flows are not rescaled)."""
    group: str | None = None
    """A label for reports: stocks of one group are drawn on one figure."""
    target: Target | None = None
    """A target the stock is measured against; runs report P(target met)."""

    @field_validator("initial", mode="before")
    @classmethod
    def _no_bool(cls, v):
        if isinstance(v, bool):
            raise ValueError("an initial value must be a number or an expression")
        return v


class Flow(_Strict):
    """A rate that moves material into or out of stocks."""

    equation: Equation
    """Expression for the rate, in stock units per time unit."""
    units: Units
    """Units: the stock's units per time unit."""
    doc: str = ""
    """What the flow means."""
    target: Target | None = None
    """A target the flow is measured against."""

    _text = field_validator("equation", mode="before")(_as_text)


class Auxiliary(_Strict):
    """An algebraic variable computed from others at each time."""

    equation: Equation
    """Expression for the value."""
    units: Units = "1"
    """Units of the value."""
    doc: str = ""
    """What the variable means."""
    target: Target | None = None
    """A target the variable is measured against; runs report P(target met)."""

    _text = field_validator("equation", mode="before")(_as_text)


class Lookup(_Strict):
    """A graphical function: linear interpolation between points, ends held."""

    x: list[float] = Field(min_length=1)
    """Input points, strictly increasing."""
    y: list[float] = Field(min_length=1)
    """Output points, as many as ``x``."""
    x_units: Units = "1"
    """Units of the input."""
    y_units: Units = "1"
    """Units of the output."""
    doc: str = ""
    """What the table means."""
    source: str | None = None
    """Where the points come from."""


class ModelFile(_Strict):
    """A whole model file."""

    name: str
    """Short name of the model."""
    doc: str = ""
    """What the model is for."""
    time: TimeSpec
    """The simulation clock."""
    parameters: dict[str, Parameter] = {}
    """Constants, by name."""
    stocks: dict[str, Stock]
    """Stocks, by name."""
    flows: dict[str, Flow] = {}
    """Flows, by name."""
    auxiliaries: dict[str, Auxiliary] = {}
    """Auxiliary variables, by name."""
    lookups: dict[str, Lookup] = {}
    """Graphical functions, by name, used as ``lookup(name, x)``."""
    names: dict[str, str] = {}
    """Original names of imported elements (Vensim/XMILE), by their sim315 identifier: the
    headers of ``model simulate``'s table, and accepted by ``--outputs``; written by
    ``sim315 import``, so it round-trips."""


_KNOWN_FIELDS = {
    cls: set(cls.model_fields)
    for cls in (TimeSpec, Parameter, Stock, Flow, Auxiliary, Lookup, ModelFile, Target)
}


def _fields_at(loc: tuple) -> set[str]:
    """The valid field names for the object at ``loc`` (for 'did you mean')."""
    if not loc:
        return _KNOWN_FIELDS[ModelFile]
    kinds = {
        "parameters": Parameter,
        "stocks": Stock,
        "flows": Flow,
        "auxiliaries": Auxiliary,
        "lookups": Lookup,
    }
    if loc[0] == "time":
        return _KNOWN_FIELDS[TimeSpec]
    if len(loc) >= 3 and loc[2] == "target":
        return _KNOWN_FIELDS[Target]
    if loc[0] in kinds and len(loc) >= 2:
        return _KNOWN_FIELDS[kinds[loc[0]]]
    return set()


def _is_type_tag(part: str) -> bool:
    return part[:1].isupper() or part in ("float", "int", "str", "bool", "none") or "[" in part


def _clean_loc(raw, loc: tuple) -> tuple:
    """Drop the union-branch tags pydantic inserts in locations ('float', 'uniform', ...)."""
    out = []
    node = raw
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part in node.values():
            continue  # the tag of a discriminated union (e.g. dist: uniform)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and _is_type_tag(part) and isinstance(node, dict):
            continue  # a union branch named after its type ('float', 'TimeTable')
        elif last or not isinstance(part, str):
            out.append(part)
            node = None
        elif isinstance(node, dict) and loc[i + 1] in node:
            continue  # a branch tag before a real key
        elif node is None or not isinstance(node, dict):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def validation_error(exc: ValidationError, raw, source: str, error_cls=ModelError, fields_at=None):
    """Turn pydantic's first error into a one-line :class:`Sim315Error`.

    ``fields_at(loc)`` gives the valid field names at a location, for 'did you mean'.
    """
    fields_at = fields_at or _fields_at
    errors = exc.errors()
    err = errors[0]
    # a value that fails every branch of a union (number | table) gets one error per branch;
    # the deepest one about the same element is the specific one
    same = [e for e in errors if tuple(e["loc"][:2]) == tuple(err["loc"][:2])]
    err = max(same, key=lambda e: len(e["loc"]))
    loc = _clean_loc(raw, tuple(err["loc"]))
    where = ".".join(str(p) for p in loc)
    line = line_of(raw, loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        parent, name = loc[:-1], str(loc[-1])
        hint = suggest(name, fields_at(parent))
        return error_cls(source, where, f"unknown field '{name}'", hint, line)
    if kind == "union_tag_not_found":
        tags = err.get("ctx", {}).get("discriminator", "")
        return error_cls(source, where, f"missing {tags}", "say which, e.g. dist: uniform", line)
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag = str(ctx.get("tag", ""))
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        return error_cls(source, where, f"unknown kind '{tag}'", suggest(tag, expected), line)
    if kind == "missing":
        return error_cls(source, where, "required field is missing", "add it", line)
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    if isinstance(got, dict | list) or kind == "value_error":
        return error_cls(source, where, msg, None, line)
    shown = repr(got)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    fix = None
    if kind == "float_type" and isinstance(got, str) and _is_number(got):
        fix = f"YAML reads {got} as text; write it with a decimal point, e.g. {float(got)!r}"
    return error_cls(source, where, f"{msg} (got {shown})", fix, line)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_validated(path: str | Path, schema, error_cls, fields_at, what: str):
    """Read a YAML mapping and validate it against ``schema``; one-line errors.

    Returns the validated object and the raw tree (for line numbers)."""
    source = str(path)
    raw = read_yaml(path, what=what)
    if raw is None:
        raise error_cls(source, "", f"the {what} is empty", "see the documentation")
    if not isinstance(raw, dict):
        raise error_cls(source, "", f"a {what} must be a YAML mapping", "see the documentation")
    try:
        return schema.model_validate(raw), raw
    except ValidationError as exc:
        raise validation_error(exc, raw, source, error_cls, fields_at) from None


def load_yaml_model(path: str | Path) -> tuple[ModelFile, object]:
    """Read and shape-check a YAML model file (or a packaged model by name, ``plan315``);
    returns the model and the raw YAML tree. Vensim/XMILE files go through
    :func:`sim315.imports.loading.load_model_file`."""
    from ..core.packaged import model_file

    return load_validated(model_file(path), ModelFile, ModelError, _fields_at, "model file")
