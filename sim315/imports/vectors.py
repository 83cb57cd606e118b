"""Vensim's vector functions -> sim315's (docs/models.md, "Dimensions and arrays").

VECTOR SELECT keeps its arguments (its ``!`` marks say what it selects over); VECTOR ELM
MAP becomes ``elm_map``; VECTOR SORT ORDER, VECTOR RANK and VECTOR REORDER order "the
complete vector relative to the last subscript" (Vensim's reference), so the last subscript
of their first argument is marked ``!``; INVERT MATRIX marks its matrix's last two.
ALLOCATE BY PRIORITY and ALLOCATE AVAILABLE mark the last subscript of their request and
the requesters' subscript of their priority (profile). GET TIME VALUE
becomes ``get_time_value`` for measure 0 relative to the current or initial time; its
calendar measures and the computer's clock are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: A reference written by the equation writer: ``name[a, b]``.
_MARKABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\[([^\[\]]*)\]")
_ELEMENT = re.compile(r"[A-Za-z0-9_]+!?")


def vector_call(fn: str, args: list, write: Callable, refuse: type[Exception]) -> str | None:
    """A vector function call as sim315 text; None when ``fn`` is not one. ``refuse``: the
    importer's exception for a construct it cannot write (construct, fix)."""
    if fn == "vector_select":
        return f"vector_select({', '.join(write(a) for a in args)})"
    if fn == "vector_elm_map":
        x, offset = args
        return f"elm_map({write(x)}, {write(offset)})"
    if fn in ("vector_sort_order", "vector_rank", "vector_reorder"):
        x, other = args
        return f"{fn}({_mark_last(write(x), fn, refuse)}, {write(other)})"
    if fn == "invert_matrix":  # the matrix is its last two subscripts
        x, size = args
        marked = _mark_last(_mark_last(write(x), fn, refuse, 1), fn, refuse)
        return f"invert_matrix({marked}, {write(size)})"
    if fn == "get_time_value":
        return _time_value(args, write, refuse)
    return None


def allocation_call(node, write: Callable, refuse: type[Exception]) -> str:
    """ALLOCATE BY PRIORITY(request, priority, size, width, supply): it allocates along the
    last subscript of the request and the priority (marked ``!``), so ``size``, the number of
    elements it allocates among (Vensim's examples give ELMCOUNT of that subscript), is
    dropped."""
    fn = "allocate_by_priority"
    request = _mark_last(write(node.request), fn, refuse)
    priority = _mark_last(write(node.priority), fn, refuse)
    return f"{fn}({request}, {priority}, {write(node.width)}, {write(node.supply)})"


def available_call(node, write: Callable, refuse: type[Exception]) -> str:
    """ALLOCATE AVAILABLE(request, pp[.., d, ptype], avail): it allocates along the last
    subscript of the request, the one before the profile element ``ptype`` in ``pp``."""
    fn = "allocate_available"
    request = _mark_last(write(node.request), fn, refuse)
    profile = _mark_last(write(node.pp), fn, refuse, 1)
    return f"{fn}({request}, {profile}, {write(node.avail)})"


def _time_value(args: list, write: Callable, refuse: type[Exception]) -> str:
    """GET TIME VALUE(relative to, offset, measure) for measure 0 (units of Time) relative
    to the current (0) or the initial (1) time; the calendar measures and the computer's
    clock need a date the model does not carry."""
    relative, offset, measure = args
    if relative not in (0, 1) or measure != 0:
        shown = [f"{a:g}" if isinstance(a, int | float) else write(a) for a in (relative, measure)]
        raise refuse(
            f"GET TIME VALUE({shown[0]}, ..., {shown[1]}) (a calendar date or the computer's"
            " clock)",
            "use GET TIME VALUE(0 or 1, offset, 0), or Time and INITIAL TIME",
        )
    return f"get_time_value({int(relative)}, {write(offset)}, 0)"


def _mark_last(text: str, fn: str, refuse: type[Exception], skip: int = 0) -> str:
    """``x[a, b]`` -> ``x[a, b!]``: the dimension a sort, rank or reorder runs along
    (``skip=1``: the one before the last, ``x[a!, b]``)."""
    found = _MARKABLE.fullmatch(text)
    subs = [] if found is None else [s.strip() for s in found.group(2).split(",")]
    if len(subs) < 1 + skip or not all(_ELEMENT.fullmatch(s) for s in subs):
        name = fn.replace("_", " ").upper()
        raise refuse(f"{name} of '{text}'", "give it a subscripted variable, e.g. x[d]")
    k = len(subs) - 1 - skip
    subs[k] = subs[k].removesuffix("!") + "!"
    return f"{found.group(1)}[{', '.join(subs)}]"
