"""The model IR: what lowering hands to code generation (``ModelIR``), and the time grid
counted in integer steps (``TimeGrid``, ``time_grid``)."""

from __future__ import annotations

import ast
import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import ModelError
from ..core.yamlio import line_of
from ..language.units import Dim
from ..schemas.modelfile import ModelFile


@dataclass(frozen=True)
class Hidden:
    """A hidden stock made from a SMOOTH or DELAY call."""

    name: str
    deriv: ast.expr
    init: ast.expr
    origin: str


@dataclass(frozen=True)
class DelayFixed:
    """A DELAY FIXED pipeline: ``input`` delayed by ``tau``, ``init`` until then."""

    name: str
    input: ast.expr
    tau: ast.expr
    init: ast.expr
    origin: str


@dataclass(frozen=True)
class TimeGrid:
    """The integer time grid: ``t = start + k*dt`` for ``k = 0..n_steps``."""

    start: float
    stop: float
    dt: float
    n_steps: int
    stride: int
    units: str

    @property
    def save_every(self) -> float:
        return self.stride * self.dt

    @property
    def n_saved(self) -> int:
        return self.n_steps // self.stride + 1

    def times(self) -> np.ndarray:
        """The saved times, computed from integer step counts."""
        k = np.arange(self.n_saved, dtype=np.float64) * self.stride
        return self.start + k * self.dt


@dataclass
class ModelIR:
    """A checked model, lowered and ordered; the code generator's input."""

    spec: ModelFile
    source: str
    grid: TimeGrid
    kernel_params: list[str]
    defaults: np.ndarray
    stocks: list[str]
    hidden: list[Hidden]
    dfix: list[DelayFixed]
    equations: dict[str, ast.expr]
    initial: dict[str, ast.expr]
    aux_order: list[str]
    rhs_order: list[str]
    init_order: list[tuple[str, str]]
    record: list[str]
    units: dict[str, Dim]
    lookup_names: list[str]
    table_points: dict[str, tuple[list[float], list[float]]]
    nonneg: list[int]
    kinds: dict[str, str] = field(default_factory=dict)
    targets: dict = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    layout: object = None
    """The model's arrays (:class:`sim315.compilation.arrays.Layout`), None without any:
    then every name above is a scalar's."""
    warm_start: bool = False
    """Whether :attr:`kernel_params` ends with the start-state inputs and :attr:`record` with
    the hidden stocks (:meth:`warm_started`). The kernel is the same either way."""

    @property
    def state_names(self) -> list[str]:
        """The state slots' names: stocks, then hidden stocks (an array's per element)."""
        names = self.stocks + [h.name for h in self.hidden]
        if self.layout is None:
            return names
        return [e for n in names for e in self.layout.expand(n)]

    @property
    def stock_names(self) -> list[str]:
        """The stocks' slot names (an array stock's per element, ``x[a]``)."""
        if self.layout is None:
            return list(self.stocks)
        return [e for n in self.stocks for e in self.layout.expand(n)]

    @property
    def base_params(self) -> list[str]:
        """The kernel's parameters without the start-state inputs: the model's parameters,
        then the numeric initial values (``<stock>.init``)."""
        n = len(self.kernel_params) - (len(self.state_names) if self.warm_start else 0)
        return self.kernel_params[:n]

    @property
    def kernel_record(self) -> list[str]:
        """Every value the kernel can save: :attr:`record`, then the hidden stocks (the end
        state of a run that another starts from)."""
        if self.warm_start:
            return self.record
        return self.record + [h.name for h in self.hidden]

    def warm_started(self) -> ModelIR:
        """This model with its start state as inputs: a parameter column per state slot
        (``<stock>.start``, ``<hidden>.start``; NaN means the initial value as usual) after
        the others, and the hidden SMOOTH/DELAY stocks as outputs, so that one run can start
        where another ended. The kernel is the same (it reads the start columns only when a
        parameter row has them): nothing is compiled again."""
        if self.warm_start:
            return self
        starts = [start_parameter(s) for s in self.state_names]
        units = dict(self.units)
        units.update({start_parameter(s): self.units[s] for s in self.stock_names})
        return dataclasses.replace(
            self,
            kernel_params=self.kernel_params + starts,
            defaults=np.concatenate([self.defaults, np.full(len(starts), math.nan)]),
            record=self.kernel_record,
            units=units,
            warm_start=True,
        )


def start_parameter(state: str) -> str:
    """The kernel input that gives a state slot its start value (see
    :meth:`ModelIR.warm_started`)."""
    return f"{state}.start"


#: Most time steps a run may take (the random generator's step counter is 32-bit).
MAX_STEPS = 2**31


def time_grid(start, stop, dt, save_every, units, source: str, raw=None) -> TimeGrid:
    """Check the clock and express it in integer steps."""

    def fail(fld, problem, fix):
        loc = ("time", fld)
        return ModelError(source, "time." + fld, problem, fix, line_of(raw, loc))

    for fld, v in (("start", start), ("stop", stop), ("dt", dt)):
        if not math.isfinite(v):
            raise fail(fld, f"must be a finite number, not {v}", "give a number")
    if stop <= start:
        raise fail("stop", f"stop ({stop}) must be after start ({start})", "raise stop")
    if dt <= 0:
        raise fail("dt", f"dt must be positive, not {dt}", "use e.g. 0.25")
    horizon = stop - start
    steps = horizon / dt
    if not steps <= MAX_STEPS:
        raise fail(
            "dt",
            f"dt={dt:g} over {start:g}..{stop:g} makes {steps:.3g} steps, more than the "
            f"{MAX_STEPS:,} a run may take",
            "use a larger dt or a shorter horizon",
        )
    n_steps = round(steps)
    if n_steps < 1 or abs(n_steps * dt - horizon) > 1e-9 * max(horizon, 1.0):
        raise fail(
            "dt",
            f"dt={dt} does not divide the horizon {start}..{stop} into whole steps",
            f"use a dt that divides {horizon:g}, such as {_divisor_dt(horizon, dt)}",
        )
    save = dt if save_every is None else save_every
    stride = round(save / dt)
    if stride < 1 or abs(stride * dt - save) > 1e-9 * save:
        raise fail(
            "save_every",
            f"save_every={save} is not a whole multiple of dt={dt}",
            f"use a multiple of dt such as {max(1, stride) * dt:g}",
        )
    if n_steps % stride:
        raise fail(
            "save_every",
            f"save_every={save} does not divide the horizon {start}..{stop}",
            "choose a save period that ends on stop",
        )
    return TimeGrid(float(start), float(stop), float(dt), int(n_steps), int(stride), units)


def _divisor_dt(horizon: float, dt: float) -> str:
    """A step not above ``dt`` that divides ``horizon`` and is short to write, as text."""
    first = max(1, math.ceil(horizon / dt - 1e-9))
    for n in range(first, 4 * first + 100):
        text = f"{horizon / n:g}"
        if abs(n * float(text) - horizon) <= 1e-9 * max(horizon, 1.0):
            return text
    return repr(horizon / first)
