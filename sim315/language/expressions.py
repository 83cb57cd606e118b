"""Equations: a small Python-expression language, parsed with ``ast`` and never ``eval``'d.

Allowed: numbers, names, ``+ - * / **``, unary minus, single comparisons, and calls of the
functions in :data:`FUNCTIONS`. Everything else is rejected with the offending text quoted.
"""

from __future__ import annotations

import ast
import math
import re

from ..core.errors import ModelError, suggest
from .builtins import FUNCTIONS, LITERAL_ARGS, Function  # noqa: F401  (re-exported)

#: Reductions over array dimensions (with one argument, ``min`` and ``max`` are too).
REDUCTIONS = ("sum", "prod", "vmin", "vmax")

#: How a dimension marked ``d!`` in an equation reads once parsed: the name ``d`` with this
#: suffix (dimension names may not contain a double underscore).
ALL_MARK = "__all"

_BANG = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*!(?!=)")

#: Builtins whose first argument names a table in ``lookups``.
TABLE_FUNCTIONS = (
    "lookup",
    "lookup_extrapolate",
    "lookup_forward",
    "lookup_backward",
)

#: Vensim's vector, matrix and allocation functions: each loops over the dimension(s)
#: marked ``d!`` in its first argument (both first arguments for ``vector_select``), or
#: reads another element.
VECTOR_FUNCTIONS = (
    "vector_select",
    "elm_map",
    "vector_sort_order",
    "vector_rank",
    "vector_reorder",
    "invert_matrix",
    "allocate_by_priority",
    "allocate_available",
)

#: Builtins whose last argument is an order: a whole number literal.
ORDER_FUNCTIONS = ("delayn", "smoothn")

#: Names with a fixed meaning in every equation.
SPECIAL_NAMES = {"time": "the current simulation time", "dt": "the integration time step"}

#: The deepest expression accepted (levels of nested operators and calls). The generated
#: kernel writes up to two parentheses per level and Python reads at most 200 nested ones;
#: the checkers also recurse once per level.
MAX_DEPTH = 80
#: Most arguments of one call (``max``/``min`` take any number): a wider call is split.
MAX_ARGS = 64
#: Most nodes in one equation: the kernel is one function, and compile time grows with it.
MAX_NODES = 4000

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


def binop_symbol(op: ast.operator) -> str:
    return _BINOPS[type(op)]


def cmpop_symbol(op: ast.cmpop) -> str:
    return _CMPOPS[type(op)]


