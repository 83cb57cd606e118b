"""Subscripts: dimensions, array variables and the pieces their equations are defined in.

An array variable has one or more dimensions (:class:`Range`) and takes one slot per
element, row-major, in the kernel's arrays; its scalar names (``x[a]``, ``x[a,b]``) are the
kernel's parameter, state and output names, so that scenarios, result files and reports see
elements as they see scalars. Its equation is kept once per *piece*, not once per element:
the default equation and each entry of ``elements`` (Vensim's per-element and EXCEPT
definitions) are a :class:`Piece`, which the code generator writes as one loop over the
piece's elements (:mod:`sim315.compilation.arraygen`), so code size does not grow with the
number of elements.

Within a piece, a subscript name is bound for each element the piece covers: the piece's
own names (a dimension, a subrange) and the variable's dimensions to the element at that
position. :func:`element_of` says which element of another array a subscript reads.
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass, field

from ..core.errors import suggest
from ..language.expressions import ALL_MARK

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Range:
    """A dimension or subrange: its elements, the dimension they belong to (``family``) and
    its mappings (other dimension -> the element each of this one's stands for)."""

    name: str
    elements: tuple[str, ...]
    family: str
    maps: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Piece:
    """Part of an array variable's definition: an equation (``tree``) for the elements at
    ``positions`` (flat, in the variable's slots), with each one's subscript bindings."""

    tree: ast.expr | None
    positions: list[int]
    bindings: list[dict[str, str]]
    where: tuple


@dataclass
class Layout:
    """The array variables of a model: their dimensions and the pieces of their equations
    (keyed by variable, and by ``<stock>.initial`` for array stocks' initial values)."""

    ranges: dict[str, Range]
    dims: dict[str, tuple[str, ...]]
    pieces: dict[str, list[Piece]] = field(default_factory=dict)

    def shape(self, var: str) -> tuple[int, ...]:
        return tuple(len(self.ranges[d].elements) for d in self.dims.get(var, ()))

    def size(self, var: str) -> int:
        n = 1
        for k in self.shape(var):
            n *= k
        return n

    def labels(self, var: str) -> list[str]:
        """Each element's label, ``a`` or ``a,b``, in slot order."""
        axes = [self.ranges[d].elements for d in self.dims[var]]
        return [",".join(t) for t in itertools.product(*axes)]

    def expand(self, var: str) -> list[str]:
        """The scalar names of ``var``'s slots: ``[var]`` for a scalar."""
        if var not in self.dims:
            return [var]
        return [f"{var}[{label}]" for label in self.labels(var)]

    def flat(self, var: str, elements: tuple[str, ...]) -> int:
        """The slot offset of one element of ``var`` (an element per dimension)."""
        pos = 0
        for d, e in zip(self.dims[var], elements, strict=True):
            items = self.ranges[d].elements
            pos = pos * len(items) + items.index(e)
        return pos

    def add_hidden(self, name: str, var: str, piece: Piece) -> None:
        """A hidden stock or pipeline made inside ``piece`` of ``var``: an array like
        ``var``, defined on the piece's elements (its other slots stay 0); its equations are
        the hidden stock's or pipeline's own."""
        self.dims[name] = self.dims[var]
        self.pieces[name] = [Piece(None, piece.positions, piece.bindings, piece.where)]


def _family(name: str, dim, decl, fail) -> str:
    """The dimension ``name`` belongs to (itself, or the one it is a subrange of), after
    checking its element names, subrange and original names."""
    loc = ("dimensions", name)
    for n in (name, *dim.elements):
        if not _NAME.fullmatch(n) or "__" in n:
            raise fail(
                loc,
                f"'{n}' is not a valid dimension or element name",
                "use letters, digits and single '_', starting with a letter",
            )
    if len(set(dim.elements)) != len(dim.elements):
        raise fail((*loc, "elements"), "an element is listed twice", "list each once")
    unknown = [n for n in dim.names if n not in dim.elements and n != name]
    if unknown:
        raise fail(
            (*loc, "names", unknown[0]),
            f"'{unknown[0]}' is not an element of '{name}'",
            suggest(unknown[0], dim.elements),
        )
    if dim.subrange_of is None:
        return name
    parent = decl.get(dim.subrange_of)
    if parent is None or dim.subrange_of == name:
        raise fail(
            (*loc, "subrange_of"), f"unknown dimension '{dim.subrange_of}'",
            suggest(dim.subrange_of, decl),
        )  # fmt: skip
    if parent.subrange_of is not None:
        raise fail(
            (*loc, "subrange_of"), "a subrange of a subrange", "name the dimension both are part of"
        )
    extra = [e for e in dim.elements if e not in parent.elements]
    if extra:
        raise fail(
            (*loc, "elements"),
            f"'{extra[0]}' is not an element of '{dim.subrange_of}'",
            suggest(extra[0], parent.elements),
        )
    return dim.subrange_of


def read_ranges(spec, fail) -> dict[str, Range]:
    """The model file's dimensions, checked: names, elements, subranges and mappings."""
    decl = spec.dimensions
    ranges = {name: Range(name, tuple(dim.elements), _family(name, dim, decl, fail))
              for name, dim in decl.items()}  # fmt: skip
    for name, dim in decl.items():
        for other, items in dim.maps_to.items():
            loc = ("dimensions", name, "maps_to", other)
            if other not in ranges:
                raise fail(loc, f"unknown dimension '{other}'", suggest(other, ranges))
            target = ranges[other].elements
            items = tuple(target if items is None else items)
            if len(items) != len(dim.elements) or any(e not in target for e in items):
                raise fail(
                    loc,
                    f"needs one element of '{other}' per element of '{name}'",
                    f"list {len(dim.elements)} of {list(target)}",
                )
            ranges[name].maps[other] = items
    return ranges


def selectors(key: str, dims: tuple[str, ...], ranges, where: str, fail):
    """The element lists and bound names of an ``elements`` key (``"north"``, ``"a, b"``)
    of a variable over ``dims``."""
    parts = [p.strip() for p in key.split(",")]
    if len(parts) != len(dims):
        raise fail(
            where,
            f"'{key}' names {len(parts)} subscripts for {len(dims)} dimensions",
            f"give one per dimension ({', '.join(dims)})",
        )
    lists, names = [], []
    for part, d in zip(parts, dims, strict=True):
        own = ranges[d].elements
        if part in ranges:
            items = ranges[part].elements
            bad = [e for e in items if e not in own]
            if bad:
                raise fail(
                    where, f"'{part}' is not part of dimension '{d}'", f"use {d} or a subrange"
                )
            lists.append(items)
            names.append(part)
        elif part in own:
            lists.append((part,))
            names.append(None)
        else:
            raise fail(where, f"'{part}' is not an element of '{d}'", suggest(part, own))
    return lists, names


def piece_of(tree, lists, names, var: str, layout: Layout, where: str, skip=()) -> Piece:
    """The piece of ``var`` over the product of ``lists`` (minus the positions in
    ``skip``), each element binding the names in ``names`` and the variable's dimensions."""
    dims = layout.dims[var]
    positions, bindings = [], []
    for combo in itertools.product(*lists):
        pos = layout.flat(var, combo)
        if pos in skip:
            continue
        bind = {d: e for d, e in zip(dims, combo, strict=True)}
        bind.update({n: e for n, e in zip(names, combo, strict=True) if n is not None})
        positions.append(pos)
        bindings.append(bind)
    return Piece(tree, positions, bindings, where)


def element_of(sub: str, axis: str, bind: dict[str, str], ranges) -> str:
    """The element of dimension ``axis`` that subscript ``sub`` reads under ``bind``: a
    bound name (the piece's, or ``d`` + :data:`ALL_MARK` in a reduction), an element, a
    dimension of the same family or mapped from a bound one. Raises ``KeyError(reason)``."""
    want = ranges[axis]
    if sub in bind:
        e = bind[sub]
    elif sub in ranges:
        e = _by_family(sub, axis, bind, ranges)
    elif sub in ranges[want.family].elements or sub in want.elements:
        e = sub
    else:
        raise KeyError(f"'{sub}' is neither an element of '{axis}' nor a dimension")
    if e in want.elements:
        return e
    for name, elem in bind.items():  # a mapping from the bound name's dimension
        r = ranges.get(name.removesuffix(ALL_MARK))
        if r is not None and elem == e and e in r.elements:
            for target, items in r.maps.items():
                if target == axis or ranges[target].family == want.family:
                    mapped = items[r.elements.index(e)]
                    if mapped in want.elements:
                        return mapped
    raise KeyError(f"element '{e}' is not in dimension '{axis}'")


def _by_family(sub: str, axis: str, bind: dict[str, str], ranges) -> str:
    """The element a dimension name not bound in the piece stands for: the bound element of
    a name of the same family, or of one that maps to ``sub``."""
    family = ranges[sub].family
    for name, e in bind.items():  # a mapping to ``sub`` itself comes first
        r = ranges.get(name)
        if r is not None and sub in r.maps and not name.endswith(ALL_MARK):
            return r.maps[sub][r.elements.index(e)]
    for name, e in bind.items():
        if name.endswith(ALL_MARK):
            continue
        r = ranges.get(name)
        if r is None:
            continue
        if r.family == family:
            return e
        for target, items in r.maps.items():
            if target == sub or ranges[target].family == family:
                return items[r.elements.index(e)]
    raise KeyError(f"dimension '{sub}' is not on the left-hand side, and no mapping leads to it")


def check_dims(spec, ranges, fail) -> dict[str, tuple[str, ...]]:
    """Each array element's dimensions, checked (known, not repeated)."""
    out = {}
    for section in ("parameters", "stocks", "flows", "auxiliaries", "lookups"):
        for name, el in getattr(spec, section).items():
            if not el.dims:
                continue
            for d in el.dims:
                if d not in ranges:
                    raise fail(
                        (section, name, "dims"), f"unknown dimension '{d}'", suggest(d, ranges)
                    )
            if len(set(el.dims)) != len(el.dims):
                raise fail(
                    (section, name, "dims"),
                    "a dimension is repeated",
                    "declare an alias dimension (a subrange with all elements)",
                )
            out[name] = tuple(el.dims)
    return out
