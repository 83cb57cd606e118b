"""Arrays in the XMILE 1.0 export (:mod:`.xmile_writer`).

Dimensions become the document's ``<dimensions>`` (elements under their original names,
``names`` of the dimension); an array variable lists its ``<dimensions>`` and has one
apply-to-all ``<eqn>`` or one ``<element subscript="...">`` per element. References read
``x[d]`` (``x`` alone is written ``x[d]``, its own dimensions), ``x[e]``; reductions over a
whole dimension of the array read are XMILE's SUM/PROD/MIN/MAX of ``x[*]``, other
reductions are written out element by element. Subranges are not XMILE 1.0: a subrange
used in ``elements`` keys, values or equations is expanded into its elements, an array over
a subrange is refused. Mappings (``maps_to``), vector, matrix and allocation functions are
refused with one line naming the element and the construct.
"""

from __future__ import annotations

import ast
import itertools
import re

from ..compilation.arrays import selectors
from ..core.errors import ModelError
from ..language.expressions import ALL_MARK, REDUCTIONS, VECTOR_FUNCTIONS, subscripts_of

_REDUCE = {"sum": "SUM", "prod": "PROD", "vmin": "MIN", "vmax": "MAX", "min": "MIN", "max": "MAX"}
_JOIN = {"sum": " + ", "prod": " * "}


def check(ir) -> None:
    """Refuse what XMILE 1.0 cannot say: mappings and arrays over a subrange."""
    spec, layout = ir.spec, ir.layout
    for name, dim in spec.dimensions.items():
        if dim.maps_to:
            raise ModelError(
                ir.source,
                f"dimensions.{name}",
                "a dimension mapping (maps_to) has no XMILE 1.0 counterpart",
                "export a model without maps_to (write the mapped elements out)",
            )
    for var, dims in layout.dims.items():
        for d in dims:
            if spec.dimensions[d].subrange_of is not None:
                raise ModelError(
                    ir.source,
                    var.split(".")[0],
                    f"an array over the subrange '{d}' has no XMILE 1.0 counterpart",
                    f"declare it over '{layout.ranges[d].family}' to export it",
                )


def is_reduction(fn: str, node: ast.Call) -> bool:
    return fn in REDUCTIONS or (fn in ("min", "max") and len(node.args) == 1)


def refuse_vector(w, fn: str, where: str) -> None:
    if fn in VECTOR_FUNCTIONS:
        raise ModelError(
            w.ir.source,
            where,
            f"{fn}() (a vector, matrix or allocation function) has no XMILE 1.0 counterpart",
            "export a model without it",
        )


class Arrays:
    """What the writer knows of the model's arrays (``w``: the :class:`_Writer`)."""

    def __init__(self, w, ir):
        self.w, self.ir = w, ir
        self.layout = ir.layout
        self.ranges = ir.layout.ranges
        self.dims = dict(ir.layout.dims)  # and the initial values written as auxiliaries
        self.bind: dict[str, str] = {}

    def elem(self, dim: str, element: str) -> str:
        """An element as a subscript in an equation (its original name)."""
        family = self.ranges[dim].family
        shown = self.ir.spec.dimensions[family].names.get(element, element)
        name = "_".join(shown.split())
        return name if name.replace("_", "").isalnum() and name.isascii() else f'"{name}"'

    def label(self, dims, combo) -> str:
        names = [
            self.ir.spec.dimensions[self.ranges[d].family].names.get(e, e)
            for d, e in zip(dims, combo, strict=True)
        ]
        return ",".join(names)

    def dims_xml(self) -> list[str]:
        out = ["  <dimensions>"]
        for name, dim in self.ir.spec.dimensions.items():
            if dim.subrange_of is not None:
                continue
            elems = "".join(f'<elem name="{_attr(dim.names.get(e, e))}"/>' for e in dim.elements)
            out.append(f'    <dim name="{_attr(name)}">{elems}</dim>')
        return [*out, "  </dimensions>"]

    def var_dims(self, ident: str) -> str:
        dims = "".join(f'<dim name="{_attr(d)}"/>' for d in self.dims[ident])
        return f"<dimensions>{dims}</dimensions>"

    # -- references ----------------------------------------------------------------
    def sub(self, s: str, dim: str) -> str:
        if s in self.bind:
            return self.elem(dim, self.bind[s])
        if s in self.ranges:
            return s
        return self.elem(dim, s)

    def name(self, ident: str) -> str:
        """``x`` alone: read by its own dimension names."""
        dims = self.dims[ident]
        return f"{self.w.ref(ident)}[{', '.join(self.sub(d, d) for d in dims)}]"

    def subscript(self, node: ast.Subscript) -> str:
        ident = node.value.id
        dims = self.dims[ident]
        subs = subscripts_of(node)
        return f"{self.w.ref(ident)}[{', '.join(map(self.sub, subs, dims))}]"

    def reduction(self, fn: str, node: ast.Call, where: str) -> str:
        arg = node.args[0]
        if isinstance(arg, ast.Subscript):
            ident, subs = arg.value.id, subscripts_of(arg)
            dims = self.dims[ident]
            pairs = list(zip(subs, dims, strict=True))
            whole = [s == d + ALL_MARK for s, d in pairs]  # x[d!], d the array's own
            if any(whole) and whole == [s.endswith(ALL_MARK) for s in subs]:
                inner = [
                    "*" if w else self.sub(s, d) for s, d, w in zip(subs, dims, whole, strict=True)
                ]
                return f"{_REDUCE[fn]}({self.w.ref(ident)}[{', '.join(inner)}])"
        marks = _marks(arg)
        lists = [self.ranges[m[: -len(ALL_MARK)]].elements for m in marks]
        terms = []
        for combo in itertools.product(*lists):
            saved = self.bind
            self.bind = {**saved, **dict(zip(marks, combo, strict=True))}
            try:
                terms.append(self.w.expr(arg, where))
            finally:
                self.bind = saved
        if fn in _JOIN:
            return f"({_JOIN[fn].join(terms)})"
        return f"{_REDUCE[fn]}({', '.join(terms)})" if len(terms) > 1 else terms[0]

    # -- definitions ---------------------------------------------------------------
    def per_element(self, ident: str, default, keyed: dict, where: str) -> dict:
        """Each element (a tuple) -> (its equation or value, the names it binds)."""
        dims = self.dims[ident]
        out = {}
        fail = lambda loc, problem, fix=None: ModelError(self.ir.source, loc, problem, fix)  # noqa: E731
        for key, text in keyed.items():
            lists, names = selectors(str(key), dims, self.ranges, f"{where}.{key}", fail)
            for combo in itertools.product(*lists):
                bind = {d: e for d, e in zip(dims, combo, strict=True)}
                bind.update({n: e for n, e in zip(names, combo, strict=True) if n})
                out[combo] = (text, bind)
        for combo in itertools.product(*(self.ranges[d].elements for d in dims)):
            if combo not in out:
                out[combo] = (default, dict(zip(dims, combo, strict=True)))
        return out

    def definition(self, ident: str, default, keyed: dict, where: str) -> str:
        """The ``<dimensions>`` and ``<eqn>``/``<element>`` parts of an array variable."""
        head = self.var_dims(ident)
        if not keyed:
            return head + eqn(self.w.equation(default, where))
        parts = []
        for combo, (text, bind) in self.per_element(ident, default, keyed, where).items():
            self.bind = bind
            try:
                body = self.w.equation(text, where)
            finally:
                self.bind = {}
            parts.append(
                f'<element subscript="{_attr(self.label(self.dims[ident], combo))}">'
                f"{eqn(body)}</element>"
            )
        return head + "".join(parts)

    def table(self, ident: str, t) -> str:
        """A standalone ``<gf>`` array: one table for all elements, or one per element."""
        head = self.var_dims(ident)
        if not isinstance(t.x, dict) and not isinstance(t.y, dict):
            return head + _points(t.x, t.y)
        xs = t.x if isinstance(t.x, dict) else {}
        ys = t.y if isinstance(t.y, dict) else {}
        dims = self.dims[ident]
        px = self.per_element(ident, t.x, xs, f"lookups.{ident}.x")
        py = self.per_element(ident, t.y, ys, f"lookups.{ident}.y")
        return head + "".join(
            f'<element subscript="{_attr(self.label(dims, c))}">'
            f"<gf>{_points(px[c][0], py[c][0])}</gf></element>"
            for c in px
        )


