"""Vensim's vector functions as loops of the array kernel (docs/models.md, "Dimensions and
arrays").

Called by :class:`sim315.compilation.arraygen.ArrayEmitter` for ``vector_select``,
``elm_map``, ``vector_sort_order``, ``vector_rank`` and ``vector_reorder``: each writes
lines into the piece's prelude (inside its ``for it`` loop) and returns the local holding
its value. Loops over the marked dimension read their argument as a reduction does (a loop
level ``q<k>`` whose elements bind ``d!``); nothing is allocated, so the same code runs in
the CPU kernels and as a CUDA device function, once per run and evaluation: results do not
depend on threads or chunks. Ordering is a count (an element's rank is one plus the number
of elements before it), so ties keep the elements' order (reversed for a descending
direction, which is the exact reverse of the ascending one); ``vector_rank`` and
``vector_reorder`` take ``n`` steps per element, ``vector_sort_order`` ``n**2``. A value
out of range (an offset or order past the array, an unknown action, an error action that
fires) is NaN, which stops that run.
"""

from __future__ import annotations

import ast
import itertools

from ..language.expressions import ALL_MARK, marks_in, subscripts_of

#: vector_select's numerical actions: the accumulator each one reads (4 and 10 divide it
#: by the number of elements selected).
ACTIONS = {0: "sw", 1: "pw", 2: "nw", 3: "xw", 4: "sw", 5: "pe", 6: "sx", 7: "px", 8: "nx"}
ACTIONS.update({9: "xx", 10: "sx"})
#: Accumulators over the selected elements (``s`` non-zero): start, step.
_ACC = {
    "sw": ("0.0", "{a} + {s} * {x}"),
    "pw": ("1.0", "{a} * ({s} * {x})"),
    "nw": ("math.inf", "min({a}, {s} * {x})"),
    "xw": ("-math.inf", "max({a}, {s} * {x})"),
    "pe": ("1.0", "{a} * {x} ** {s}"),  # Vensim computes x ** s (its help says s ** x)
    "sx": ("0.0", "{a} + {x}"),
    "px": ("1.0", "{a} * {x}"),
    "nx": ("math.inf", "min({a}, {x})"),
    "xx": ("-math.inf", "max({a}, {x})"),
}


def emit(em, node: ast.Call) -> str:
    """The value of vector function call ``node`` in emitter ``em``'s current piece."""
    em.count += 1
    p = f"w{em.count}"
    return _EMIT[node.func.id](em, node, p)


def _loop(em, marks: list[str], nodes: list[ast.expr]) -> tuple[str, int, list[str], list]:
    """A loop level over the elements of ``marks``: its index, length, the lines computing
    ``nodes`` in its body and their values (valid in that body only)."""
    axes = []
    for m in marks:
        r = em.layout.ranges.get(m.removesuffix(ALL_MARK))
        if r is None:
            raise KeyError(f"'{m.removesuffix(ALL_MARK)}!' is not a dimension")
        axes.append(r.elements)
    binds = [dict(zip(marks, combo, strict=True)) for combo in itertools.product(*axes)]
    em.count += 1
    q = f"q{em.count}"
    outer = em.prelude
    em.levels.append((q, binds))
    em.prelude = []
    try:
        values = [em.value(n) for n in nodes]
        body = em.prelude
    finally:
        em.levels.pop()
        em.prelude = outer
    return q, len(binds), body, values


def _whole(name: str, expr: str, hi: int) -> list[str]:
    """Lines setting int ``name`` to ``expr`` rounded to the nearest whole number when that
    is in ``0 .. hi - 1``, else to -1 (NaN included)."""
    return [
        f"{name} = -1",
        f"{name}_f = {expr} + 0.5",
        f"if {name}_f >= 0.0 and {name}_f < {hi}.0:",
        f"    {name} = int({name}_f)",
    ]


def _indent(lines: list[str], n: int = 1) -> list[str]:
    return ["    " * n + ln for ln in lines]


