"""Vensim's INVERT MATRIX and ALLOCATE BY PRIORITY as loops of the array kernel
(docs/models.md, "Dimensions and arrays").

Called by :class:`sim315.compilation.arraygen.ArrayEmitter` for ``invert_matrix(m[.., r!,
c!], n)``: for the element being computed it copies the ``n`` x ``n`` matrix its row and
column marks select (the other subscripts bound by the piece, as in
:mod:`sim315.compilation.vectors`) into a local ``n`` x ``2n`` array beside the identity,
runs Gauss-Jordan elimination with partial pivoting (the largest pivot in absolute value,
the first of equal ones) as plain loops, and reads the element's entry of the inverse. The
local array has a size known when the kernel is written: ``np.empty`` in the CPU kernels,
``cuda.local.array`` in a CUDA device function (:func:`for_device`), so the same lines run in
both, once per run and evaluation. A singular matrix (a zero pivot, NaN included) gives NaN,
which stops that run. Each element inverts its matrix anew: ``n**3`` steps per element.

``allocate_by_priority(request[d!], priority[d!], width, supply)`` copies the requests and
priorities along ``d`` into rows of a local ``6`` x ``n`` array and calls the kernel builtin
:func:`sim315.kernels.allocation.allocate_by_priority` for the element's share (``n**2``
steps per element). ``allocate_available(request[d!], pp[d!, ptype], avail)`` copies the
requests and the profiles' type, priority and width (the element ``ptype`` and the two
after it along ``pp``'s last dimension) into a local ``4`` x ``n`` array for
:func:`sim315.kernels.allocation.allocate_available`.
"""

from __future__ import annotations

import ast
import copy
import re

from ..language.expressions import ALL_MARK, marks_in, subscripts_of
from .vectors import _constant, _indent, _loop, _position

#: The functions written here.
FUNCTIONS = ("invert_matrix", "allocate_by_priority", "allocate_available")

#: The largest matrix inverted: the local array holds 2 n**2 doubles per thread on a GPU.
MAX_N = 32

_LOCAL = re.compile(r"np\.empty\((\(\d+, \d+\))\)  # local")


def for_device(text: str) -> str:
    """Kernel text with the local arrays of :func:`emit` allocated as CUDA local arrays."""
    return _LOCAL.sub(r"cuda.local.array(\1, np.float64)", text)


def emit(em, node: ast.Call) -> str:
    """The value of call ``node`` of one of :data:`FUNCTIONS` in emitter ``em``'s current
    piece."""
    em.count += 1
    p = f"w{em.count}"
    if node.func.id == "allocate_by_priority":
        return _allocate(em, node, p)
    if node.func.id == "allocate_available":
        return _available(em, node, p)
    return _invert(em, node, p)


def _allocate(em, node: ast.Call, p: str) -> str:
    request, priority, width, supply = node.args
    (mark,) = marks_in(request)
    if marks_in(priority) != [mark]:
        raise KeyError(
            "allocate_by_priority() needs its priority over the request's dimension,"
            f" '{mark.removesuffix(ALL_MARK)}!', and no other marked"
        )
    k = _position(em, mark, "allocate_by_priority")
    n = len(em.layout.ranges[mark.removesuffix(ALL_MARK)].elements)
    a = f"{p}_a"
    lines = [f"{a} = np.empty((6, {n}))  # local", f"{p}_k = {k}"]
    lines += [f"{p}_w = {em.value(width)}", f"{p}_s = {em.value(supply)}"]
    q, count, body, (r, pr) = _loop(em, [mark], [request, priority])
    lines += [f"for {q} in range({count}):", *_indent(body)]
    lines += _indent([f"{a}[0, {q}] = {r}", f"{a}[1, {q}] = {pr}"])
    lines.append(f"{p}_r = _allocate_by_priority({a}, {n}, {p}_w, {p}_s, {p}_k)")
    em.prelude.extend(lines)
    return f"{p}_r"


def _available(em, node: ast.Call, p: str) -> str:
    request, profile, avail = node.args
    (mark,) = marks_in(request)
    profiles = _profile_elements(em, profile, mark)
    k = _position(em, mark, "allocate_available")
    n = len(em.layout.ranges[mark.removesuffix(ALL_MARK)].elements)
    a = f"{p}_a"
    lines = [f"{a} = np.empty((4, {n}))  # local", f"{p}_k = {k}", f"{p}_v = {em.value(avail)}"]
    q, count, body, values = _loop(em, [mark], [request, *profiles])
    lines += [f"for {q} in range({count}):", *_indent(body)]
    lines += _indent([f"{a}[{row}, {q}] = {v}" for row, v in enumerate(values)])
    lines.append(f"{p}_r = _allocate_available({a}, {n}, {p}_v, {p}_k)")
    em.prelude.extend(lines)
    return f"{p}_r"


