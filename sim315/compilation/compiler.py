"""From a model file to a checked, ordered model (:class:`ModelIR`) ready for code generation.

The compiler checks names, units and loops, turns SMOOTH/DELAY calls into hidden stocks (as
Vensim and XMILE do) and DELAY FIXED into pipelines, and orders the auxiliaries. Every problem
is a one-line :class:`~sim315.core.errors.ModelError` naming the file, the element and the fix.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import ModelError, suggest
from ..core.yamlio import line_of
from ..language.expressions import (
    FUNCTIONS,
    SPECIAL_NAMES,
    TABLE_FUNCTIONS,
    names_in,
    parse_equation,
    tables_in,
)
from ..language.unitcheck import UnitChecker
from ..language.units import Dim, UnitError, parse_units
from ..schemas.modelfile import ModelFile

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")  # used with fullmatch: no trailing newline
_SECTIONS = ("parameters", "stocks", "flows", "auxiliaries", "lookups")
_KIND = {
    "parameters": "parameter",
    "stocks": "stock",
    "flows": "flow",
    "auxiliaries": "auxiliary",
    "lookups": "lookup",
}


def _an(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


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

    @property
    def state_names(self) -> list[str]:
        return self.stocks + [h.name for h in self.hidden]


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


class _Compiler:
    def __init__(self, spec: ModelFile, source: str, raw, time_tables=None, warm_start=False):
        self.spec = spec
        self.source = source
        self.raw = raw
        self.time_tables = dict(time_tables or {})
        self.warm_start = warm_start

    def fail(self, loc: tuple, problem: str, fix: str | None = None) -> ModelError:
        return ModelError(
            self.source, ".".join(map(str, loc)), problem, fix, line_of(self.raw, loc)
        )

    # -- names and units -----------------------------------------------------------------
    def check_names(self) -> None:
        seen: dict[str, str] = {}
        folded: dict[str, str] = {}  # NFKC form -> name: Python reads identifiers as NFKC
        for section in _SECTIONS:
            for name in getattr(self.spec, section):
                loc = (section, name)
                if isinstance(name, str):
                    other = folded.setdefault(unicodedata.normalize("NFKC", name), name)
                    if other != name:
                        raise self.fail(
                            loc,
                            f"'{ascii(name)[1:-1]}' is the same name as '{other}' once Unicode "
                            "is normalised",
                            "give each a unique name in plain letters",
                        )
                if not isinstance(name, str) or not _NAME.fullmatch(name):
                    raise self.fail(
                        loc,
                        f"'{ascii(name)[1:-1] if isinstance(name, str) else name}' is not a "
                        "valid name",
                        "use letters, digits and '_', starting with a letter",
                    )
                if keyword.iskeyword(name) or name in SPECIAL_NAMES or name in FUNCTIONS:
                    raise self.fail(loc, f"'{name}' is a reserved word", "rename it")
                if name in seen:
                    raise self.fail(
                        loc, f"'{name}' is also defined in {seen[name]}", "give each a unique name"
                    )
                seen[name] = section
        self.section_of = seen
        for name in self.spec.names:  # original names of an imported model
            if name not in seen:
                raise self.fail(("names", name), f"'{name}' names no element", suggest(name, seen))

    def parse_all_units(self) -> None:
        self.units: dict[str, Dim] = {}
        try:
            self.time_units = parse_units(self.spec.time.units)
        except UnitError as exc:
            raise self.fail(("time", "units"), f"bad units: {exc}", "e.g. 'year'") from None
        self.table_units: dict[str, tuple[Dim, Dim]] = {}
        for section in ("parameters", "stocks", "flows", "auxiliaries"):
            for name, el in getattr(self.spec, section).items():
                try:
                    self.units[name] = parse_units(el.units)
                except UnitError as exc:
                    raise self.fail(
                        (section, name, "units"),
                        f"bad units '{el.units}': {exc}",
                        "e.g. 'firms/year'",
                    ) from None
        for name, tab in self.spec.lookups.items():
            pair = []
            for fld in ("x_units", "y_units"):
                try:
                    pair.append(parse_units(getattr(tab, fld)))
                except UnitError as exc:
                    raise self.fail(
                        ("lookups", name, fld), f"bad units: {exc}", "e.g. '1'"
                    ) from None
            self.table_units[name] = tuple(pair)

    def check_values(self) -> None:
        for name, par in self.spec.parameters.items():
            loc = ("parameters", name)
            if not math.isfinite(par.value):
                raise self.fail((*loc, "value"), f"value must be finite, not {par.value}")
            if par.bounds is not None:
                lo, hi = par.bounds
                if lo is not None and hi is not None and lo > hi:
                    raise self.fail(
                        (*loc, "bounds"),
                        f"bounds [{lo}, {hi}] are reversed",
                        f"write [{hi}, {lo}]",
                    )
                if (lo is not None and par.value < lo) or (hi is not None and par.value > hi):
                    raise self.fail(
                        (*loc, "value"),
                        f"value {par.value} lies outside its bounds {list(par.bounds)}",
                        "fix the value or the bounds",
                    )
        for name, tab in self.spec.lookups.items():
            loc = ("lookups", name)
            if len(tab.x) != len(tab.y):
                raise self.fail(
                    loc, f"x has {len(tab.x)} points but y has {len(tab.y)}", "give as many of each"
                )
            if not all(math.isfinite(v) for v in tab.x + tab.y):
                raise self.fail(loc, "points must be finite numbers")
            if any(b <= a for a, b in zip(tab.x, tab.x[1:], strict=False)):
                raise self.fail((*loc, "x"), "x must be strictly increasing", "sort the points")

    def check_stock_flows(self) -> None:
        flows = self.spec.flows
        self.flow_stocks: dict[str, list[tuple[str, str]]] = {f: [] for f in flows}
        for sname, stock in self.spec.stocks.items():
            used = set()
            for direction in ("inflows", "outflows"):
                for fname in getattr(stock, direction):
                    loc = ("stocks", sname, direction)
                    if fname not in flows:
                        sec = self.section_of.get(fname)
                        if sec is not None:
                            raise self.fail(
                                loc,
                                f"'{fname}' is {_an(_KIND[sec])}, not a flow",
                                f"move '{fname}' to flows",
                            )
                        raise self.fail(loc, f"unknown flow '{fname}'", suggest(fname, flows))
                    if fname in used:
                        raise self.fail(
                            loc, f"flow '{fname}' is attached to this stock twice", "list it once"
                        )
                    used.add(fname)
                    self.flow_stocks[fname].append((sname, direction))
                    want = self.units[sname] / self.time_units
                    if self.units[fname] != want:
                        raise self.fail(
                            ("flows", fname, "units"),
                            f"units '{self.units[fname]}' do not match stock '{sname}' "
                            f"('{self.units[sname]}' per {self.time_units})",
                            f"declare the flow in '{want}'",
                        )

    # -- equations -----------------------------------------------------------------------
    def parse_equations(self) -> None:
        self.texts: dict[str, str] = {}
        self.trees: dict[str, ast.expr] = {}
        self.init_trees: dict[str, ast.expr] = {}
        for section in ("flows", "auxiliaries"):
            for name, el in getattr(self.spec, section).items():
                loc = (section, name, "equation")
                tree = self._parse(el.equation, loc)
                self.texts[name] = el.equation
                self.trees[name] = tree
        for name, st in self.spec.stocks.items():
            if isinstance(st.initial, str):
                loc = ("stocks", name, "initial")
                tree = self._parse(st.initial, loc)
                for call in ast.walk(tree):
                    if isinstance(call, ast.Call) and FUNCTIONS[call.func.id].stateful:
                        raise self.fail(
                            loc,
                            f"{call.func.id}() cannot set an initial value",
                            "use its input expression instead",
                        )
                self.init_trees[name] = tree
            elif not math.isfinite(st.initial):
                raise self.fail(("stocks", name, "initial"), "must be finite")

    def _parse(self, text: str, loc: tuple) -> ast.expr:
        where = ".".join(map(str, loc))
        try:
            tree = parse_equation(text, self.source, where)
        except ModelError as exc:
            exc.line = line_of(self.raw, loc)
            raise ModelError(exc.source, exc.where, exc.problem, exc.fix, exc.line) from None
        variables = set(self.section_of) - set(self.spec.lookups)
        for name in names_in(tree):
            if name in SPECIAL_NAMES or name in variables:
                continue
            if name in self.spec.lookups:
                raise self.fail(
                    loc, f"'{name}' is a table, not a variable", f"write lookup({name}, x)"
                )
            raise self.fail(
                loc,
                f"unknown name '{name}' in '{text}'",
                suggest(name, variables | set(SPECIAL_NAMES)),
            )
        for table, _call in tables_in(tree):
            if table not in self.spec.lookups:
                raise self.fail(
                    loc, f"unknown table '{table}' in '{text}'", suggest(table, self.spec.lookups)
                )
        return tree

    def check_units(self) -> None:
        checker = UnitChecker(self.units, self.table_units, self.time_units, self.source)
        for section in ("flows", "auxiliaries"):
            for name in getattr(self.spec, section):
                loc = (section, name, "equation")
                self._check_one(checker, loc, self.trees[name], self.texts[name], self.units[name])
        for name, tree in self.init_trees.items():
            loc = ("stocks", name, "initial")
            self._check_one(checker, loc, tree, self.spec.stocks[name].initial, self.units[name])

    def _check_one(self, checker, loc, tree, text, declared) -> None:
        try:
            got = checker.infer(tree, text, ".".join(loc))
        except ModelError as exc:
            raise ModelError(
                exc.source, exc.where, exc.problem, exc.fix, line_of(self.raw, loc)
            ) from None
        if got is not None and got != declared:
            raise self.fail(
                loc,
                f"units: '{text}' is in '{got}' but is declared '{declared}'",
                "fix the equation or its units",
            )

    def apply_time_tables(self) -> None:
        """Replace each parameter that has a time table by that table read at ``time``."""
        if not self.time_tables:
            return
        for name in self.time_tables:
            if name not in self.spec.parameters:
                raise ModelError(
                    self.source,
                    "time tables",
                    f"'{name}' is not a parameter of the model",
                    suggest(name, self.spec.parameters),
                )
        swap = _TimeTableSwap({p: mode for p, (mode, _pts) in self.time_tables.items()})
        self.trees = {n: swap.visit(t) for n, t in self.trees.items()}
        self.init_trees = {n: swap.visit(t) for n, t in self.init_trees.items()}

    # -- lowering and ordering -----------------------------------------------------------
    def lower(self) -> None:
        lowerer = _Lowerer()
        self.lowered = {n: lowerer.lower(t, n) for n, t in self.trees.items()}
        self.init_trees = {n: lowerer.lower(t, n) for n, t in self.init_trees.items()}
        self.hidden = lowerer.hidden
        self.dfix = lowerer.dfix

    def order(self) -> None:
        aux_names = list(self.lowered)
        deps = {
            n: [d for d in names_in(_branch(self.lowered[n], False)) if d in self.lowered]
            for n in aux_names
        }
        self.aux_order = _toposort(aux_names, deps, self._loop_error("algebraic loop"))
        # what the derivatives need
        needed: set[str] = set()
        roots = [f for f, st in self.flow_stocks.items() if st]
        for h in self.hidden:
            roots += [d for d in names_in(h.deriv) if d in self.lowered]
        for d in self.dfix:
            roots += [n for n in names_in(d.input) if n in self.lowered]
        stack = list(roots)
        while stack:
            n = stack.pop()
            if n not in needed:
                needed.add(n)
                stack.extend(deps[n])
        self.rhs_order = [n for n in self.aux_order if n in needed]
        # initialisation: stocks from their initial values, auxiliaries from those, hidden
        # stocks and pipelines from their inputs
        nodes: dict[str, list[str]] = {}
        for s in self.spec.stocks:
            tree = self.init_trees.get(s)
            nodes[s] = names_in(tree) if tree is not None else []
        for n in aux_names:
            nodes[n] = names_in(_branch(self.lowered[n], True))
        for h in self.hidden:
            nodes[h.name] = names_in(h.init)
        for d in self.dfix:
            nodes[d.name] = names_in(d.init) + names_in(d.tau)
        init_deps = {n: [d for d in ds if d in nodes] for n, ds in nodes.items()}
        order = _toposort(list(nodes), init_deps, self._loop_error("initialisation loop"))
        kind = {s: "stock" for s in self.spec.stocks}
        kind.update({n: "aux" for n in aux_names})
        kind.update({h.name: "hidden" for h in self.hidden})
        kind.update({d.name: "dfix" for d in self.dfix})
        self.init_order = [(kind[n], n) for n in order]

    def _loop_error(self, what: str):
        def make(cycle: list[str]) -> ModelError:
            first = next((c for c in cycle if c in self.section_of), cycle[0])
            section = self.section_of.get(first, "stocks")
            fld = "initial" if section == "stocks" else "equation"
            shown = " -> ".join(c for c in [*cycle, cycle[0]] if not c.startswith("_"))
            fix = (
                "break it with a stock or a smooth()/delay"
                if what == "algebraic loop"
                else "give one of these a numeric initial value"
            )
            return self.fail((section, first, fld), f"{what}: {shown}", fix)

        return make

    def collect_targets(self, grid: TimeGrid) -> dict:
        """The targets by id, each bound to its element; checks ids, kinds and years."""
        from ..language.targets import ModelTarget, missing_years

        targets: dict[str, ModelTarget] = {}
        times = grid.times()
        for section in ("stocks", "flows", "auxiliaries"):
            for name, el in getattr(self.spec, section).items():
                t = el.target
                if t is None:
                    continue
                loc = (section, name, "target")
                tid = t.id or name
                if tid in targets:
                    other = targets[tid].element
                    raise self.fail(
                        (*loc, "id") if t.id else loc,
                        f"target id '{tid}' of {name} is also the id of {other}'s target",
                        "give each target its own id:",
                    )
                if t.kind in ("every_year", "cumulative") and section == "flows":
                    raise self.fail(
                        (*loc, "kind"),
                        f"a {t.kind} target measures the change of a level, and a flow's "
                        "change is not its addition",
                        "put the target on a stock that accumulates the flow",
                    )
                fld = "year" if t.kind == "level" else "window"
                needed = t.years_needed()
                if not (grid.start - 1e-9 <= min(needed) and max(needed) <= grid.stop + 1e-9):
                    raise self.fail(
                        (*loc, fld),
                        f"{t.describe()} needs times {min(needed):g}..{max(needed):g}, "
                        f"outside the simulated time {grid.start:g}..{grid.stop:g}",
                        f"fix the {fld} or the time range",
                    )
                if missing := missing_years(t, times):
                    raise self.fail(
                        (*loc, fld),
                        f"{t.describe()} needs time {missing[0]:g}, which is not a saved time "
                        f"(every {grid.save_every:g} from {grid.start:g})",
                        "choose time.save_every so that every whole year is saved (e.g. 1 or 0.25)",
                    )
                targets[tid] = ModelTarget(tid, name, t)
        return targets

    def build(self) -> ModelIR:
        spec = self.spec
        t = spec.time
        grid = time_grid(t.start, t.stop, t.dt, t.save_every, t.units, self.source, self.raw)
        self.check_names()
        self.parse_all_units()
        self.check_values()
        self.check_stock_flows()
        self.parse_equations()
        self.check_units()
        self.apply_time_tables()
        self.lower()
        self.order()
        kernel_params = list(spec.parameters)
        defaults = [p.value for p in spec.parameters.values()]
        initial: dict[str, ast.expr] = {}
        for s, st in spec.stocks.items():
            if isinstance(st.initial, str):
                initial[s] = self.init_trees[s]
            else:
                pname = f"{s}.init"
                kernel_params.append(pname)
                defaults.append(float(st.initial))
                initial[s] = ast.Name(id=pname)
        stocks = list(spec.stocks)
        record = stocks + list(spec.flows) + list(spec.auxiliaries) + list(spec.parameters)
        if self.warm_start:
            # a given start state: one input per state slot (NaN: the initial value as usual);
            # hidden SMOOTH/DELAY stocks become outputs, so a run's end state can be read
            for name in stocks + [h.name for h in self.hidden]:
                kernel_params.append(start_parameter(name))
                defaults.append(math.nan)
            record += [h.name for h in self.hidden]
        kinds = {n: _KIND[sec] for n, sec in self.section_of.items()}
        targets = self.collect_targets(grid)
        groups: dict[str, list[str]] = {}
        for name, st in spec.stocks.items():
            if st.group:
                groups.setdefault(st.group, []).append(name)
        units = dict(self.units)
        for s in stocks:
            units[f"{s}.init"] = self.units[s]
            if self.warm_start:
                units[start_parameter(s)] = self.units[s]
        return ModelIR(
            spec=spec,
            source=self.source,
            grid=grid,
            kernel_params=kernel_params,
            defaults=np.array(defaults, dtype=np.float64),
            stocks=stocks,
            hidden=self.hidden,
            dfix=self.dfix,
            equations=self.lowered,
            initial=initial,
            aux_order=self.aux_order,
            rhs_order=self.rhs_order,
            init_order=self.init_order,
            record=record,
            units=units,
            lookup_names=list(spec.lookups) + [_table_name(p) for p in self.time_tables],
            table_points={
                **{n: (list(t.x), list(t.y)) for n, t in spec.lookups.items()},
                **{_table_name(p): pts for p, (_mode, pts) in self.time_tables.items()},
            },
            nonneg=[i for i, s in enumerate(stocks) if spec.stocks[s].non_negative],
            kinds=kinds,
            targets=targets,
            groups=groups,
        )


def _toposort(names: list[str], deps: dict[str, list[str]], loop_error) -> list[str]:
    """Depth-first topological order, stable in declaration order; names a cycle if any."""
    state: dict[str, int] = {}
    order: list[str] = []
    for root in names:
        if root in state:
            continue
        stack = [(root, iter(deps[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
                order.append(node)
            elif state.get(nxt) == 1:
                raise loop_error(path[path.index(nxt) :])
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(deps[nxt])))
    return order


# -- lowering of stateful builtins ----------------------------------------------------------
def _num(v: float) -> ast.Constant:
    return ast.Constant(value=float(v))


def _bin(a: ast.expr, op: ast.operator, b: ast.expr) -> ast.BinOp:
    return ast.BinOp(left=a, op=op, right=b)


def _call(fn: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=fn), args=list(args), keywords=[])


_DT = ast.Name(id="dt")

#: Stateful Vensim/XMILE builtins lowered by ``_Lowerer._<name>``.
_VENSIM_STATEFUL = (
    "delay1i",
    "delay3i",
    "delayn",
    "smoothi",
    "smooth3i",
    "smoothn",
    "trend",
    "forecast",
    "initial",
    "sample_if_true",
)


def _branch(node: ast.expr, initialising: bool) -> ast.expr:
    """``node`` as evaluated at initialisation (``active_initial``'s second argument) or
    during the run (its first): what each ordering must follow."""

    class _Pick(ast.NodeTransformer):
        def visit_Call(self, call):
            self.generic_visit(call)
            if isinstance(call.func, ast.Name) and call.func.id == "_active_initial":
                return call.args[1 if initialising else 0]
            return call

    if not any(
        isinstance(n, ast.Call) and getattr(n.func, "id", "") == "_active_initial"
        for n in ast.walk(node)
    ):
        return node
    import copy

    return _Pick().visit(copy.deepcopy(node))


class _Lowerer:
    """Replaces SMOOTH/DELAY calls by hidden stocks and DELAY FIXED by pipelines."""

    def __init__(self):
        self.hidden: list[Hidden] = []
        self.dfix: list[DelayFixed] = []
        self.n_sites = 0

    def _site(self) -> ast.Constant:
        """A call site number for a random draw: fixed by the model's structure."""
        self.n_sites += 1
        return ast.Constant(value=self.n_sites - 1)

    def _stock(self, deriv, init, origin) -> ast.Name:
        name = f"_h{len(self.hidden)}"
        self.hidden.append(Hidden(name, deriv, init, origin))
        return ast.Name(id=name)

    # -- Vensim/XMILE stateful builtins (issue 12) ------------------------------------------
    def _chain(self, x, tau, init, n: int, where: str, material: bool, lag: bool = False):
        """n first-order stages of ``tau/n``. Smooths: each stage moves toward the one before
        and starts at ``init``. Material delays: stage k holds material, drains at
        ``stage/(tau/n)`` and starts at ``init*tau/n``. ``lag``: stage k sees the delay time
        of k steps ago, as Vensim's DELAY N passes it down its chain one step per stage."""
        cur = x
        for k in range(n):
            tk = tau
            if lag and k:
                name = f"_d{len(self.dfix)}"
                self.dfix.append(DelayFixed(name, tau, _bin(_num(k), ast.Mult(), _DT), tau, where))
                tk = ast.Name(id=name)
            tn = tk if n == 1 else _bin(tk, ast.Div(), _num(n))
            stage = ast.Name(id=f"_h{len(self.hidden)}")
            if material:
                outflow = _bin(stage, ast.Div(), tn)
                self._stock(_bin(cur, ast.Sub(), outflow), _bin(init, ast.Mult(), tn), where)
                cur = outflow
            else:
                self._stock(_bin(_bin(cur, ast.Sub(), stage), ast.Div(), tn), init, where)
                cur = stage
        return cur

    def _delay1i(self, args, where):
        return self._chain(*args, 1, where, material=True)

    def _delay3i(self, args, where):
        return self._chain(*args, 3, where, material=True)

    def _delayn(self, args, where):
        x, tau, init, n = args
        return self._chain(x, tau, init, int(n.value), where, material=True, lag=True)

    def _smoothi(self, args, where):
        return self._chain(*args, 1, where, material=False)

    def _smooth3i(self, args, where):
        return self._chain(*args, 3, where, material=False)

    def _smoothn(self, args, where):
        x, tau, init, n = args
        return self._chain(x, tau, init, int(n.value), where, material=False)

    def _average(self, x, tau, init_trend, where):
        """TREND's state: x smoothed over tau, starting at x/(1 + init_trend*tau); and the
        trend itself, (x - average)/(tau*|average|), 0 where the average is 0."""
        init = _bin(x, ast.Div(), _bin(_num(1), ast.Add(), _bin(init_trend, ast.Mult(), tau)))
        avg = ast.Name(id=f"_h{len(self.hidden)}")
        self._stock(_bin(_bin(x, ast.Sub(), avg), ast.Div(), tau), init, where)
        scale = _bin(tau, ast.Mult(), _call("abs", avg))
        return _call("zidz", _bin(x, ast.Sub(), avg), scale)

    def _trend(self, args, where):
        return self._average(*args, where)

    def _forecast(self, args, where):
        x, tau, horizon, init_trend = args
        trend = self._average(x, tau, init_trend, where)
        return _bin(x, ast.Mult(), _bin(_num(1), ast.Add(), _bin(trend, ast.Mult(), horizon)))

    def _initial(self, args, where):
        return self._stock(_num(0), args[0], where)  # a state that never changes

    def _sample_if_true(self, args, where):
        # a one-step pipeline that feeds itself: it holds the last sample, updated once per
        # step (at the step's start, as Vensim's Euler does)
        cond, x, init = args
        name = f"_d{len(self.dfix)}"
        value = _call("if_then_else", cond, x, ast.Name(id=name))
        self.dfix.append(DelayFixed(name, value, _DT, init, where))
        return value

    def lower(self, node: ast.expr, origin: str) -> ast.expr:
        if isinstance(node, ast.Call):
            args = [self.lower(a, origin) for a in node.args]
            fn = node.func.id
            where = f"{fn}() in {origin}"
            if fn in ("smooth", "smooth3"):
                x, tau = args
                n = 1 if fn == "smooth" else 3
                tn = tau if n == 1 else _bin(tau, ast.Div(), _num(3))
                # forward reference: each stage's derivative reads its own stock
                cur = x
                for _ in range(n):
                    name = ast.Name(id=f"_h{len(self.hidden)}")
                    deriv = _bin(_bin(cur, ast.Sub(), name), ast.Div(), tn)
                    self._stock(deriv, x, where)
                    cur = name
                return cur
            if fn in ("delay1", "delay3"):
                x, tau = args
                n = 1 if fn == "delay1" else 3
                tn = tau if n == 1 else _bin(tau, ast.Div(), _num(3))
                inflow = x
                for _ in range(n):
                    name = ast.Name(id=f"_h{len(self.hidden)}")
                    outflow = _bin(name, ast.Div(), tn)
                    self._stock(_bin(inflow, ast.Sub(), outflow), _bin(x, ast.Mult(), tn), where)
                    inflow = outflow
                return inflow
            if fn in ("random_uniform", "random_normal"):
                name = "_rand_uniform" if fn == "random_uniform" else "_rand_normal"
                return ast.Call(func=ast.Name(id=name), args=[*args, self._site()], keywords=[])
            if fn == "pink_noise":
                # white noise held over each step, first-order smoothed with time constant
                # tau; under Euler its variance makes the smoothed series' stationary sd
                # exactly sd: var(white) = sd**2 * (2 - dt/tau) * tau/dt
                sd, tau = args
                a = _bin(ast.Name(id="dt"), ast.Div(), tau)
                scale = ast.Call(
                    func=ast.Name(id="sqrt"),
                    args=[_bin(_bin(_num(2), ast.Sub(), a), ast.Div(), a)],
                    keywords=[],
                )
                white = ast.Call(
                    func=ast.Name(id="_rand_normal"),
                    args=[_num(0), _bin(sd, ast.Mult(), scale), self._site()],
                    keywords=[],
                )
                name = ast.Name(id=f"_h{len(self.hidden)}")
                deriv = _bin(_bin(white, ast.Sub(), name), ast.Div(), tau)
                return self._stock(deriv, _num(0), where)
            if fn == "delay_fixed":
                x, tau, init = args
                name = f"_d{len(self.dfix)}"
                self.dfix.append(DelayFixed(name, x, tau, init, where))
                return ast.Name(id=name)
            if fn in _VENSIM_STATEFUL:
                return getattr(self, "_" + fn)(args, where)
            if fn == "active_initial":
                return ast.Call(func=ast.Name(id="_active_initial"), args=args, keywords=[])
            return ast.Call(func=node.func, args=args, keywords=[])
        if isinstance(node, ast.BinOp):
            return _bin(self.lower(node.left, origin), node.op, self.lower(node.right, origin))
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(op=node.op, operand=self.lower(node.operand, origin))
        if isinstance(node, ast.Compare):
            return ast.Compare(
                left=self.lower(node.left, origin),
                ops=node.ops,
                comparators=[self.lower(node.comparators[0], origin)],
            )
        return node


def start_parameter(state: str) -> str:
    """The kernel input that gives a state slot its start value (warm-started kernels)."""
    return f"{state}.start"


def _table_name(parameter: str) -> str:
    return f"_tt_{parameter}"


class _TimeTableSwap(ast.NodeTransformer):
    """``p`` -> ``lookup(_tt_p, time)`` (or the step-holding variant) for tabled parameters."""

    def __init__(self, modes: dict[str, str]):
        self.modes = modes

    def visit_Call(self, node: ast.Call) -> ast.Call:
        args = list(node.args)
        first = 1 if node.func.id in TABLE_FUNCTIONS else 0
        args[first:] = [self.visit(a) for a in args[first:]]
        return ast.Call(func=node.func, args=args, keywords=[])

    def visit_Name(self, node: ast.Name) -> ast.expr:
        mode = self.modes.get(node.id)
        if mode is None:
            return node
        fn = "lookup" if mode == "linear" else "_lookup_hold"
        return ast.Call(
            func=ast.Name(id=fn),
            args=[ast.Name(id=_table_name(node.id)), ast.Name(id="time")],
            keywords=[],
        )


def compile_spec(
    spec: ModelFile, source: str, raw=None, time_tables=None, warm_start: bool = False
) -> ModelIR:
    """Check and lower a model file already read into a :class:`ModelFile`.

    ``time_tables`` maps parameter names to ``(mode, (times, values))`` with mode ``hold``
    (the value of the latest time at or before now) or ``linear``: those parameters become
    time-varying policy levers. The points are kernel inputs; only the set of tabled
    parameters and their modes shape the compiled kernel.

    ``warm_start``: the kernel takes every state slot's start value as an input
    (``<stock>.start``, and ``<hidden>.start`` for SMOOTH/DELAY stocks; NaN means the initial
    value as usual) and records the hidden stocks, so one run can start where another ended.
    """
    return _Compiler(spec, source, raw, time_tables, warm_start).build()