# -- VECTOR SELECT ----------------------------------------------------------------------
def _select(em, node: ast.Call, p: str) -> str:
    sel, x, missing, action, error = node.args
    marks = list(dict.fromkeys(marks_in(sel) + marks_in(x)))
    a = _constant(action)
    if a is not None and a not in ACTIONS:
        raise KeyError(f"vector_select() action {a:g} is not one of 0 to 10")
    e = _constant(error)
    lines = [f"{p}_m = {em.value(missing)}"]
    if a is None:
        lines += _whole(f"{p}_a", em.value(action), 11)
    if e is None:
        lines += _whole(f"{p}_e", em.value(error), 4)
    q, n, body, (s_val, x_val) = _loop(em, marks, [sel, x])
    accs = list(_ACC) if a is None else [ACTIONS[a]]
    lines += [f"{p}_n = 0"] + [f"{p}_{k} = {_ACC[k][0]}" for k in accs]
    lines += [f"for {q} in range({n}):", *_indent(body)]
    lines += _indent([f"{p}_s = {s_val}", f"if {p}_s != 0.0:", f"    {p}_x = {x_val}"])
    steps = [f"{p}_n += 1"] + [
        f"{p}_{k} = " + _ACC[k][1].format(a=f"{p}_{k}", s=f"{p}_s", x=f"{p}_x") for k in accs
    ]
    lines += _indent(steps, 2)
    lines += [f"{p}_r = {p}_m", f"if {p}_n > 0:"]
    if a is not None:
        lines.append(f"    {p}_r = {_value(p, a)}")
    else:
        lines.append(f"    {p}_r = math.nan")
        for k in ACTIONS:
            lines += [f"    if {p}_a == {k}:", f"        {p}_r = {_value(p, k)}"]
    lines += _errors(p, e)
    em.prelude.extend(lines)
    return f"{p}_r"


def _value(p: str, action: int) -> str:
    """Action ``action``'s value from the accumulators of call ``p``."""
    mean = f" / {p}_n" if action in (4, 10) else ""
    return f"{p}_{ACTIONS[action]}{mean}"


def _errors(p: str, e: int | None) -> list[str]:
    """vector_select's error action: NaN when no element is selected (1, 3) or more than
    one is (2, 3)."""
    if e is not None and e not in (0, 1, 2, 3):
        raise KeyError(f"vector_select() error action {e:g} is not one of 0 to 3")
    lines = []
    for test, codes in ((f"{p}_n == 0", (1, 3)), (f"{p}_n > 1", (2, 3))):
        if e is None:
            when = f"({p}_e == {codes[0]} or {p}_e == {codes[1]}) and "
        elif e in codes:
            when = ""
        else:
            continue
        lines += [f"if {when}{test}:", f"    {p}_r = math.nan"]
    return lines


