"""Vensim and XMILE subscripts as sim315 dimensions and array elements.

PySD's abstract model gives the subscript ranges (a list of elements, a copy of another
range, or elements read from a file) and, per element, one component per definition: its
subscripts (ranges or elements, one per dimension), the elements an ``:EXCEPT:`` leaves out,
and its expression. :class:`Subscripts` maps them: a range becomes a dimension, one that holds
only elements of another a subrange of it (``subrange_of``), a Vensim mapping
``A: a1, a2 -> B`` lets equations over ``B`` read arrays over ``A`` (``maps_to``, by
position); an element's dimensions are read from what its definitions cover; numbers become
array parameters, INTEG definitions array stocks (their net flow one array flow), the rest
array auxiliaries with a definition per piece (``elements``; an EXCEPT definition is the
default ``equation`` when the others define exactly what it leaves out).

Names of ranges and elements are made safe as variable names are (:mod:`.names`); when one
changes, the dimension's ``names`` maps the identifiers to the originals (shown by ``model
simulate``, accepted by ``--outputs``; :func:`original_elements` reads them back) and its
``doc`` lists them.
"""

from __future__ import annotations

import itertools

import numpy as np

from .equations import UnsupportedError
from .names import key, safe_identifier
from .reader import abstract_expressions

ae = abstract_expressions()


#: PySD's array functions -> sim315's reductions.
REDUCE = {
    "sum": "sum",
    "prod": "prod",
    "vmin": "vmin",
    "vmax": "vmax",
    "vmin_xmile": "vmin",
    "vmax_xmile": "vmax",
}


