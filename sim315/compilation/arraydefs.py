"""Array elements of a model file, checked and cut into pieces for the compiler.

:func:`array_layout` reads the dimensions and which elements are arrays;
:class:`ArrayDefs` turns an array's equation(s), values and initial values into pieces
(:class:`sim315.compilation.arrays.Piece`), lowers their SMOOTH/DELAY calls into hidden
array stocks, and expands names into the per-element kernel names (``x[a]``).
"""

from __future__ import annotations

import ast
import math

from .arrays import Layout, check_dims, piece_of, read_ranges, selectors


def array_layout(spec, fail) -> Layout | None:
    """The model's arrays, or None for a model without dimensions."""
    if not spec.dimensions:
        for section in ("parameters", "stocks", "flows", "auxiliaries", "lookups"):
            for name, el in getattr(spec, section).items():
                if el.dims:
                    raise fail(
                        (section, name, "dims"),
                        "the model declares no dimensions",
                        "add them under 'dimensions'",
                    )
        return None
    ranges = read_ranges(spec, fail)
    layout = Layout(ranges, check_dims(spec, ranges, fail))
    for s, st in spec.stocks.items():
        if s in layout.dims and not isinstance(st.initial, str | dict):
            layout.dims[f"{s}.init"] = layout.dims[s]
    return layout


class ArrayDefs:
    """The compiler's handling of array elements (``layout``; ``parse(text, loc)`` parses
    and checks one equation; ``fail(loc, problem, fix)`` makes the error)."""

    def __init__(self, layout: Layout, parse, fail):
        self.layout = layout
        self.parse = parse
        self.fail = fail
        self.texts: dict[str, list[str]] = {}

    def definitions(self, section: str, name: str, default, elements: dict) -> ast.Tuple:
        """The pieces of ``name`` (``default``: the equation of the elements ``elements``
        does not define); returns a tuple of their trees, what ordering reads."""
        loc = (section, name)
        explicit, taken = [], set()
        for key, text in elements.items():
            where = (*loc, "elements", key)
            lists, names = selectors(
                key, self.layout.dims[name], self.layout.ranges, where, self.fail
            )
            piece = piece_of(self.parse(text, where), lists, names, name, self.layout, where)
            twice = taken.intersection(piece.positions)
            if twice:
                label = self.layout.labels(name)[min(twice)]
                raise self.fail(where, f"element [{label}] is defined twice", "define it once")
            taken.update(piece.positions)
            explicit.append((piece, text))
        pieces = [p for p, _t in explicit]
        texts = [t for _p, t in explicit]
        if len(taken) < self.layout.size(name):
            if default is None:
                rest = [lb for i, lb in enumerate(self.layout.labels(name)) if i not in taken]
                field = "initial" if section == "stocks" else "equation"
                raise self.fail(
                    loc,
                    f"elements [{', '.join(rest[:3])}] have no equation",
                    f"give '{field}' for them, or define them in 'elements'",
                )
            where = (*loc, "initial" if section == "stocks" else "equation")
            axes = [self.layout.ranges[d].elements for d in self.layout.dims[name]]
            pieces.insert(
                0,
                piece_of(
                    self.parse(default, where),
                    axes,
                    [None] * len(axes),
                    name,
                    self.layout,
                    where,
                    taken,
                ),
            )
            texts.insert(0, default)
        key = f"{name}.initial" if section == "stocks" else name
        self.layout.pieces[key] = pieces
        self.texts[key] = texts
        return ast.Tuple(elts=[p.tree for p in pieces], ctx=ast.Load())

    def stock_initial(self, name: str, initial) -> ast.Tuple | None:
        """An array stock's initial pieces; None when it is numeric (``<stock>.init`` is
        then an array parameter, one kernel input per element)."""
        if isinstance(initial, str):
            return self.definitions("stocks", name, initial, {})
        if isinstance(initial, dict):
            texts = {k: v if isinstance(v, str) else repr(float(v)) for k, v in initial.items()}
            return self.definitions("stocks", name, None, texts)
        if not math.isfinite(initial):
            raise self.fail(("stocks", name, "initial"), "must be finite")
        axes = [self.layout.ranges[d].elements for d in self.layout.dims[name]]
        tree = ast.Name(id=f"{name}.init")
        self.layout.pieces[f"{name}.initial"] = [
            piece_of(tree, axes, [None] * len(axes), name, self.layout, ("stocks", name))
        ]
        return None

    def values(self, name: str, value, loc=None) -> list:
        """A parameter's value (or a table's points, at ``loc``) per element, in slot order:
        one for all, or a dict keyed by element, subrange or ``"a, b"``."""
        loc = loc or ("parameters", name, "value")
        n = self.layout.size(name)
        if not isinstance(value, dict):
            return [value] * n
        out: list = [None] * n
        for key, v in value.items():
            lists, names = selectors(
                key, self.layout.dims[name], self.layout.ranges, (*loc, key), self.fail
            )
            for pos in piece_of(None, lists, names, name, self.layout, loc).positions:
                out[pos] = v
        missing = [lb for lb, v in zip(self.layout.labels(name), out, strict=True) if v is None]
        if missing:
            raise self.fail(
                loc, f"no value for [{', '.join(missing[:3])}]", "give every element a value"
            )
        return out

    def lower(self, lowerer, name: str, key: str | None = None) -> ast.Tuple:
        """Lower each piece of ``key`` (default ``name``); hidden stocks born in a piece are
        arrays like ``name`` on that piece's elements."""
        key = key or name
        trees = []
        for piece in self.layout.pieces[key]:
            if isinstance(piece.tree, ast.Name) and piece.tree.id.endswith(".init"):
                continue
            before, fixed = len(lowerer.hidden), len(lowerer.dfix)
            piece.tree = lowerer.lower(piece.tree, name)
            for h in lowerer.hidden[before:] + lowerer.dfix[fixed:]:
                self.layout.add_hidden(h.name, name, piece)  # arrays like ``name``
            trees.append(piece.tree)
        return ast.Tuple(elts=trees, ctx=ast.Load())


def expand_names(layout: Layout | None, names) -> list[str]:
    """Scalar names of ``names`` in order: an array's per element."""
    if layout is None:
        return list(names)
    return [n for name in names for n in layout.expand(name)]