def _profile_elements(em, profile: ast.expr, mark: str) -> list[ast.expr]:
    """``pp[d!, ptype]`` -> the references to its profile's type, priority and width: the
    element ``ptype`` names and the two after it along ``pp``'s last dimension."""
    subs = subscripts_of(profile) if isinstance(profile, ast.Subscript) else None
    dims = em.layout.dims.get(profile.value.id) if subs else None
    elements = em.layout.ranges[dims[-1]].elements if dims else []
    at = elements.index(subs[-1]) if subs and subs[-1] in elements else len(elements)
    if marks_in(profile) != [mark] or at + 2 >= len(elements):
        raise KeyError(
            "allocate_available() needs its profile as pp[.., "
            f"{mark.removesuffix(ALL_MARK)}!, ptype]: 'ptype' the element of pp's last"
            " dimension followed by the priority and the width"
        )
    refs = []
    for element in elements[at : at + 3]:
        ref = copy.deepcopy(profile)
        items = ref.slice.elts if isinstance(ref.slice, ast.Tuple) else [ref.slice]
        items[-1].id = element
        refs.append(ref)
    return refs


def _invert(em, node: ast.Call, p: str) -> str:
    x, size = node.args
    rows, cols = marks_in(x)
    n = len(em.layout.ranges[rows.removesuffix(ALL_MARK)].elements)
    m = len(em.layout.ranges[cols.removesuffix(ALL_MARK)].elements)
    given = _constant(size)
    if n != m or given != n or n > MAX_N:
        raise KeyError(
            f"invert_matrix() needs a square matrix of at most {MAX_N} rows and its size as a"
            f" number: '{rows.removesuffix(ALL_MARK)}!' has {n} elements,"
            f" '{cols.removesuffix(ALL_MARK)}!' {m}, the size given is {ast.unparse(size)}"
        )
    i = _position(em, rows, "invert_matrix")
    j = _position(em, cols, "invert_matrix")
    a = f"{p}_a"
    lines = [f"{p}_i = {i}", f"{p}_j = {j}", f"{a} = np.empty(({n}, {2 * n}))  # local"]
    q, count, body, (value,) = _loop(em, [rows, cols], [x])
    lines += [f"for {q} in range({count}):", *_indent(body)]
    lines += _indent(
        [
            f"{a}[{q} // {n}, {q} % {n}] = {value}",
            f"{a}[{q} // {n}, {n} + {q} % {n}] = 1.0 if {q} // {n} == {q} % {n} else 0.0",
        ]
    )
    lines += _gauss_jordan(p, n)
    lines += [f"{p}_r = math.nan", f"if {p}_ok:", f"    {p}_r = {a}[{p}_i, {n} + {p}_j]"]
    em.prelude.extend(lines)
    return f"{p}_r"


def _gauss_jordan(p: str, n: int) -> list[str]:
    """Lines reducing ``{p}_a``'s left half to the identity, its right half becoming the
    inverse; ``{p}_ok`` is False when a pivot is 0 or NaN (the matrix is singular)."""
    a, c, r, k = f"{p}_a", f"{p}_c", f"{p}_rr", f"{p}_k"
    return [
        f"{p}_ok = True",
        f"for {c} in range({n}):",
        f"    {p}_p = {c}",
        f"    for {r} in range({c} + 1, {n}):",
        f"        if abs({a}[{r}, {c}]) > abs({a}[{p}_p, {c}]):",
        f"            {p}_p = {r}",
        f"    {p}_v = {a}[{p}_p, {c}]",
        f"    if not abs({p}_v) > 0.0:",
        f"        {p}_ok = False",
        "        break",
        f"    if {p}_p != {c}:",
        f"        for {k} in range({2 * n}):",
        f"            {p}_t = {a}[{c}, {k}]",
        f"            {a}[{c}, {k}] = {a}[{p}_p, {k}]",
        f"            {a}[{p}_p, {k}] = {p}_t",
        f"    for {k} in range({2 * n}):",
        f"        {a}[{c}, {k}] = {a}[{c}, {k}] / {p}_v",
        f"    for {r} in range({n}):",
        f"        {p}_f = {a}[{r}, {c}]",
        f"        if {r} != {c} and {p}_f != 0.0:",
        f"            for {k} in range({2 * n}):",
        f"                {a}[{r}, {k}] = {a}[{r}, {k}] - {p}_f * {a}[{c}, {k}]",
    ]