class Subscripts:
    """The ranges of one model section; ``reserved``: the variables' identifiers."""

    def __init__(self, section, reserved: set[str], fail, read=None):
        self.fail = fail
        self.read = read  # (range name, GET DIRECT SUBSCRIPT's arguments) -> element names
        self.taken = set(reserved)
        self.ident: dict[str, str] = {}  # key of a range or element -> identifier
        self.original: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}  # key of a range -> keys of its elements
        self.nets: dict[str, tuple] = {}  # array stock -> (element, net flow), to attach
        raw = {key(r.name): r for r in section.subscripts}
        for k, r in raw.items():
            items = self._expand(r, raw)
            self.members[k] = [e for e, _name in items]
            self._name(k, r.name)
            for e, name in items:
                self._name(e, name)
        # range -> {other range: the element of other per element (None: by position)}
        self.maps: dict[str, dict[str, list[str] | None]] = {k: {} for k in raw}
        for k, r in raw.items():
            for target in r.mapping or ():
                self._mapping(k, target)
        self.family = {k: self._family(k) for k in raw}

    # -- ranges ------------------------------------------------------------------------
    def _expand(self, r, raw, seen=()) -> list[tuple[str, str]]:
        """A range's elements as (key, original name): a copy (Vensim ``B <-> A``) has its
        range's, and a range listed among elements stands for its own elements."""
        if key(r.name) in seen:
            raise self.fail(r.name, "a range defined through itself")
        seen = (*seen, key(r.name))
        subs = r.subscripts
        if isinstance(subs, str):
            subs = [subs]
        if isinstance(subs, dict) and self.read is not None:
            subs = self.read(r.name, subs)
        if not isinstance(subs, list | tuple):
            raise self.fail(
                r.name,
                "a subscript range read from a file is not supported",
                "list its elements in the model",
            )
        out = []
        for e in subs:
            inner = raw.get(key(e))
            out += self._expand(inner, raw, seen) if inner is not None else [(key(e), str(e))]
        return out

    def _name(self, k: str, original: str) -> None:
        if k in self.ident:
            return
        base = safe_identifier(original).replace("__", "_")
        ident, n = base, 1
        while ident in self.taken:
            n += 1
            ident = f"{base.rstrip('_')}_{n}"
        self.taken.add(ident)
        self.ident[k] = ident
        self.original[ident] = " ".join(str(original).split())

    def _family(self, k: str) -> str | None:
        """The range ``k`` is a subrange of: the first range holding all of its elements and
        more that no other range holds (Vensim's subranges), else None."""
        mine = set(self.members[k])
        tops = [o for o, items in self.members.items() if o != k and mine < set(items)]
        tops = [
            o
            for o in tops
            if not any(set(self.members[o]) < set(self.members[p]) for p in self.members)
        ]
        return tops[0] if tops else None

    def _mapping(self, k: str, target) -> None:
        """Vensim ``A: ... -> B``: B's equations read A's arrays, element by position. PySD
        reads ``A: a1, a2 -> (B: b2, b1)`` as the elements a1, a2, b2, b1 mapped to B: the
        second half is then the element of B for each of the first."""
        t = key(target) if isinstance(target, str) else None
        if t not in self.members or t == k:
            raise self.fail(
                str(target),
                "a subscript mapping to something other than a range is not supported",
                "map to a range (A: a1, a2 -> B)",
            )
        mine, theirs, listed = self.members[k], self.members[t], None
        half = len(mine) // 2
        split = len(mine) == 2 * half == 2 * len(theirs) and set(mine[half:]) <= set(theirs)
        if split and half and not set(mine[:half]) & set(theirs):
            self.members[k], listed = mine[:half], mine[half:]
        if listed is None and len(theirs) != len(self.members[k]):
            raise self.fail(
                str(target),
                "a mapping between ranges of different sizes is not supported",
                "map ranges of the same size",
            )
        self.maps[k][t] = listed
        inverse = None if listed is None else [self.members[k][listed.index(e)] for e in theirs]
        self.maps[t][k] = inverse

    def dimensions(self) -> dict:
        """The model file's ``dimensions``."""
        out = {}
        for k, items in self.members.items():
            spec: dict = {"elements": [self.ident[e] for e in items]}
            if self.family[k] is not None:
                spec["subrange_of"] = self.ident[self.family[k]]
            if self.maps[k]:
                spec["maps_to"] = {
                    self.ident[t]: None if items is None else [self.ident[e] for e in items]
                    for t, items in self.maps[k].items()
                }
            names = [self.original[self.ident[e]] for e in items]
            dim = self.original[self.ident[k]]
            if dim != self.ident[k] or names != spec["elements"]:
                spec["doc"] = f"{dim} = [{', '.join(names)}]"
                changed = {self.ident[k]: dim} if dim != self.ident[k] else {}
                changed.update(
                    {i: o for i, o in zip(spec["elements"], names, strict=True) if i != o}
                )
                spec["names"] = changed
            out[self.ident[k]] = spec
        return out

    def subscript(self, name: str) -> str:
        """One subscript of a reference: a range (``d!`` kept) or an element."""
        text = str(name).strip()
        bang = text.endswith("!")
        k = key(text.rstrip("!").strip())
        if k not in self.ident:
            raise UnsupportedError(f"the unknown subscript '{text}'", "define it in a range")
        return self.ident[k] + ("!" if bang else "")

    def reference(self, ident: str, subs) -> str:
        return f"{ident}[{', '.join(self.subscript(s) for s in subs)}]"

    def call(self, fn: str, args, write) -> str | None:
        """An array function (sum, ELMCOUNT ...) as sim315 text; None for other functions."""
        if fn in REDUCE:
            (x,) = args
            return f"{REDUCE[fn]}({write(x)})"
        if fn == "elmcount":
            (x,) = args
            name = getattr(x, "reference", x)
            k = key(str(name))
            if k not in self.members:
                raise UnsupportedError("ELMCOUNT of something that is not a range")
            return repr(float(len(self.members[k])))
        return None

    # -- the elements of one definition --------------------------------------------------
    def expand(self, name: str) -> list[str]:
        """The element keys a subscript of a definition stands for."""
        k = key(name)
        return list(self.members[k]) if k in self.members else [k]

    def covered(self, comp) -> list[tuple[str, ...]]:
        """The element tuples one component defines (its EXCEPT ones left out)."""
        subs, excepts = comp.subscripts
        out = list(itertools.product(*(self.expand(s) for s in subs)))
        left = set()
        for ex in excepts or ():
            left.update(itertools.product(*(self.expand(s) for s in ex)))
        return [t for t in out if t not in left]

    def dims_of(self, el) -> list[str]:
        """The range keys of an array element, one per position."""
        comps = el.components
        n = len(comps[0].subscripts[0])
        if any(len(c.subscripts[0]) != n for c in comps):
            raise self.fail(el.name, "definitions with different numbers of subscripts")
        dims: list[str | None] = [None] * n
        unions = [{t[i] for c in comps for t in self.covered(c)} for i in range(n)]
        for i in range(n):  # a range a definition names, holding what is defined
            for c in comps:
                k = key(c.subscripts[0][i])
                if k in self.members and set(self.members[k]) == unions[i] and k not in dims:
                    dims[i] = k
                    break
        for i in range(n):
            if dims[i] is None:
                dims[i] = self._smallest(unions[i], dims, el.name, i)
        return dims

    def _smallest(self, items: set[str], used, where: str, i: int) -> str:
        """The range of exactly ``items``; made, as a subrange, when the model has none (an
        element defined on part of a range has only those elements, as in Vensim) or when
        the element has that range already (``x[dim, dim]``: the second is an alias)."""
        found = [k for k, v in self.members.items() if items <= set(v)]
        if not found:
            raise self.fail(where, f"no range holds the elements {sorted(items)[:3]}")
        exact = [k for k in found if set(self.members[k]) == items and k not in used]
        if exact:
            return exact[0]
        tops = [k for k in found if self.family[k] is None] or found
        top = min(tops, key=lambda k: len(self.members[k]))
        part = f"{where} {i + 1} {self.original[self.ident[top]]}"
        while key(part) in self.members:
            part += " 2"
        self.members[key(part)] = [e for e in self.members[top] if e in items]
        self.family[key(part)] = self.family[top] or top
        self.maps[key(part)] = {}
        self._name(key(part), part)
        return key(part)

    def position(self, name: str, subs, dims, items) -> float:
        """Vensim's value of a range's or an element's name in an equation: the element's
        number, its 1-based position in the first range that lists it (for a range, the
        element the definition is at: ``items``, its element per dimension)."""
        k = key(name)
        if k not in self.members:
            return self.number(k)
        mine = self.family.get(k) or k
        for same in (lambda r: r == k, lambda r: (self.family.get(r) or r) == mine):
            for sub, dim, item in zip(subs, dims, items, strict=True):
                near = [r for r in (key(sub), dim) if r in self.members]
                if any(same(r) for r in near) and item in self.members[k]:
                    return self.number(item)
        raise UnsupportedError(f"the range {name} used as a value where it is not subscripted")

    def number(self, item: str) -> float:
        for items in self.members.values():
            if item in items:
                return float(items.index(item) + 1)
        raise UnsupportedError(f"the unknown name '{item}'", "define it in the model")

    def label(self, subs) -> str:
        return ", ".join(self.subscript(s) for s in subs)

    def labels(self, items) -> str:
        return ", ".join(self.ident[e] for e in items)


def original_elements(model: dict) -> dict[str, str]:
    """An imported model's element identifiers -> original names (from the dimensions'
    ``doc``); identifiers that did not change are absent."""
    out = {}
    for dim, spec in (model.get("dimensions") or {}).items():
        if isinstance(spec, dict):
            out.update({i: o for i, o in spec.get("names", {}).items() if i != dim})
    return out


def values_of(subs: Subscripts, comp) -> dict[tuple[str, ...], float]:
    """A constant definition's numbers by element tuple (those an EXCEPT leaves out too)."""
    items = list(itertools.product(*(subs.expand(s) for s in comp.subscripts[0])))
    data = np.asarray(comp.ast, dtype=float)
    if data.ndim == 0:
        return dict.fromkeys(items, float(data))
    flat = data.reshape(-1)
    if flat.size != len(items):
        raise UnsupportedError("an array constant whose size does not match its subscripts")
    return {t: float(v) for t, v in zip(items, flat, strict=True)}


def is_number(ast) -> bool:
    if isinstance(ast, bool):
        return False
    if isinstance(ast, int | float):
        return bool(np.isfinite(ast))
    return isinstance(ast, np.ndarray) and bool(np.isfinite(ast.astype(float)).all())
