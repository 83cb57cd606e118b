"""Vensim's vector functions -> sim315's (docs/models.md, "Dimensions and arrays").

VECTOR SELECT keeps its arguments (its ``!`` marks say what it selects over); VECTOR ELM
MAP becomes ``elm_map``; VECTOR SORT ORDER, VECTOR RANK and VECTOR REORDER order "the
complete vector relative to the last subscript" (Vensim's reference), so the last subscript
of their first argument is marked ``!``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: A reference written by the equation writer: ``name[a, b]``.
_REFERENCE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*\[(?:[^\[\]]*,\s*)?)([A-Za-z0-9_]+)!?\]")


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
    return None


def _mark_last(text: str, fn: str, refuse: type[Exception]) -> str:
    """``x[a, b]`` -> ``x[a, b!]``: the dimension a sort, rank or reorder runs along."""
    found = _REFERENCE.fullmatch(text)
    if found is None:
        name = fn.replace("_", " ").upper()
        raise refuse(f"{name} of '{text}'", "give it a subscripted variable, e.g. x[d]")
    return f"{found.group(1)}{found.group(2)}!]"
