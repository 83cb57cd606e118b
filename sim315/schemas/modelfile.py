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
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ..core.errors import ModelError
from . import target as _target
from . import validation
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


def _texts_of(value):
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items()}
    return value


def _has_equation(self):
    if self.equation is None and not self.elements:
        raise ValueError("give an equation (or, for an array, equations in 'elements')")
    if self.elements and not self.dims:
        raise ValueError("'elements' needs 'dims': only an array has elements")
    return self


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


class Target(_Strict):
    """A commitment an output is measured against, e.g. "≥ 70 every year 2023–2027".

    See :mod:`sim315.language.targets` for how each kind is measured on an ensemble."""

    # The shape of a target in the file (this docstring is the JSON Schema's description).
    # It converts once, when validated, into the one target value type every later stage
    # uses, sim315.schemas.target.Target (as_target), which checks that the fields fit.

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

    _value: _target.Target | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _convert(self):
        # the one conversion; raises ValueError when the fields do not fit together
        self._value = _target.Target(**self.model_dump())
        return self

    def as_target(self) -> _target.Target:
        """This target as the value every later stage uses."""
        return self._value


def _elements(value):
    """``region: [a, b, c]`` is shorthand for ``region: {elements: [a, b, c]}``."""
    return {"elements": value} if isinstance(value, list) else value


class Dimension(_Strict):
    """A subscript range: the elements an array variable has along one axis."""

    elements: list[str] = Field(min_length=1)
    """The elements, in order (names: letters, digits and '_'). For a subrange, elements
    of the dimension it is part of."""
    subrange_of: str | None = None
    """The dimension whose elements these are a part of (a subrange)."""
    maps_to: dict[str, list[str] | None] = {}
    """Mappings to other dimensions: ``{other: [e1, e2, ...]}`` gives, for each element of
    this one in order, the element of ``other`` it stands for; ``{other: null}`` maps by
    position. An equation over this dimension may then read arrays over ``other``."""
    doc: str = ""
    """What the dimension means."""
    names: dict[str, str] = {}
    """Original names of an imported dimension's elements (and of the dimension itself), by
    identifier: shown by ``model simulate`` and accepted by ``--outputs``."""


PerElement = Annotated[dict[str, float], Field(min_length=1)]


class Parameter(_Strict):
    """A constant input of the model, varied by scenarios and Monte Carlo."""

    value: float | PerElement
    """Default value; for an array, one number for every element or a number per element
    (``{haining: 0.3, pinghu: 0.2}``; keys may be subranges, and ``"a, b"`` for an element
    of each of two dimensions)."""
    dims: list[str] = []
    """The dimensions of an array parameter (see ``dimensions``); empty for a scalar."""
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

    initial: float | str | dict[str, float | str]
    """Initial value: a number (then a kernel input named ``<stock>.init``) or an equation;
    for an array, per element as in ``elements`` of an auxiliary."""
    dims: list[str] = []
    """The dimensions of an array stock; its flows have the same."""
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

    equation: Equation | None = None
    """Expression for the rate, in stock units per time unit (for an array, the equation
    of every element that ``elements`` does not define)."""
    dims: list[str] = []
    """The dimensions of an array flow."""
    elements: dict[str, Equation] = {}
    """Array only: equations of some elements or subranges (``{haining: "0.3", north: "..."}``,
    ``"a, b"`` for several dimensions); ``equation`` covers the rest, as Vensim's EXCEPT."""
    units: Units
    """Units: the stock's units per time unit."""
    doc: str = ""
    """What the flow means."""
    target: Target | None = None
    """A target the flow is measured against."""

    _text = field_validator("equation", mode="before")(_as_text)
    _texts = field_validator("elements", mode="before")(_texts_of)
    _given = model_validator(mode="after")(_has_equation)


class Auxiliary(_Strict):
    """An algebraic variable computed from others at each time."""

    equation: Equation | None = None
    """Expression for the value (for an array, of every element ``elements`` leaves)."""
    dims: list[str] = []
    """The dimensions of an array auxiliary."""
    elements: dict[str, Equation] = {}
    """Array only: equations of some elements or subranges; see flows."""
    units: Units = "1"
    """Units of the value."""
    doc: str = ""
    """What the variable means."""
    target: Target | None = None
    """A target the variable is measured against; runs report P(target met)."""

    _text = field_validator("equation", mode="before")(_as_text)
    _texts = field_validator("elements", mode="before")(_texts_of)
    _given = model_validator(mode="after")(_has_equation)


Points = Annotated[list[float], Field(min_length=1)]


class Lookup(_Strict):
    """A graphical function: linear interpolation between points, ends held."""

    x: Points | dict[str, Points]
    """Input points, strictly increasing; for an array of tables, per element or subrange
    (``{haining: [...], north: [...]}``) or one list for all."""
    y: Points | dict[str, Points]
    """Output points, as many as ``x``; per element like ``x`` for an array of tables."""
    dims: list[str] = []
    """The dimensions of an array of tables: ``lookup(table[d], x)`` reads the element's."""
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
    dimensions: dict[str, Annotated[Dimension, BeforeValidator(_elements)]] = {}
    """Subscript ranges, by name: ``region: [a, b, c]``, or with ``subrange_of`` and
    ``maps_to``. Array elements are written ``x[region]`` (the element for the equation's
    own), ``x[a]`` (one element) and ``sum(x[region!])`` (over all); see docs/models.md."""
    names: dict[str, str] = {}
    """Original names of imported elements (Vensim/XMILE), by their sim315 identifier: the
    headers of ``model simulate``'s table, and accepted by ``--outputs``; written by
    ``sim315 import``, so it round-trips."""


_KNOWN_FIELDS = {
    cls: set(cls.model_fields)
    for cls in (TimeSpec, Parameter, Stock, Flow, Auxiliary, Lookup, ModelFile, Target, Dimension)
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
    if loc[0] == "dimensions" and len(loc) >= 2:
        return _KNOWN_FIELDS[Dimension]
    if len(loc) >= 3 and loc[2] == "target":
        return _KNOWN_FIELDS[Target]
    if loc[0] in kinds and len(loc) >= 2:
        return _KNOWN_FIELDS[kinds[loc[0]]]
    return set()


def validation_error(exc: ValidationError, raw, source: str, error_cls=ModelError, fields_at=None):
    """A model file's first pydantic error as one line (:func:`.validation.validation_error`,
    with the model file's field names for 'did you mean')."""
    return validation.validation_error(exc, raw, source, error_cls, fields_at or _fields_at)


def load_yaml_model(path: str | Path) -> tuple[ModelFile, object]:
    """Read and shape-check a YAML model file (or a packaged model by name, ``plan315``);
    returns the model and the raw YAML tree. Vensim/XMILE files go through
    :func:`sim315.imports.loading.load_model_file`."""
    from ..core.packaged import model_file

    return validation.load_validated(
        model_file(path), ModelFile, ModelError, _fields_at, "model file"
    )
