"""A sim315 model as XMILE 1.0, for Stella and other XMILE tools.

Every element becomes an XMILE variable (parameters are constant auxiliaries, tables are
auxiliaries with a graphical function read by ``LOOKUP``) under its original name when the
model was imported (``names:``), else its identifier. Builtins map to their XMILE 1.0
counterparts; one without a counterpart stops the export with a one-line error naming the
element. Arrays (dimensions, per-element definitions, reductions) are written by
:mod:`.xmile_arrays`. The importer reads the result back to the same numbers (tested).
"""

from __future__ import annotations

import ast
from xml.sax.saxutils import escape

from ..compilation.ir import ModelIR
from ..core.errors import ModelError
from ..core.version import __version__
from ..language.expressions import binop_symbol, cmpop_symbol, parse_equation
from . import xmile_arrays

_SAME = {
    "min": "MIN",
    "max": "MAX",
    "abs": "ABS",
    "exp": "EXP",
    "log": "LN",
    "sqrt": "SQRT",
    "sin": "SIN",
    "cos": "COS",
    "tan": "TAN",
    "arcsin": "ARCSIN",
    "arccos": "ARCCOS",
    "arctan": "ARCTAN",
    "integer": "INT",
    "step": "STEP",
    "ramp": "RAMP",
    "smooth": "SMTH1",
    "smooth3": "SMTH3",
    "smoothi": "SMTH1",
    "smooth3i": "SMTH3",
    "delay1": "DELAY1",
    "delay3": "DELAY3",
    "delay1i": "DELAY1",
    "delay3i": "DELAY3",
    "delay_fixed": "DELAY",
    "trend": "TREND",
    "initial": "INIT",
}
_CMP = {"==": "=", "!=": "<>"}


class _Writer:
    def __init__(self, ir: ModelIR):
        self.ir = ir
        self.names = ir.spec.names
        self.arrays = xmile_arrays.Arrays(self, ir) if ir.layout is not None else None

    def display(self, ident: str) -> str:
        return self.names.get(ident, ident)

    def ref(self, ident: str) -> str:
        if ident == "time":
            return "TIME"
        if ident == "dt":
            return "DT"
        name = "_".join(self.display(ident).split())
        return name if name.replace("_", "").isalnum() and name.isascii() else f'"{name}"'

    def expr(self, node: ast.expr, where: str) -> str:
        if isinstance(node, ast.Constant):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            if self.arrays is not None and node.id in self.arrays.layout.dims:
                return self.arrays.name(node.id)
            return self.ref(node.id)
        if isinstance(node, ast.Subscript):
            return self.arrays.subscript(node)
        if isinstance(node, ast.UnaryOp):
            inner = self.expr(node.operand, where)
            return f"(-{inner})" if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            op = binop_symbol(node.op).replace("**", "^")
            return f"({self.expr(node.left, where)} {op} {self.expr(node.right, where)})"
        if isinstance(node, ast.Compare):
            op = cmpop_symbol(node.ops[0])
            left, right = self.expr(node.left, where), self.expr(node.comparators[0], where)
            return f"({left} {_CMP.get(op, op)} {right})"
        return self.call(node, where)

    def call(self, node: ast.Call, where: str) -> str:
        fn = node.func.id
        xmile_arrays.refuse_vector(self, fn, where)
        if self.arrays is not None and xmile_arrays.is_reduction(fn, node):
            return self.arrays.reduction(fn, node, where)
        args = [self.expr(a, where) for a in node.args]
        if fn in ("lookup",):
            return f"LOOKUP({args[0]}, {args[1]})"
        if fn == "if_then_else":
            return f"(IF {args[0]} <> 0 THEN {args[1]} ELSE {args[2]})"
        if fn in ("logical_and", "logical_or"):
            op = " AND " if fn == "logical_and" else " OR "
            return "(IF " + op.join(f"({a} <> 0)" for a in args) + " THEN 1 ELSE 0)"
        if fn == "logical_not":
            return f"(IF {args[0]} = 0 THEN 1 ELSE 0)"
        if fn == "xidz":
            return f"SAFEDIV({args[0]}, {args[1]}, {args[2]})"
        if fn == "zidz":
            return f"SAFEDIV({args[0]}, {args[1]})"
        if fn == "modulo":  # the sign of the dividend, as sim315 (and Vensim) define it
            return f"({args[0]} - {args[1]} * INT({args[0]} / {args[1]}))"
        if fn in ("delayn", "smoothn"):  # XMILE: DELAYN/SMTHN(input, time, n, initial)
            x, tau, init, n = args
            return f"{'DELAYN' if fn == 'delayn' else 'SMTHN'}({x}, {tau}, {n}, {init})"
        if fn == "forecast":
            return f"FORCST({', '.join(args)})"
        if fn in _SAME:
            return f"{_SAME[fn]}({', '.join(args)})"
        raise ModelError(
            self.ir.source, where, f"{fn}() has no XMILE 1.0 counterpart", "export without it"
        )

    def equation(self, text, where: str) -> str:
        if isinstance(text, int | float):
            return repr(float(text))
        return self.expr(parse_equation(str(text), self.ir.source, where), where)


