"""PySD's abstract model -> a sim315 model file (as a YAML-ready dict).

Elements are sorted by what they are: Vensim's control variables become ``time``, numbers
become parameters, INTEG elements stocks, tables lookups, the rest auxiliaries. The
auxiliaries that are whole terms of a stock's net flow (``INTEG(in - out, ...)``) become its
inflows and outflows, so the stock-and-flow structure survives; the other terms (constants,
expressions) go into one more flow, ``<stock>_net_flow``. Macros are expanded per call.
Names are made safe (:mod:`.names`) and the originals kept under ``names:``.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

from ..core.errors import ModelError
from .arrayvars import add_array, attach_array_flows, check_arrays, is_array
from .controls import read_time, time_units
from .datafiles import check_given
from .equations import TABLE_READER, EquationWriter, Scope, UnsupportedError, error
from .external import data_tables, file_component, is_from_file
from .filearrays import file_range
from .groups import add_groups, sim_units
from .macros import expand_macro
from .names import CONTROL, NameTable, key
from .netflows import attach_flows
from .reader import abstract_expressions
from .spreadsheets import Workbooks
from .subscripts import Subscripts

ae = abstract_expressions()


class ModelMapping:
    """Maps one abstract model; :meth:`build` gives the model file as a dict.

    Parameters
    ----------
    model : pysd AbstractModel
    source : str
        The original file, for errors.
    with_units : bool
        Carry the model's units (made into sim315 unit expressions); otherwise every
        element is dimensionless and the original units are kept in its doc.
    books : Workbooks, optional
        The data files the model reads (GET XLS ...), shared between mappings of one file.
    data : DataFiles, optional
        The data files given at import, for data variables without an equation
        (:mod:`.datafiles`).
    """

    def __init__(self, model, source: str, name: str, with_units=True, books=None, data=None):
        self.source = source
        self.data = data
        self.name = name
        self.with_units = with_units
        self.books = books or Workbooks(Path(source).parent)
        self.sources: dict[str, str] = {}  # element name -> the file, sheet and cell read
        self._read: dict[str, object] = {}  # element key -> its component, files read
        mains = [s for s in model.sections if s.name == "__main__"]
        self.section = mains[0] if mains else model.sections[0]
        self.macros = {key(s.name): s for s in model.sections if s is not self.section}
        self.elements = {}
        for el in self.section.elements:
            self.elements[key(el.name)] = el
        self.names = NameTable()
        for el in self.section.elements:
            if key(el.name) not in CONTROL:
                self.names.add(el.name)
        read = partial(file_range, self)  # ranges read with GET DIRECT SUBSCRIPT
        self.subs = Subscripts(self.section, self.names.taken, self.fail, read)
        self.inline: dict[str, dict] = {}
        self._evaluating: set[str] = set()
        self.macro_calls: dict[str, int] = {}
        self.macro_stocks: dict[str, dict] = {}
        self.macro_flows: dict[str, dict] = {}
        self.macro_aux: dict[str, dict] = {}
        # an XMILE variable with a graphical function is a value (the table read at its
        # equation) and also a table that LOOKUP(name, x) reads
        self.gf_tables: dict[str, tuple[object, str]] = {}
        for el in self.section.elements:
            comps = el.components
            if len(comps) == 1 and isinstance(comps[0].ast, ae.InlineLookupsStructure):
                table = comps[0].ast.lookups
                ident = self._table_ident(el.name)
                self.inline[ident] = self.table(table)
                self.gf_tables[key(el.name)] = (table, ident)

    # -- helpers -----------------------------------------------------------------------
    def fail(self, element: str, problem: str, fix: str | None = None) -> ModelError:
        return ModelError(self.source, element, problem, fix)

    def component(self, el):
        comps = el.components
        if len(comps) != 1 or comps[0].subscripts[0]:
            raise self.fail(
                el.name,
                "an array here (as a table, or read as a number at the start) is not supported",
                "use a scalar",
            )
        if not is_from_file(comps[0]):
            return comps[0]
        k = key(el.name)
        if k not in self._read:  # GET XLS/DIRECT ...: the numbers read, once
            self._read[k] = file_component(self, el, comps[0])
        return self._read[k]

    def kind(self, el) -> str:
        c = self.component(el)
        if c.type == "Lookup":
            if not isinstance(c.ast, ae.LookupsStructure):
                raise self.fail(el.name, "a lookup read from a file is not supported")
            return "lookup"
        if c.type not in ("Auxiliary", "Constant"):
            raise error(self.source, el.name, UnsupportedError(f"a {c.type.lower()} element"))
        if isinstance(c.ast, ae.IntegStructure):
            return "stock"
        if isinstance(c.ast, int | float) and not isinstance(c.ast, bool):
            return "parameter" if math.isfinite(c.ast) else "auxiliary"
        return "auxiliary"

    def resolve(self, reference: str) -> str:
        k = key(reference)
        if k == "time":
            return "time"
        if k == "time step":
            return "dt"
        if k in CONTROL:
            return EquationWriter.number(self.time[CONTROL[k]])
        if k in self.macros:
            raise UnsupportedError(f"the macro {reference} used as a value", "call it")
        ident = self.names.get(reference)
        if ident is None or k not in self.elements:
            raise UnsupportedError(f"the unknown name '{reference}'", "define it in the model")
        return ident

    def table_reader(self, reference: str) -> tuple[str, str] | None:
        k = key(reference)
        if k in self.gf_tables:
            table, ident = self.gf_tables[k]
            return TABLE_READER.get(table.type, "lookup"), ident
        el = self.elements.get(k)
        if el is not None and is_array(el):  # an array of tables
            c = el.components[0]
            if c.type != "Lookup":
                return None
            kind = getattr(c.ast, "type", "interpolate")  # GET ... LOOKUPS: interpolated
            return TABLE_READER.get(kind, "lookup"), self.names.get(reference)
        if el is None or self.kind(el) != "lookup":
            return None
        return TABLE_READER.get(self.component(el).ast.type, "lookup"), self.names.get(reference)

    def _table_ident(self, owner: str, n: int = 1) -> str:
        ident = self.names.add(f"{owner} table {n}" if n > 1 else f"{owner} table")
        self.names.original.pop(ident, None)  # made here, not a name of the model
        return ident

    def constant(self, node) -> float:
        """The value of ``node`` at the initial time, from numbers and constants only."""
        if isinstance(node, int | float):
            return float(node)
        if isinstance(node, ae.ReferenceStructure) and node.subscripts is None:
            k = key(node.reference)
            if k == "time":
                return self.time["start"]
            if k in CONTROL and hasattr(self, "time"):
                return self.time[CONTROL[k]]
            el = self.elements.get(k)
            if el is None or k in self._evaluating:
                raise UnsupportedError("a non-constant value")
            self._evaluating.add(k)
            try:
                ast = self.component(el).ast
                if isinstance(ast, ae.IntegStructure):
                    ast = ast.initial
                return self.constant(ast)
            finally:
                self._evaluating.discard(k)
        if isinstance(node, ae.ArithmeticStructure):
            vals = [self.constant(a) for a in node.arguments]
            if len(vals) == 1:
                return -vals[0] if node.operators[0] in ("negative", "-") else vals[0]
            out = vals[0]
            for op, v in zip(node.operators, vals[1:], strict=True):
                out = {
                    "+": out + v,
                    "-": out - v,
                    "*": out * v,
                    "/": out / v if v else math.nan,
                    "^": out**v,
                }[op]
            return out
        if isinstance(node, ae.CallStructure) and node.function.reference == "step":
            height, at = (self.constant(a) for a in node.arguments)
            return height if self.time["start"] >= at else 0.0
        if isinstance(node, ae.CallStructure) and node.function.reference in ("min", "max"):
            fn = min if node.function.reference == "min" else max
            return fn(self.constant(a) for a in node.arguments)
        raise UnsupportedError("a non-constant value")

    def inline_table(self, owner: str):
        def register(table: ae.LookupsStructure) -> str:
            own = self.gf_tables.get(key(owner))
            if own is not None and own[0] is table:
                return own[1]
            ident, points, n = self._table_ident(owner), self.table(table), 1
            # an array's elements may each hold a table of their own (XMILE's per-element
            # <gf>): one name per distinct table, <owner>_table, <owner>_table_2, ...
            while self.inline.get(ident, points) != points:
                n += 1
                if key(f"{owner} table {n}") not in self.elements:  # not a model's name
                    ident = self._table_ident(owner, n)
            self.inline[ident] = points
            return ident

        return register

    @staticmethod
    def table(t: ae.LookupsStructure) -> dict:
        return {"x": [float(v) for v in t.x], "y": [float(v) for v in t.y]}

    def units(self, text: str | None) -> str:
        if not self.with_units:
            return "1"
        return sim_units(text)

    def doc(self, el) -> str:
        doc = " ".join((el.documentation or "").split())
        if not self.with_units and el.units and el.units.strip():
            doc = (doc + f" (units: {el.units.strip()})").strip()
        return doc

    def writer(self, el, resolve=None) -> EquationWriter:
        return EquationWriter(
            Scope(
                resolve=resolve or self.resolve,
                table_reader=self.table_reader,
                inline_table=self.inline_table(el.name),
                constant=self.constant,
                final_time=self.time["stop"],
                dt=self.time["dt"],
                macro=self.expand_macro,
                subscripted=lambda ref, subs: self.subs.reference(self.resolve(ref), subs),
                array_call=self.subs.call,
            )
        )

    # -- macros, expanded at import --------------------------------------------------------
    def expand_macro(self, name: str, args: list[str]) -> str | None:
        """One call of a macro, expanded (:func:`sim315.imports.macros.expand_macro`)."""
        return expand_macro(self, name, args)

    def equation(self, el, node) -> str:
        try:
            return self.writer(el).write(node)
        except UnsupportedError as exc:
            raise error(self.source, el.name, exc) from None

    # -- the model ---------------------------------------------------------------------
    def build(self) -> dict:
        self.check_supported()
        time = read_time(self)
        parameters, stocks, auxiliaries, lookups, nets = {}, {}, {}, {}, {}
        arrays = dict(parameters=parameters, stocks=stocks, auxiliaries=auxiliaries, flows={})
        arrays["lookups"] = lookups
        for el in self.section.elements:
            if key(el.name) in CONTROL:
                continue
            ident = self.names.get(el.name)
            if is_array(el):
                add_array(self, el, ident, arrays)
                continue
            kind = self.kind(el)
            ast = self.component(el).ast
            doc = self.doc(el)
            src = _opt("source", self.sources.get(el.name))
            if kind == "lookup":
                lookups[ident] = {**self.table(ast), **_opt("doc", doc), **src}
            elif kind == "parameter":
                parameters[ident] = {**self.parameter(el, ast), **_opt("doc", doc), **src}
            elif kind == "stock":
                stocks[ident] = {**self.stock(el, ast), **_opt("doc", doc)}
                nets[ident] = (el, ast.flow)
            else:
                auxiliaries[ident] = {
                    "equation": self.equation(el, ast),
                    "units": self.units(el.units),
                    **_opt("doc", doc),
                }
        flows = attach_flows(self, stocks, auxiliaries, nets)
        flows.update(attach_array_flows(self, arrays))
        if self.macro_stocks or self.macro_aux:
            if self.with_units:  # macro copies are dimensionless: import the model so
                raise ModelError(self.source, "", "units of macro copies")
            stocks.update(self.macro_stocks)
            flows.update(self.macro_flows)
            auxiliaries.update(self.macro_aux)
        lookups.update(self.inline)
        data_tables(self, lookups)
        model = {"name": self.name, "time": time}
        if self.section.subscripts:
            model["dimensions"] = self.subs.dimensions()
        renamed = self.names.renamed()
        if renamed:
            model["names"] = renamed
        model.update(
            parameters=parameters,
            stocks=stocks,
            flows=flows,
            auxiliaries=auxiliaries,
            lookups=lookups,
        )
        add_groups(self, stocks)
        return model

    def check_supported(self) -> None:
        """Refuse what the import cannot carry: an empty model."""
        if all(key(el.name) in CONTROL for el in self.section.elements):
            # PySD reads a pre-XMILE (legacy) Stella file as an empty model instead of failing
            raise self.fail(
                "",
                "PySD finds no model variables in it (a legacy, pre-XMILE Stella file?): a "
                "model without variables is not supported",
                "save it from Stella 10 or later as XMILE",
            )
        check_given(self)  # data variables without an equation need a data file
        check_arrays(self)

    def parameter(self, el, ast) -> dict:
        """A number: a parameter, with the element's limits as bounds when they hold it."""
        par = {"value": float(ast), "units": self.units(el.units)}
        lo, hi = el.limits if el.limits else (None, None)
        lo = None if lo is None or math.isnan(lo) else float(lo)
        hi = None if hi is None or math.isnan(hi) else float(hi)
        inside = (lo is None or lo <= ast) and (hi is None or ast <= hi)
        if (lo is not None or hi is not None) and inside and lo != hi:
            par["bounds"] = [lo, hi]
        return par

    def stock(self, el, ast) -> dict:
        """An INTEG element: a stock (its flows are attached afterwards)."""
        init = ast.initial
        initial = (
            float(init)
            if isinstance(init, int | float) and math.isfinite(init)
            else self.equation(el, init)
        )
        out = {"initial": initial, "units": self.units(el.units)}
        if ast.non_negative:
            out["non_negative"] = True
        return out

    def flow_units(self, stock_units: str) -> str:
        if not self.with_units:
            return "1"
        return f"({stock_units})/({sim_units(time_units(self))})"


def _opt(field: str, value) -> dict:
    return {field: value} if value else {}
