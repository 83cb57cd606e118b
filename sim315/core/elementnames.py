"""Names of array elements: ``x[a]``, ``x[a,b]`` (docs/models.md, "Dimensions and arrays").

Every element of an array is a scalar of the kernel named after its array and its
elements; this module is the one place that reads such a name back.
"""

from __future__ import annotations

import re

_ELEMENT = re.compile(r"^(?P<array>[^\[\]]+)\[(?P<subs>[^\[\]]+)\]$")


def split_element(name: str) -> tuple[str, list[str]] | None:
    """``("x", ["a", "b"])`` for ``x[a,b]``; None for a name that is not an element's."""
    m = _ELEMENT.match(name)
    if m is None:
        return None
    return m["array"], [s.strip() for s in m["subs"].split(",")]


def array_of(name: str) -> str:
    """The array an element's name belongs to (``x`` for ``x[a]``); a scalar's own name."""
    parts = split_element(name)
    return name if parts is None else parts[0]