def _tag(name: str, text: str | None) -> str:
    return f"<{name}>{escape(text)}</{name}>" if text else ""


def _units(units: str) -> str:
    return "" if units in ("1", "dimensionless") else _tag("units", units)


def _stock(w: _Writer, ident: str, s, var) -> None:
    flows = "".join(_tag("inflow", w.ref(f).strip('"')) for f in s.inflows)
    flows += "".join(_tag("outflow", w.ref(f).strip('"')) for f in s.outflows)
    if s.non_negative:
        flows += "<non_negative/>"
    where = f"stocks.{ident}.initial"
    arrays = w.arrays
    if arrays is None or ident not in arrays.dims:
        var("stock", ident, w.equation(s.initial, where), s.units, s.doc, flows)
    elif isinstance(s.initial, dict):
        # PySD 3.14 reads a stock's initial <eqn> at the variable only (not per <element>),
        # so the per-element initial values become an array auxiliary (<stock>_initial)
        # that the stock's one initial equation reads (tests/test_xmile_export_arrays.py)
        init_name = xmile_arrays.initial_name(w.ir, ident)
        arrays.dims[init_name] = arrays.dims[ident]
        values = arrays.definition(init_name, 0.0, s.initial, where)
        var("aux", init_name, "", s.units, "", values)
        head = arrays.var_dims(ident) + xmile_arrays.eqn(arrays.name(init_name))
        var("stock", ident, "", s.units, s.doc, head + flows)
    else:
        head = arrays.definition(ident, s.initial, {}, where)
        var("stock", ident, "", s.units, s.doc, head + flows)


def xmile_text(ir: ModelIR) -> str:
    """The XMILE 1.0 document of a compiled model."""
    spec = ir.spec
    if ir.layout is not None:
        xmile_arrays.check(ir)
    w = _Writer(ir)
    arrays, dims = w.arrays, w.arrays.dims if w.arrays is not None else {}
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">',
        "  <header>",
        f'    <vendor>sim315</vendor><product version="{__version__}">sim315</product>',
        f"    {_tag('name', spec.name)}",
        "  </header>",
        f'  <sim_specs method="Euler" time_units="{escape(spec.time.units)}">',
        f"    <start>{spec.time.start!r}</start><stop>{spec.time.stop!r}</stop>"
        f"<dt>{spec.time.dt!r}</dt>",
        "  </sim_specs>",
        *(arrays.dims_xml() if arrays is not None else []),
        "  <model>",
        "    <variables>",
    ]

    def var(kind: str, ident: str, eqn: str, units: str, doc: str, extra: str = "") -> None:
        name = escape(w.display(ident), {'"': "&quot;"})
        out.append(
            f'      <{kind} name="{name}">{_tag("eqn", eqn)}{extra}{_units(units)}'
            f"{_tag('doc', doc)}</{kind}>"
        )

    arrayed = arrays.definition if arrays is not None else None
    for ident, p in spec.parameters.items():
        if ident in dims:
            keyed = p.value if isinstance(p.value, dict) else {}
            var("aux", ident, "", p.units, p.doc, arrayed(ident, p.value, keyed, ident))
        else:
            var("aux", ident, repr(float(p.value)), p.units, p.doc)
    for ident, s in spec.stocks.items():
        _stock(w, ident, s, var)
    for kind, section in (("flow", spec.flows), ("aux", spec.auxiliaries)):
        for ident, f in section.items():
            where = f"{'flows' if kind == 'flow' else 'auxiliaries'}.{ident}.equation"
            if ident in dims:
                var(kind, ident, "", f.units, f.doc, arrayed(ident, f.equation, f.elements, where))
            else:
                var(kind, ident, w.equation(f.equation, where), f.units, f.doc)
    for ident, t in spec.lookups.items():
        if ident in dims:  # a standalone graphical function, read by LOOKUP(tab[d], x)
            var("gf", ident, "", t.y_units, t.doc, arrays.table(ident, t))
            continue
        xs = ",".join(repr(float(v)) for v in t.x)
        ys = ",".join(repr(float(v)) for v in t.y)
        gf = f"<gf><xpts>{xs}</xpts><ypts>{ys}</ypts></gf>"
        var("aux", ident, "TIME", t.y_units, t.doc, gf)
    out += ["    </variables>", "  </model>", "</xmile>"]
    return "\n".join(out) + "\n"
