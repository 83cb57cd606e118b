"""Units inference over equations: what units an expression has, or why it has none.

Number literals carry no units of their own and take those of whatever they are added to
or compared with (``x + 1`` has the units of ``x``; ``2 * x`` too). Everything else must
agree: adding or comparing different units, or taking ``exp``/``log`` of a quantity with
units, is an error naming the element and both units.
"""

from __future__ import annotations

import ast
from fractions import Fraction

from ..core.errors import ModelError
from .expressions import TABLE_FUNCTIONS, binop_symbol, table_name
from .units import DIMENSIONLESS, Dim

#: Units of a number literal: free to match anything.
FREE = None


class UnitChecker:
    """Infers units of equations against a table of declared units.

    Parameters
    ----------
    env : dict
        Variable name -> :class:`Dim`.
    tables : dict
        Lookup name -> (x units, y units).
    time_units : Dim
        The model's time unit.
    source : str
        File name for errors.
    """

    def __init__(self, env: dict, tables: dict, time_units: Dim, source: str):
        self.env = env
        self.tables = tables
        self.time = time_units
        self.source = source

    def infer(self, node: ast.expr, text: str, where: str) -> Dim | None:
        """Units of ``node``; ``None`` when it is built of numbers only."""
        self._text = text
        self._where = where
        return self._infer(node)

    # -- helpers -------------------------------------------------------------------------
    def _fail(self, node: ast.AST, problem: str, fix: str) -> ModelError:
        seg = ast.get_source_segment(self._text, node) or ast.unparse(node)
        return ModelError(self.source, self._where, f"units: {problem} in '{seg}'", fix)

    def _same(self, node: ast.AST, a: Dim | None, b: Dim | None, verb: str) -> Dim | None:
        if a is FREE:
            return b
        if b is FREE or a == b:
            return a
        raise self._fail(
            node,
            f"{verb} '{a}' and '{b}'",
            "make both sides the same units (a parameter can convert)",
        )

    def _want(self, node: ast.AST, got: Dim | None, want: Dim, what: str) -> None:
        if got is not FREE and got != want:
            raise self._fail(node, f"{what} must be in '{want}', not '{got}'", "check the units")

    # -- the walk ------------------------------------------------------------------------
    def _infer(self, node: ast.expr) -> Dim | None:
        if isinstance(node, ast.Constant):
            return FREE
        if isinstance(node, ast.Name):
            if node.id in ("time", "dt"):
                return self.time
            return self.env[node.id]
        if isinstance(node, ast.UnaryOp):
            return self._infer(node.operand)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Compare):
            left = self._infer(node.left)
            right = self._infer(node.comparators[0])
            self._same(node, left, right, "comparing")
            return DIMENSIONLESS
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Subscript):  # an array element: the array's units
            return self._infer(node.value)
        raise AssertionError(f"unchecked node {ast.dump(node)}")  # parse_equation forbids it

    def _binop(self, node: ast.BinOp) -> Dim | None:
        op = binop_symbol(node.op)
        left = self._infer(node.left)
        right = self._infer(node.right)
        if op in "+-":
            return self._same(node, left, right, "adding" if op == "+" else "subtracting")
        if op in ("*", "/"):
            if left is FREE and right is FREE:
                return FREE
            lhs = DIMENSIONLESS if left is FREE else left
            rhs = DIMENSIONLESS if right is FREE else right
            return lhs * rhs if op == "*" else lhs / rhs
        # power
        if right is not FREE and not right.dimensionless:
            raise self._fail(node, f"an exponent must be dimensionless, not '{right}'", "check it")
        if left is FREE or left.dimensionless:
            return left
        power = _literal(node.right)
        if power is None:
            raise self._fail(
                node,
                f"'{left}' raised to a non-constant power",
                "raise only dimensionless quantities to variable powers",
            )
        return left**power

    def _call(self, node: ast.Call) -> Dim | None:
        name = node.func.id
        args = node.args
        if name in TABLE_FUNCTIONS:
            table = table_name(args[0])
            x_units, y_units = self.tables[table]
            self._want(node, self._infer(args[1]), x_units, f"the input of table '{table}'")
            return y_units
        dims = [self._infer(a) for a in args]
        if name == "if_then_else":
            return self._same(node, dims[1], dims[2], "choosing between")
        if name in ("sum", "vmin", "vmax"):
            return dims[0]
        if name == "prod":  # units to the power of the element count, not known here
            self._want(node, dims[0], DIMENSIONLESS, "the argument of prod()")
            return DIMENSIONLESS
        if name in ("min", "max"):
            out = dims[0]
            for d in dims[1:]:
                out = self._same(node, out, d, "taking the min/max of")
            return out
        if name == "abs":
            return dims[0]
        if name in ("exp", "log", "sin", "cos", "tan"):
            self._want(node, dims[0], DIMENSIONLESS, f"the argument of {name}()")
            return DIMENSIONLESS
        if name == "sqrt":
            return FREE if dims[0] is FREE else dims[0] ** Fraction(1, 2)
        if name == "step":
            self._want(node, dims[1], self.time, "the time of step()")
            return dims[0]
        if name == "pulse":
            self._want(node, dims[0], self.time, "the start of pulse()")
            self._want(node, dims[1], self.time, "the width of pulse()")
            return DIMENSIONLESS
        if name == "ramp":
            self._want(node, dims[1], self.time, "the start of ramp()")
            self._want(node, dims[2], self.time, "the end of ramp()")
            return (DIMENSIONLESS if dims[0] is FREE else dims[0]) * self.time
        if name in ("smooth", "smooth3", "delay1", "delay3"):
            self._want(node, dims[1], self.time, f"the time constant of {name}()")
            return dims[0]
        if name == "random_uniform":
            return self._same(node, dims[0], dims[1], "drawing between")
        if name == "random_normal":
            return self._same(node, dims[0], dims[1], "drawing with mean and sd in")
        if name == "pink_noise":
            self._want(node, dims[1], self.time, "the correlation time of pink_noise()")
            return dims[0]
        if name == "delay_fixed":
            self._want(node, dims[1], self.time, "the delay of delay_fixed()")
            return self._same(node, dims[0], dims[2], "delaying")
        return self._vensim_call(node, name, dims)

    def _vensim_call(self, node: ast.Call, name: str, dims: list) -> Dim | None:
        """Units of the Vensim/XMILE builtins (issue 12)."""
        if name in ("arcsin", "arccos", "arctan"):
            self._want(node, dims[0], DIMENSIONLESS, f"the argument of {name}()")
            return DIMENSIONLESS
        if name in ("integer", "quantum", "modulo"):
            out = dims[0]
            for d in dims[1:]:
                out = self._same(node, out, d, f"taking {name}() of")
            return out
        if name in ("xidz", "zidz"):
            a, b = dims[0], dims[1]
            if a is FREE and b is FREE:
                ratio = FREE
            else:
                ratio = (DIMENSIONLESS if a is FREE else a) / (DIMENSIONLESS if b is FREE else b)
            if name == "xidz":
                return self._same(node, ratio, dims[2], "choosing between")
            return ratio
        if name in ("logical_and", "logical_or", "logical_not"):
            return DIMENSIONLESS
        if name == "pulse_train":
            for d, what in zip(dims, ("start", "width", "interval", "end"), strict=True):
                self._want(node, d, self.time, f"the {what} of pulse_train()")
            return DIMENSIONLESS
        if name in ("delay1i", "delay3i", "delayn", "smoothi", "smooth3i", "smoothn"):
            self._want(node, dims[1], self.time, f"the time constant of {name}()")
            return self._same(node, dims[0], dims[2], "starting")
        if name in ("trend", "forecast"):
            self._want(node, dims[1], self.time, f"the averaging time of {name}()")
            if name == "trend":
                return DIMENSIONLESS / self.time
            self._want(node, dims[2], self.time, "the horizon of forecast()")
            return dims[0]
        if name == "initial":
            return dims[0]
        if name == "active_initial":
            return self._same(node, dims[0], dims[1], "starting")
        if name == "sample_if_true":
            return self._same(node, dims[1], dims[2], "sampling")
        return self._vector_call(node, name, dims)

    def _vector_call(self, node: ast.Call, name: str, dims: list) -> Dim | None:
        """Units of the vector functions: orders and ranks are dimensionless; a selection
        of ``x`` by a dimensionless ``sel`` is in ``x``'s units (unchecked otherwise)."""
        if name == "vector_select":
            for d, what in zip(dims[3:], ("action", "error action"), strict=True):
                self._want(node, d, DIMENSIONLESS, f"the {what} of vector_select()")
            if dims[0] is not FREE and not dims[0].dimensionless:
                return None
            return self._same(node, dims[1], dims[2], "selecting between")
        if name in ("elm_map", "vector_reorder"):
            what = "offset" if name == "elm_map" else "order"
            self._want(node, dims[1], DIMENSIONLESS, f"the {what} of {name}()")
            return dims[0]
        if name in ("vector_sort_order", "vector_rank"):
            self._want(node, dims[1], DIMENSIONLESS, f"the direction of {name}()")
            return DIMENSIONLESS
        if name == "get_time_value":  # unchecked in Vensim ("the same as using a number")
            return self.time
        if name == "invert_matrix":  # the inverse of m is in 1 / m's units
            self._want(node, dims[1], DIMENSIONLESS, "the size of invert_matrix()")
            return FREE if dims[0] is FREE else DIMENSIONLESS / dims[0]
        if name == "allocate_by_priority":  # shares of supply, up to the requests
            self._same(
                node, dims[1], dims[2], "comparing priority and width in allocate_by_priority():"
            )
            return self._same(node, dims[0], dims[3], "allocating")
        if name == "allocate_available":  # the profile array mixes types, priorities, widths
            return self._same(node, dims[0], dims[2], "allocating")
        raise AssertionError(name)


def _literal(node: ast.expr) -> Fraction | None:
    """The value of a (possibly negated) number literal, else None."""
    sign = 1
    while isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            sign = -sign
        node = node.operand
    if isinstance(node, ast.Constant):
        return sign * Fraction(node.value).limit_denominator(1000)
    return None