def parse_equation(text: str, source: str, where: str) -> ast.expr:
    """Parse and check the shape of one equation.

    Parameters
    ----------
    text : str
        The equation.
    source, where : str
        The file and element, for error messages.

    Returns
    -------
    ast.expr
        The expression tree (only node types this module allows).
    """
    if "^" in text:
        raise ModelError(
            source, where, f"'^' in '{text}' is not a power here", "write powers as '**'"
        )
    too_deep = ModelError(
        source,
        where,
        f"the equation is nested more than {MAX_DEPTH} levels deep",
        "split it into auxiliaries",
    )
    try:
        tree = ast.parse(_BANG.sub(r"\1" + ALL_MARK, text.strip()), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ModelError(
            source, where, f"cannot parse '{text}'{col}: {exc.msg}", "fix the equation"
        ) from None
    except RecursionError:
        raise too_deep from None
    if _depth(tree.body) > MAX_DEPTH:
        raise too_deep
    _check(tree.body, text.strip(), source, where)  # names a too-wide call first
    nodes = sum(1 for _ in ast.walk(tree.body))
    if nodes > MAX_NODES:
        raise ModelError(
            source,
            where,
            f"the equation has {nodes:,} terms, more than {MAX_NODES:,}",
            "split it into auxiliaries",
        )
    return tree.body


def _depth(node: ast.expr) -> int:
    """Levels of nested expressions in ``node``, counted without recursion."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(n) if isinstance(c, ast.expr))
    return deepest


def _quote(node: ast.AST, text: str) -> str:
    seg = ast.get_source_segment(text, node)
    return seg if seg else ast.unparse(node)


def _bad(node: ast.AST, text: str, source: str, where: str, what: str, fix: str) -> ModelError:
    return ModelError(source, where, f"{what} '{_quote(node, text)}' is not supported", fix)


def _check(node: ast.AST, text: str, source: str, where: str) -> None:
    """Refuse, with its fix, any construct of ``node`` that is not part of the language."""

    def bad(n: ast.AST, what: str, fix: str) -> ModelError:
        return _bad(n, text, source, where, what, fix)

    if isinstance(node, ast.Constant):
        _check_constant(node, text, source, where)
        return
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise bad(node, "the operator in", "use + - * / ** only")
        _check(node.left, text, source, where)
        _check(node.right, text, source, where)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise bad(node, "the operator in", "use unary minus only")
        _check(node.operand, text, source, where)
        return
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise bad(node, "the chained comparison", "compare two values at a time")
        if type(node.ops[0]) not in _CMPOPS:
            raise bad(node, "the comparison", "use < <= > >= == !=")
        _check(node.left, text, source, where)
        _check(node.comparators[0], text, source, where)
        return
    if isinstance(node, ast.Call):
        _check_call(node, text, source, where)
        return
    if isinstance(node, ast.Subscript) and _subscripts(node) is not None:
        return
    what = {
        ast.BoolOp: "the boolean operator in",
        ast.IfExp: "the conditional expression",
        ast.Attribute: "the attribute",
        ast.Subscript: "the subscript",
        ast.Lambda: "the lambda",
    }.get(type(node), "the construct")
    fix = "use if_then_else(cond, a, b)" if isinstance(node, ast.IfExp) else "see docs/models.md"
    raise bad(node, what, fix)


def _subscripts(node: ast.Subscript) -> list[str] | None:
    """The names in ``x[a, b]`` (``d!`` read as ``d`` + :data:`ALL_MARK`), or None when
    the subscript is not a variable indexed by names."""
    if not isinstance(node.value, ast.Name):
        return None
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if not items or not all(isinstance(i, ast.Name) for i in items):
        return None
    return [i.id for i in items]


def subscripts_of(node: ast.Subscript) -> list[str]:
    """The subscript names of an array reference ``x[a, b!]`` (checked by the parser)."""
    return _subscripts(node)


def _check_constant(node: ast.Constant, text: str, source: str, where: str) -> None:
    """A constant must be a finite number."""
    if isinstance(node.value, bool) or not isinstance(node.value, int | float):
        raise _bad(node, text, source, where, "the constant", "use numbers only")
    try:
        finite = math.isfinite(float(node.value))
    except OverflowError:
        finite = False
    if not finite:
        raise ModelError(
            source,
            where,
            f"the number '{_quote(node, text)[:40]}' is not a finite float",
            "write a number below 1.8e308",
        )


def _check_call(node: ast.Call, text: str, source: str, where: str) -> None:
    """A call must name a builtin and give it what it takes; its arguments are checked too."""

    def bad(n: ast.AST, what: str, fix: str) -> ModelError:
        return _bad(n, text, source, where, what, fix)

    if not isinstance(node.func, ast.Name):
        raise bad(node, "the call", "call a builtin function by name")
    name = node.func.id
    if name not in FUNCTIONS:
        raise ModelError(
            source, where, f"unknown function '{name}' in '{text}'", suggest(name, FUNCTIONS)
        )
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise bad(node, "the keyword or starred argument in", "pass arguments by position")
    fn = FUNCTIONS[name]
    n = len(node.args)
    if n > MAX_ARGS:
        raise ModelError(
            source,
            where,
            f"{name}() is given {n:,} arguments, more than {MAX_ARGS}",
            f"nest the calls ({name}({name}(a, b, ...), ...)) or split into auxiliaries",
        )
    if (fn.n_args >= 0 and n != fn.n_args) or (fn.n_args < 0 and n < -fn.n_args):
        want = fn.n_args if fn.n_args >= 0 else f"at least {-fn.n_args}"
        noun = "argument" if fn.n_args == 1 else "arguments"
        raise ModelError(
            source, where, f"{name}() takes {want} {noun}, got {n} in '{text}'", fn.doc
        )
    if name in TABLE_FUNCTIONS and table_name(node.args[0]) is None:
        raise bad(node, "the table argument of", "name a table from 'lookups'")
    if name in ORDER_FUNCTIONS:
        order = node.args[-1]
        value = order.value if isinstance(order, ast.Constant) else None
        if not (isinstance(value, int | float) and value >= 1 and float(value).is_integer()):
            raise bad(order, f"the order of {name}()", "give a whole number >= 1, e.g. 3")
    for i, allowed in LITERAL_ARGS.get(name, {}).items():
        if _constant(node.args[i]) not in allowed:
            want = " or ".join(map(str, allowed))
            raise bad(node.args[i], f"argument {i + 1} of {name}()", f"give {want}: {fn.doc}")
    for arg in node.args:
        _check(arg, text, source, where)
    if (name in REDUCTIONS or (n == 1 and name in ("min", "max"))) and not _reduces(node.args[0]):
        raise ModelError(
            source,
            where,
            f"{name}() of one value in '{text}' has nothing to reduce",
            f"mark the dimension to reduce, e.g. {name}(x[region!])"
            if name in REDUCTIONS
            else f"give {name}() two or more arguments, or an array such as {name}(x[region!])",
        )
    if name in _RANDOM_RULES:
        _check_random_args(node, name, text, source, where)
    if name in VECTOR_FUNCTIONS:
        _check_vector(node, name, text, source, where)


def marks_in(node: ast.expr) -> list[str]:
    """The dimensions marked ``d!`` in ``node`` (as ``d`` + :data:`ALL_MARK`), in order,
    outside the reductions and vector functions nested in it (which loop over their own)."""
    found: dict[str, None] = {}

    def walk(n: ast.AST) -> None:
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            f = n.func.id
            if (
                f in REDUCTIONS
                or f in VECTOR_FUNCTIONS
                or (f in ("min", "max") and len(n.args) == 1)
            ):
                return
        if isinstance(n, ast.Subscript):
            for s in _subscripts(n) or ():
                if s.endswith(ALL_MARK):
                    found.setdefault(s, None)
            return
        for c in ast.iter_child_nodes(n):
            walk(c)

    walk(node)
    return list(found)


def _check_vector(node: ast.Call, name: str, text: str, source: str, where: str) -> None:
    """A vector function's array arguments: what it loops over, marked, or one element."""
    first = node.args[0]
    if name == "elm_map" and (not isinstance(first, ast.Subscript) or marks_in(first)):
        problem, fix = "needs an array element first", "write elm_map(x[d], offset), no '!'"
    elif name == "vector_select" and not (marks_in(first) or marks_in(node.args[1])):
        problem, fix = (
            "has no dimension to select over",
            "mark it: vector_select(s[d!], x[d!], ...)",
        )
    elif name == "invert_matrix" and len(marks_in(first)) != 2:
        problem, fix = "needs its matrix's row and column marked '!'", "invert_matrix(m[r!, c!], n)"
    elif name not in ("elm_map", "vector_select", "invert_matrix") and len(marks_in(first)) != 1:
        problem, fix = "needs its first argument over one dimension marked '!'", f"{name}(x[d!], 1)"
    else:
        return
    raise ModelError(source, where, f"{name}() in '{text}' {problem}", fix)


#: Random builtins: a check on their arguments when these are constants, and its fix.
_RANDOM_RULES = {
    "random_uniform": (lambda lo, hi: lo < hi, "needs low < high"),
    "random_normal": (lambda mean, sd: sd >= 0, "needs a standard deviation >= 0"),
    "pink_noise": (lambda sd, tau: sd >= 0 and tau > 0, "needs sd >= 0 and tau > 0"),
}


def _constant(node: ast.expr) -> float | None:
    """The value of a number or a negated number, else None."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return sign * float(node.value)
    return None


def _check_random_args(node: ast.Call, name: str, text: str, source: str, where: str) -> None:
    values = [_constant(a) for a in node.args]
    if any(v is None for v in values):
        return  # checked per run by the kernel's arithmetic: a NaN stops that run
    ok, need = _RANDOM_RULES[name]
    if not ok(*values):
        raise ModelError(
            source, where, f"'{_quote(node, text)}': {name}() {need}", "fix the arguments"
        )


def _reduces(node: ast.expr) -> bool:
    """Whether ``node`` reads an array over a dimension marked ``d!``."""
    return any(
        isinstance(n, ast.Subscript) and any(s.endswith(ALL_MARK) for s in _subscripts(n) or ())
        for n in ast.walk(node)
    )


def names_in(node: ast.AST) -> list[str]:
    """Variable names an expression reads, in order of appearance, without duplicates.

    The table argument of ``lookup`` and function names are not variables.
    """
    seen: dict[str, None] = {}

    def walk(n: ast.AST) -> None:
        if isinstance(n, ast.Name):
            seen.setdefault(n.id, None)
        elif isinstance(n, ast.Subscript):  # x[a, b]: reads x; a and b are subscripts
            walk(n.value)
        elif isinstance(n, ast.Call):
            args = n.args[1:] if n.func.id in TABLE_FUNCTIONS else n.args
            for a in args:
                walk(a)
        else:
            for child in ast.iter_child_nodes(n):
                walk(child)

    walk(node)
    return list(seen)


def tables_in(node: ast.AST) -> list[tuple[str, ast.Call]]:
    """The ``lookup`` calls of an expression, as (table name, call node)."""
    return [
        (table_name(n.args[0]), n)
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and n.func.id in TABLE_FUNCTIONS
    ]


def table_name(node: ast.expr) -> str | None:
    """The table a table function reads: ``tab``, or ``tab[d]`` for one of an array of
    tables; None for anything else."""
    if isinstance(node, ast.Subscript) and _subscripts(node) is not None:
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
