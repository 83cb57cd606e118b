"""PySD's abstract syntax -> sim315 equation text.

:class:`EquationWriter` walks one component's abstract syntax tree (as made by
``pysd.translators``) and writes the equivalent sim315 equation, naming every reference by
its safe identifier. A construct sim315 cannot express stops the import with one line naming
the element and the construct: never a silently different model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..core.errors import ModelError
from .reader import abstract_expressions
from .vectors import allocation_call, available_call, vector_call

#: Vensim's :NA: as a number. PySD turns :NA: into NaN, which would poison every sum that
#: reads it and never compare equal; Vensim's reference ("NA") documents :NA: as the value
#: -2**109, so ``x = :NA:`` tests work. (A workaround of PySD's translation, in number().)
VENSIM_NA = -(2.0**109)

ae = abstract_expressions()

_ARITH = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "**"}
_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=="}
_LOGIC = {":AND:": "logical_and", ":OR:": "logical_or", "and": "logical_and", "or": "logical_or"}

#: Vensim/XMILE functions that are sim315 builtins of the same arguments.
_SAME = {
    "abs": "abs",
    "min": "min",
    "max": "max",
    "exp": "exp",
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "arcsin",
    "arccos": "arccos",
    "arctan": "arctan",
    "ln": "log",
    "integer": "integer",
    "modulo": "modulo",
    "quantum": "quantum",
    "xidz": "xidz",
    "zidz": "zidz",
    "if_then_else": "if_then_else",
    "step": "step",
    "ramp": "ramp",
    "pulse": "pulse",
    "active_initial": "active_initial",
}

_LOOKUP_CALL = {
    "lookup_extrapolate": "lookup_extrapolate",
    "lookup_forward": "lookup_forward",
    "lookup_backward": "lookup_backward",
}

#: A table's interpolation (PySD's LookupsStructure.type) -> the sim315 function reading it.
TABLE_READER = {
    "interpolate": "lookup",
    "extrapolate": "lookup_extrapolate",
    "hold_backward": "lookup_backward",
    "look_forward": "lookup_forward",
}


class UnsupportedError(Exception):
    """A construct with no sim315 equivalent; the importer names the element."""

    def __init__(self, construct: str, fix: str = "rewrite it with sim315's builtins"):
        super().__init__(construct)
        self.construct = construct
        self.fix = fix


@dataclass
class Scope:
    """What the writer needs to know about the rest of the model."""

    resolve: Callable[[str], str]
    """A reference (PySD's lower-case name) -> an identifier or a number as text."""
    table_reader: Callable[[str], tuple[str, str] | None]
    """A reference -> (the builtin reading it, the table's name), when it names a table."""
    inline_table: Callable[[ae.LookupsStructure], str]
    """Registers an inline (WITH LOOKUP) table; returns its name."""
    constant: Callable[[object], float]
    """The value of an expression at the initial time (for DELAY N / SMOOTH N orders)."""
    final_time: float
    dt: float
    macro: Callable[[str, list[str]], str | None] = lambda name, args: None
    """Expands a call of a macro (arguments as equation text); None when ``name`` is none."""
    subscripted: Callable[[str, list], str] | None = None
    """A reference with subscripts (its name, PySD's subscripts) -> text; None: refused."""
    array_call: Callable[[str, list, Callable], str | None] = lambda fn, args, write: None
    """An array function (SUM, ELMCOUNT ...) -> text; None when ``fn`` is none."""


class EquationWriter:
    """Writes sim315 equations from abstract syntax, within one :class:`Scope`."""

    def __init__(self, scope: Scope):
        self.scope = scope

    def write(self, node) -> str:
        if isinstance(node, bool):
            return "1" if node else "0"
        if isinstance(node, int | float):
            return self.number(float(node))
        kind = type(node).__name__.removesuffix("Structure")
        method = getattr(self, "visit_" + re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower(), None)
        if method is None:
            raise UnsupportedError(_construct_name(node))
        return method(node)

    @staticmethod
    def number(value: float) -> str:
        if math.isnan(value):
            # PySD reads :NA: as NaN; see VENSIM_NA
            value = VENSIM_NA
        if math.isinf(value):
            raise UnsupportedError("an infinite constant", "use a large finite number")
        text = repr(value)
        return f"({text})" if value < 0 else text

    def args(self, nodes) -> list[str]:
        return [self.write(n) for n in nodes]

    # -- operators ---------------------------------------------------------------------
    def visit_arithmetic(self, node: ae.ArithmeticStructure) -> str:
        ops, args = list(node.operators), list(node.arguments)
        if len(args) == 1:
            sign = {"negative": "-", "positive": "+", "-": "-", "+": "+"}[ops[0]]
            return f"({sign}{self.write(args[0])})" if sign == "-" else self.write(args[0])
        if set(ops) == {"^"}:  # Vensim's and Python's power is right-associative
            text = self.write(args[-1])
            for arg in reversed(args[:-1]):
                if isinstance(arg, int | float) and arg < 0:  # PySD folds -2^x to (-2)^x
                    text = f"(-({self.number(-float(arg))} ** {text}))"
                else:
                    text = f"({self.write(arg)} ** {text})"
            return text
        text = self.write(args[0])
        for op, arg in zip(ops, args[1:], strict=True):
            text = f"({text} {_ARITH[op]} {self.write(arg)})"
        return text

    def visit_logic(self, node: ae.LogicStructure) -> str:
        ops, args = [str(o).strip() for o in node.operators], list(node.arguments)
        if len(args) == 1:
            if ops[0].lower() in (":not:", "not"):
                return f"logical_not({self.write(args[0])})"
            raise UnsupportedError(f"the operator {ops[0]}")
        text = self.write(args[0])
        for op, arg in zip(ops, args[1:], strict=True):
            low = op.lower() if op.lower() in _LOGIC else op.upper()
            if low in _LOGIC:
                text = f"{_LOGIC[low]}({text}, {self.write(arg)})"
            elif op in _COMPARE:
                text = f"({text} {_COMPARE[op]} {self.write(arg)})"
            else:
                raise UnsupportedError(f"the operator {op}")
        return text

    def visit_reference(self, node: ae.ReferenceStructure) -> str:
        if node.subscripts is not None:
            if self.scope.subscripted is None:
                raise UnsupportedError("subscripts", "subscripted models are not supported yet")
            return self.scope.subscripted(node.reference, list(node.subscripts.subscripts))
        return self.scope.resolve(node.reference)

    def visit_game(self, node: ae.GameStructure) -> str:
        return self.write(node.expression)  # GAME: the value outside gaming mode

    # -- calls -------------------------------------------------------------------------
    def visit_call(self, node: ae.CallStructure) -> str:
        fn = node.function.reference
        args = list(node.arguments)
        found = self.scope.table_reader(fn)
        if found is not None:  # a lookup table called like a function
            (x,) = args
            return f"{found[0]}({self.table(node.function, found[1])}, {self.write(x)})"
        if fn in _LOOKUP_CALL:
            table, x = args
            found = None
            if isinstance(table, ae.ReferenceStructure):
                found = self.scope.table_reader(table.reference)
            if found is None:
                raise UnsupportedError(f"{fn.upper()} of something that is not a lookup table")
            return f"{_LOOKUP_CALL[fn]}({self.table(table, found[1])}, {self.write(x)})"
        arrayed = self.scope.array_call(fn, args, self.write)
        if arrayed is None:
            arrayed = vector_call(fn, args, self.write, UnsupportedError)
        if arrayed is not None:
            return arrayed
        if fn in _SAME:
            return f"{_SAME[fn]}({', '.join(self.args(args))})"
        expanded = self.scope.macro(fn, self.args(args))
        if expanded is not None:
            return expanded
        if fn == "log":  # Vensim LOG(x, base)
            x, base = self.args(args)
            return f"(log({x}) / log({base}))"
        if fn == "log10":
            return f"(log({self.write(args[0])}) / log(10.0))"
        if fn == "power":
            a, b = self.args(args)
            return f"({a} ** {b})"
        if fn == "pi":
            return repr(math.pi)
        if fn in ("sinh", "cosh"):
            x = self.write(args[0])
            sign = "-" if fn == "sinh" else "+"
            return f"((exp({x}) {sign} exp(-({x}))) / 2.0)"
        if fn == "tanh":
            x = self.write(args[0])
            return f"((exp(2.0 * {x}) - 1.0) / (exp(2.0 * {x}) + 1.0))"
        if fn == "pulse_train":
            # PySD passes PULSE TRAIN's arguments as (start, interval, width, end)
            start, interval, width, end = self.args(args)
            return f"pulse_train({start}, {width}, {interval}, {end})"
        if fn == "Xpulse":  # XMILE PULSE(magnitude, first): magnitude/DT for one step
            start, magnitude = self.args(args)
            return f"({magnitude} * pulse({start}, 0.0) / dt)"
        if fn == "Xpulse_train":  # XMILE PULSE(magnitude, first, interval)
            start, interval, magnitude = self.args(args)
            end = self.number(self.scope.final_time + 1.0)
            single = f"pulse({start}, 0.0)"
            train = f"pulse_train({start}, 0.0, {interval}, {end})"
            return f"({magnitude} * if_then_else({interval} > 0, {train}, {single}) / dt)"
        if fn == "Xramp":  # XMILE RAMP(slope, start): no end
            slope, start = self.args(args)
            return f"ramp({slope}, {start}, {self.number(self.scope.final_time)})"
        raise UnsupportedError(f"the function {fn.upper()}")

    def table(self, ref: ae.ReferenceStructure, ident: str) -> str:
        """A table's name; ``tab[d]`` for one of an array of tables."""
        if ref.subscripts is None or self.scope.subscripted is None:
            return ident
        return self.scope.subscripted(ref.reference, list(ref.subscripts.subscripts))

    # -- stateful structures -----------------------------------------------------------
    def visit_initial(self, node: ae.InitialStructure) -> str:
        return f"initial({self.write(node.initial)})"

    def visit_delay(self, node: ae.DelayStructure) -> str:
        order = int(node.order)
        x, tau = self.write(node.input), self.write(node.delay_time)
        if node.initial == node.input:
            return f"delay{order}({x}, {tau})"
        return f"delay{order}i({x}, {tau}, {self.write(node.initial)})"

    def visit_delay_n(self, node: ae.DelayNStructure) -> str:
        n = self.order(node.order, "DELAY N")
        # Vensim: "delay time must be bigger than order*TIME STEP. If this is not the case
        # Vensim will ... automatically reduce the order so that this is true" (DELAY N's
        # reference page); done here when the delay time is known at the initial time
        try:
            tau = self.scope.constant(node.delay_time)
        except UnsupportedError:
            tau = math.inf
        while n > 1 and not tau > n * self.scope.dt:
            n -= 1
        x, tau, init = self.args((node.input, node.delay_time, node.initial))
        return f"delayn({x}, {tau}, {init}, {n})"

    def visit_delay_fixed(self, node: ae.DelayFixedStructure) -> str:
        x, tau, init = self.args((node.input, node.delay_time, node.initial))
        return f"delay_fixed({x}, {tau}, {init})"

    def visit_smooth(self, node: ae.SmoothStructure) -> str:
        fn = "smooth" if int(node.order) == 1 else "smooth3"
        x, tau = self.write(node.input), self.write(node.smooth_time)
        if node.initial == node.input:
            return f"{fn}({x}, {tau})"
        return f"{fn}i({x}, {tau}, {self.write(node.initial)})"

    def visit_smooth_n(self, node: ae.SmoothNStructure) -> str:
        n = self.order(node.order, "SMOOTH N")
        x, tau, init = self.args((node.input, node.smooth_time, node.initial))
        return f"smoothn({x}, {tau}, {init}, {n})"

    def visit_trend(self, node: ae.TrendStructure) -> str:
        x, tau, init = self.args((node.input, node.average_time, node.initial_trend))
        return f"trend({x}, {tau}, {init})"

    def visit_forecast(self, node: ae.ForecastStructure) -> str:
        x, tau, horizon, init = self.args(
            (node.input, node.average_time, node.horizon, node.initial_trend)
        )
        return f"forecast({x}, {tau}, {horizon}, {init})"

    def visit_allocate_by_priority(self, node: ae.AllocateByPriorityStructure) -> str:
        return allocation_call(node, self.write, UnsupportedError)

    def visit_allocate_available(self, node: ae.AllocateAvailableStructure) -> str:
        return available_call(node, self.write, UnsupportedError)

    def visit_sample_if_true(self, node: ae.SampleIfTrueStructure) -> str:
        c, x, init = self.args((node.condition, node.input, node.initial))
        return f"sample_if_true({c}, {x}, {init})"

    def visit_inline_lookups(self, node: ae.InlineLookupsStructure) -> str:
        name = self.scope.inline_table(node.lookups)
        reader = TABLE_READER.get(node.lookups.type, "lookup")
        return f"{reader}({name}, {self.write(node.argument)})"

    def order(self, node, what: str) -> int:
        """DELAY N and SMOOTH N fix their order when the model starts (Vensim): its value
        at the initial time, a whole number >= 1."""
        try:
            value = self.scope.constant(node)
        except UnsupportedError:
            raise UnsupportedError(
                f"a {what} order that is not constant at the initial time",
                "give the order as a number",
            ) from None
        n = round(value)
        if n < 1 or abs(n - value) > 1e-9:
            raise UnsupportedError(f"a {what} order of {value:g}", "use a whole number >= 1")
        return n


def _construct_name(node) -> str:
    names = {
        "IntegStructure": "INTEG inside an expression",
        "GetConstantsStructure": "GET CONSTANTS (values read from a file)",
        "GetDataStructure": "GET DATA (data read from a file)",
        "GetLookupsStructure": "GET LOOKUPS (a table read from a file)",
        "DataStructure": "a data variable (values read from a file)",
        "SubscriptsReferenceStructure": "subscripts",
    }
    return names.get(type(node).__name__, type(node).__name__)


def error(source: str, element: str, exc: UnsupportedError) -> ModelError:
    """The one-line error of an unsupported construct in ``element``."""
    return ModelError(source, element, f"{exc.construct} is not supported", exc.fix)
