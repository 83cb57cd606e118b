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

import numpy as np

from ..core.errors import ModelError, suggest
from ..core.yamlio import line_of
from ..language.expressions import (
    FUNCTIONS,
    SPECIAL_NAMES,
    names_in,
    parse_equation,
    tables_in,
)
from ..language.unitcheck import UnitChecker
from ..language.units import Dim, UnitError, parse_units
from ..schemas.modelfile import ModelFile
from .ir import ModelIR, TimeGrid, time_grid
from .lowering import Lowerer
from .ordering import order_model

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


class _Compiler:
    def __init__(self, spec: ModelFile, source: str, raw):
        self.spec = spec
        self.source = source
        self.raw = raw

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

    # -- lowering and ordering -----------------------------------------------------------
    def lower(self) -> None:
        lowerer = Lowerer()
        self.lowered = {n: lowerer.lower(t, n) for n, t in self.trees.items()}
        self.init_trees = {n: lowerer.lower(t, n) for n, t in self.init_trees.items()}
        self.hidden = lowerer.hidden
        self.dfix = lowerer.dfix

    def order(self) -> None:
        self.aux_order, self.rhs_order, self.init_order = order_model(
            list(self.spec.stocks),
            self.lowered,
            self.init_trees,
            self.hidden,
            self.dfix,
            self.flow_stocks,
            self.section_of,
            self.fail,
        )

    def collect_targets(self, grid: TimeGrid) -> dict:
        """The targets by id, each bound to its element; checks ids, kinds and years."""
        from ..language.targets import ModelTarget, missing_years

        targets: dict[str, ModelTarget] = {}
        times = grid.times()
        for section in ("stocks", "flows", "auxiliaries"):
            for name, el in getattr(self.spec, section).items():
                if el.target is None:
                    continue
                t = el.target.as_target()  # the one target value type from here on
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
        kinds = {n: _KIND[sec] for n, sec in self.section_of.items()}
        targets = self.collect_targets(grid)
        groups: dict[str, list[str]] = {}
        for name, st in spec.stocks.items():
            if st.group:
                groups.setdefault(st.group, []).append(name)
        units = dict(self.units)
        for s in stocks:
            units[f"{s}.init"] = self.units[s]
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
            lookup_names=list(spec.lookups),
            table_points={n: (list(t.x), list(t.y)) for n, t in spec.lookups.items()},
            nonneg=[i for i, s in enumerate(stocks) if spec.stocks[s].non_negative],
            kinds=kinds,
            targets=targets,
            groups=groups,
        )


def compile_spec(spec: ModelFile, source: str, raw=None, warm_start: bool = False) -> ModelIR:
    """Check and lower a model file already read into a :class:`ModelFile`.

    The kernel made from the result serves every scenario of the model: a scenario changes
    only numbers, parameter values and time tables alike (time-tabled levers are kernel
    data, :mod:`sim315.compilation.levers`).

    ``warm_start``: the same kernel with every state slot's start value as an input
    (:meth:`ModelIR.warm_started`), so one run can start where another ended.
    """
    ir = _Compiler(spec, source, raw).build()
    return ir.warm_started() if warm_start else ir
