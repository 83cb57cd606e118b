"""From a model file to a checked, ordered model (:class:`ModelIR`) ready for code generation.

The compiler checks names, units and loops, turns SMOOTH/DELAY calls into hidden stocks (as
Vensim and XMILE do) and DELAY FIXED into pipelines, and orders the auxiliaries. Every problem
is a one-line :class:`~sim315.core.errors.ModelError` naming the file, the element and the fix.
"""

from __future__ import annotations

import ast
import math
import re

import numpy as np

from ..core.elementnames import array_of
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
from .arraydefs import ArrayDefs, array_layout, expand_names
from .elements import ElementChecks
from .ir import ModelIR, time_grid
from .lowering import Lowerer
from .ordering import order_model
from .targetbind import collect_targets

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


class _Compiler(ElementChecks):
    def __init__(self, spec: ModelFile, source: str, raw):
        self.spec = spec
        self.source = source
        self.raw = raw

    def fail(self, loc: tuple, problem: str, fix: str | None = None) -> ModelError:
        return ModelError(
            self.source, ".".join(map(str, loc)), problem, fix, line_of(self.raw, loc)
        )

    # -- names and units -----------------------------------------------------------------
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
                    if self.layout is not None and (
                        self.layout.dims.get(fname) != self.layout.dims.get(sname)
                    ):
                        raise self.fail(
                            loc,
                            f"flow '{fname}' has dimensions {self.layout.dims.get(fname, ())} "
                            f"but stock '{sname}' has {self.layout.dims.get(sname, ())}",
                            "give a stock's flows the stock's dimensions",
                        )
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
                if self.arrays is not None and name in self.layout.dims:
                    self.trees[name] = self.arrays.definitions(
                        section, name, el.equation, el.elements
                    )
                    continue
                if el.elements or el.equation is None:
                    raise self.fail(
                        (section, name, "elements"),
                        "only an array has elements",
                        "declare its dims, or give one equation",
                    )
                loc = (section, name, "equation")
                tree = self._parse(el.equation, loc)
                self.texts[name] = el.equation
                self.trees[name] = tree
        for name, st in self.spec.stocks.items():
            if self.arrays is not None and name in self.layout.dims:
                tree = self.arrays.stock_initial(name, st.initial)
                if tree is not None:
                    self.init_trees[name] = tree
                continue
            if isinstance(st.initial, dict):
                raise self.fail(
                    ("stocks", name, "initial"),
                    "values per element need 'dims'",
                    "give one initial value, or declare the stock's dims",
                )
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
                self._check_one(
                    checker, loc, self.trees[name], self.texts.get(name), self.units[name]
                )
        for name, tree in self.init_trees.items():
            loc = ("stocks", name, "initial")
            self._check_one(checker, loc, tree, self.spec.stocks[name].initial, self.units[name])

    def _check_one(self, checker, loc, tree, text, declared) -> None:
        if isinstance(tree, ast.Tuple):  # an array's pieces
            key = f"{loc[1]}.initial" if loc[0] == "stocks" else loc[1]
            for piece, piece_text in zip(tree.elts, self.arrays.texts[key], strict=True):
                self._check_one(checker, loc, piece, piece_text, declared)
            return
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
        arrays = self.layout.pieces if self.layout is not None else {}
        self.lowered = {
            n: self.arrays.lower(lowerer, n) if n in arrays else lowerer.lower(t, n)
            for n, t in self.trees.items()
        }
        self.init_trees = {
            n: self.arrays.lower(lowerer, n, f"{n}.initial")
            if f"{n}.initial" in arrays
            else lowerer.lower(t, n)
            for n, t in self.init_trees.items()
        }
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

    def build(self) -> ModelIR:
        spec = self.spec
        t = spec.time
        grid = time_grid(t.start, t.stop, t.dt, t.save_every, t.units, self.source, self.raw)
        self.check_names()
        self.layout = array_layout(spec, self.fail)
        self.arrays = None
        if self.layout is not None:
            self.arrays = ArrayDefs(self.layout, self._parse, self.fail)
        self.parse_all_units()
        self.check_values()
        self.check_stock_flows()
        self.parse_equations()
        self.check_units()
        self.lower()
        self.order()
        kernel_params, defaults, initial = self.inputs()
        stocks = list(spec.stocks)
        ex = self.expand
        record = ex(stocks + list(spec.flows) + list(spec.auxiliaries) + list(spec.parameters))
        kinds = {e: _KIND[sec] for n, sec in self.section_of.items() for e in ex([n])}
        targets = collect_targets(self.spec, grid, self.fail, self.layout)
        groups: dict[str, list[str]] = {}
        for name, st in spec.stocks.items():
            if st.group:
                groups.setdefault(st.group, []).extend(ex([name]))
        units = dict(self.units)
        units.update({e: u for n, u in self.units.items() for e in ex([n])})
        for s in stocks:
            units.update({e: self.units[s] for e in ex([f"{s}.init"])})
        nonneg = [i for i, s in enumerate(ex(stocks)) if spec.stocks[array_of(s)].non_negative]
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
            lookup_names=ex(spec.lookups),
            table_points={
                e: (list(x), list(y))
                for n in spec.lookups
                for e, (x, y) in zip(ex([n]), self.points[n], strict=True)
            },
            nonneg=nonneg,
            kinds=kinds,
            targets=targets,
            groups=groups,
            layout=self.layout,
        )

    def expand(self, names) -> list[str]:
        """Scalar names: an array's per element (``x[a]``)."""
        return expand_names(self.layout, names)

    def inputs(self) -> tuple[list[str], list[float], dict[str, ast.expr]]:
        """The kernel's inputs (parameters, then numeric initial values ``<stock>.init``),
        per element for arrays, their defaults, and each stock's initial value."""
        kernel_params = self.expand(self.spec.parameters)
        defaults = [v for n in self.spec.parameters for v in self.values[n]]
        initial: dict[str, ast.expr] = {}
        for s, st in self.spec.stocks.items():
            if s in self.init_trees:
                initial[s] = self.init_trees[s]
            elif isinstance(st.initial, float | int):
                pname = f"{s}.init"
                names = self.expand([pname])
                kernel_params += names
                defaults += [float(st.initial)] * len(names)
                initial[s] = ast.Name(id=pname)
        return kernel_params, defaults, initial


def compile_spec(spec: ModelFile, source: str, raw=None, warm_start: bool = False) -> ModelIR:
    """Check and lower a model file already read into a :class:`ModelFile`.

    The kernel made from the result serves every scenario of the model: a scenario changes
    only numbers, parameter values and time tables alike (time-tabled levers are kernel
    data, :mod:`sim315.compilation.levers`).

    ``warm_start``: the same kernel with every state slot's start value as an input
    (:meth:`ModelIR.warm_started`), so one run can start where another ended.
    """
    ir = _Compiler(spec, source, raw).build()
    if ir.layout is not None:
        from .arraygen import check_references

        check_references(ir)
    return ir.warm_started() if warm_start else ir