def _constant(node: ast.expr) -> float | None:
    """A number literal's value (a negated one too), else None."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1.0, node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        v = sign * float(node.value)
        return int(v) if v.is_integer() else v
    return None


# -- VECTOR ELM MAP ---------------------------------------------------------------------
def _elm_map(em, node: ast.Call, p: str) -> str:
    ref, offset = node.args
    var = ref.value.id
    array, base = em.slots.array(var, em.state)
    at = em._offset(var, subscripts_of(ref), base)
    size = em.layout.size(var)
    lines = _whole(f"{p}_k", f"{em.value(offset)} + ({at} - {base})", size)
    lines += [
        f"{p}_r = math.nan",
        f"if {p}_k >= 0:",
        f"    {p}_r = {array}[{base} + {p}_k]",
    ]
    em.prelude.extend(lines)
    return f"{p}_r"


# -- VECTOR SORT ORDER, VECTOR RANK, VECTOR REORDER -------------------------------------
def _position(em, mark: str, fn: str) -> str:
    """The index of the element being computed along the piece's dimension that goes with
    ``mark``: the marked dimension itself, one of its family, or one mapped to or from it,
    of the same length."""
    dim = mark.removesuffix(ALL_MARK)
    ranges = em.layout.ranges
    if len(em.levels) > 1:
        raise KeyError(f"{fn}() is inside sum/prod/vmin/vmax or another vector function")
    bindings = em.levels[0][1]
    want = ranges[dim]
    names = [
        n for n in bindings[0] if n in ranges and len(ranges[n].elements) == len(want.elements)
    ]
    for ok in (
        lambda r: r.name == dim,
        lambda r: r.family == want.family,
        lambda r: dim in r.maps or r.name in want.maps,
    ):
        found = [n for n in names if ok(ranges[n])]
        if found:
            column = [ranges[found[0]].elements.index(b[found[0]]) for b in bindings]
            return em._index([column], ["it"])
    raise KeyError(
        f"{fn}() gives one value per element of '{dim}': define the variable over '{dim}'"
        " or a dimension of its length mapped to or from it"
    )


def _before(p: str, y: str, v: str, qy: str, qv: str) -> list[str]:
    """Lines adding 1 to ``{p}_c`` when value ``y`` (at ``qy``) comes before ``v`` (at
    ``qv``) in direction ``{p}_d``: ascending when it is > 0, else descending."""
    return [
        f"if {p}_d > 0:",
        f"    if {y} < {v} or ({y} == {v} and {qy} < {qv}):",
        f"        {p}_c += 1",
        f"elif {y} > {v} or ({y} == {v} and {qy} > {qv}):",
        f"    {p}_c += 1",
    ]


def _rank(em, node: ast.Call, p: str) -> str:
    x, direction = node.args
    (mark,) = marks_in(x)
    k = _position(em, mark, "vector_rank")
    lines = [f"{p}_d = {em.value(direction)}", f"{p}_k = {k}", f"{p}_v = 0.0", f"{p}_c = 1"]
    qa, n, body_a, (xa,) = _loop(em, [mark], [x])
    lines += [f"for {qa} in range({n}):", *_indent(body_a)]
    lines += _indent([f"if {qa} == {p}_k:", f"    {p}_v = {xa}"])
    qb, n, body_b, (xb,) = _loop(em, [mark], [x])
    lines += [f"for {qb} in range({n}):", *_indent(body_b)]
    lines += _indent([f"{p}_y = {xb}", *_before(p, f"{p}_y", f"{p}_v", qb, f"{p}_k")])
    lines.append(f"{p}_r = float({p}_c)")
    em.prelude.extend(lines)
    return f"{p}_r"


def _sort_order(em, node: ast.Call, p: str) -> str:
    x, direction = node.args
    (mark,) = marks_in(x)
    k = _position(em, mark, "vector_sort_order")
    lines = [f"{p}_d = {em.value(direction)}", f"{p}_k = {k}", f"{p}_r = math.nan"]
    qa, n, body_a, (xa,) = _loop(em, [mark], [x])
    qb, n, body_b, (xb,) = _loop(em, [mark], [x])
    inner = [f"for {qb} in range({n}):", *_indent(body_b)]
    inner += _indent([f"{p}_y = {xb}", *_before(p, f"{p}_y", f"{p}_v", qb, qa)])
    lines += [f"for {qa} in range({n}):", *_indent(body_a)]
    lines += _indent([f"{p}_v = {xa}", f"{p}_c = 0", *inner])
    lines += _indent([f"if {p}_c == {p}_k:", f"    {p}_r = float({qa})"])
    em.prelude.extend(lines)
    return f"{p}_r"


def _reorder(em, node: ast.Call, p: str) -> str:
    x, order = node.args
    (mark,) = marks_in(x)
    n = len(em.layout.ranges[mark.removesuffix(ALL_MARK)].elements)
    lines = [*_whole(f"{p}_o", em.value(order), n), f"{p}_r = math.nan"]
    qa, n, body_a, (xa,) = _loop(em, [mark], [x])
    lines += [f"for {qa} in range({n}):", *_indent(body_a)]
    lines += _indent([f"if {qa} == {p}_o:", f"    {p}_r = {xa}"])
    em.prelude.extend(lines)
    return f"{p}_r"


_EMIT = {
    "vector_select": _select,
    "elm_map": _elm_map,
    "vector_sort_order": _sort_order,
    "vector_rank": _rank,
    "vector_reorder": _reorder,
}