def initial_name(ir, stock: str) -> str:
    """An unused identifier for the array of a stock's per-element initial values."""
    spec = ir.spec
    taken = {*spec.parameters, *spec.stocks, *spec.flows, *spec.auxiliaries, *spec.lookups}
    taken |= {"_".join(n.lower().split()) for n in spec.names.values()}
    name, n = f"{stock}_initial", 1
    while name in taken:
        n += 1
        name = f"{stock}_initial_{n}"
    return name


def _marks(node: ast.expr) -> list[str]:
    found: dict[str, None] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
            for s in subscripts_of(n) or ():
                if s.endswith(ALL_MARK):
                    found.setdefault(s, None)
    return list(found)


def _attr(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text, {'"': "&quot;"})


def eqn(text: str) -> str:
    from xml.sax.saxutils import escape

    return f"<eqn>{escape(text)}</eqn>"


def _points(x, y) -> str:
    xs = ",".join(repr(float(v)) for v in x)
    ys = ",".join(repr(float(v)) for v in y)
    return f"<xpts>{xs}</xpts><ypts>{ys}</ypts>"


_VARIABLE = re.compile(r'<(aux|stock|flow|gf)\s+name="([^"]*)"[^>]*>(.*?)</\1>', re.DOTALL)
_DIMS = re.compile(r"<dimensions>(.*?)</dimensions>", re.DOTALL)
_EQN = re.compile(r"<eqn>(.*?)</eqn>", re.DOTALL)
_REF = re.compile(r'("(?:[^"\\]|\\.)*"|[^\W\d][\w$\']*)(\s*)\[([^\]]*\*[^\]]*)\]')


def _key(name: str) -> str:
    return "_".join(name.strip().strip('"').lower().replace("_", " ").split())


def star_subscripts(text: str) -> str:
    """XMILE's wildcard ``x[*]`` (SUM(x[*]), ``m[d, *]``) as PySD 3.14's parser reads it:
    ``x[d!]``, ``d`` the dimension of ``x`` at that position (PySD's grammar has no
    ``*``; a reference to a variable whose dimensions are unknown is left alone)."""
    if "*]" not in text and "*," not in text:
        return text
    dims = {}
    for m in _VARIABLE.finditer(text):
        found = _DIMS.search(m.group(3))
        if found:
            dims[_key(m.group(2))] = re.findall(r'<dim\s+name="([^"]*)"', found.group(1))

    def ref(m: re.Match) -> str:
        own = dims.get(_key(m.group(1)))
        items = [i.strip() for i in m.group(3).split(",")]
        if own is None or len(own) != len(items):
            return m.group(0)
        subs = [
            (f'"{d}"' if not d.replace("_", "").isalnum() else d) + "!" if i == "*" else i
            for i, d in zip(items, own, strict=True)
        ]
        return f"{m.group(1)}{m.group(2)}[{', '.join(subs)}]"

    return _EQN.sub(lambda m: f"<eqn>{_REF.sub(ref, m.group(1))}</eqn>", text)
