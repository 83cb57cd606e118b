"""Array equations to Numba source: a loop per piece, never a line per element.

A piece (:class:`sim315.compilation.arrays.Piece`) of an array variable is written as one
loop over its elements, ``for it in range(n)``, storing into the variable's slots of the
kernel's arrays (``V`` equations, ``X`` the state being read, ``K`` the rates, ``PP`` the
parameters). Each array reference in it reads a slot whose offset is a sum of one term per
loop level (the piece's ``it``, each reduction's ``q<k>``), each term affine in its index
(``3 + it``) or an index table that is a module constant (``_IX4[it]``): how mappings,
subranges, transpositions and fixed elements are read. Reductions (``sum``, ``prod``,
``vmin``, ``vmax``, one-argument ``min``/``max``) are loops inside the piece's loop.
"""

from __future__ import annotations

import ast
import itertools

import numpy as np

from ..core.errors import ModelError
from ..language.expressions import (
    ALL_MARK,
    REDUCTIONS,
    TABLE_FUNCTIONS,
    VECTOR_FUNCTIONS,
    marks_in,
    subscripts_of,
    table_name,
)
from . import matrices, vectors
from .arrays import Layout, Piece, element_of
from .emitter import Emitter

_START = {"sum": "0.0", "prod": "1.0", "vmin": "math.inf", "vmax": "-math.inf"}
_STEP = {
    "sum": "{r} = {r} + {x}",
    "prod": "{r} = {r} * {x}",
    "vmin": "{r} = min({r}, {x})",
    "vmax": "{r} = max({r}, {x})",
}


class Slots:
    """Where each variable's slots start in the kernel's arrays."""

    def __init__(self, ir):
        layout: Layout | None = ir.layout
        self.layout = layout
        size = layout.size if layout is not None else (lambda _n: 1)
        self.param = {}
        names = ir.base_params
        index = {n: i for i, n in enumerate(names)}
        for n in list(ir.spec.parameters) + [f"{s}.init" for s in ir.stocks]:
            first = layout.expand(n)[0] if layout is not None and n in layout.dims else n
            if first in index:
                self.param[n] = index[first]
        self.state = {}
        k = 0
        for s in ir.stocks + [h.name for h in ir.hidden]:
            self.state[s] = k
            k += size(s)
        self.n_state = k
        self.eq = {}
        k = 0
        for n in ir.equations:
            self.eq[n] = k
            k += size(n)
        self.n_eq = k
        self.dfix = {}
        k = 0
        for d in ir.dfix:
            self.dfix[d.name] = k
            k += size(d.name)
        self.n_dfix = k

    def array(self, name: str, state: str = "X") -> tuple[str, int]:
        """The kernel array holding ``name`` and its first slot."""
        if name in self.eq:
            return "V", self.eq[name]
        if name in self.state:
            return state, self.state[name]
        if name in self.dfix:
            return "D", self.dfix[name]
        return "PP", self.param[name]


class ArrayEmitter(Emitter):
    """An :class:`Emitter` that also writes array references, for one piece at a time."""

    def __init__(self, ir, slots: Slots, tables: list[str], state: str = "X"):
        super().__init__(ir, "s", "t", "nt")
        self.layout = ir.layout
        self.ir_source = ir.source
        self.slots = slots
        for d in ir.dfix:  # a scalar pipeline's local is named by its slot
            self.ref[d.name] = f"d_{slots.dfix[d.name]}"
        self.tables = tables
        self.state = state
        self.levels: list[tuple[str, list[dict[str, str]]]] = []
        self.prelude: list[str] = []
        self.count = 0

    # -- a piece -------------------------------------------------------------------------
    def loop(self, piece: Piece, tree: ast.expr, store: str, base: int) -> list[str]:
        """The loop computing ``tree`` on ``piece``'s elements into slot ``base + `` the
        element's, of ``store`` (an array, or a format such as ``K[2, {}]``)."""
        self.levels = [("it", piece.bindings)]
        self.prelude = []
        try:
            x = self.value(tree)
        except KeyError as exc:
            raise ModelError(self.ir_source, ".".join(piece.where), exc.args[0], _FIX) from None
        at = self._index([piece.positions], ["it"], base)
        lines = [f"for it in range({len(piece.positions)}):"]
        lines += ["    " + ln for ln in self.prelude]
        fmt = store if "{}" in store else store + "[{}]"
        lines.append("    " + fmt.format(at) + f" = {x}")
        return lines

    def scalar(self, tree: ast.expr) -> tuple[list[str], str]:
        """``tree`` outside any piece (a scalar reading array elements): prelude, value."""
        self.levels = [("it", [{}])]
        self.prelude = []
        x = self.value(tree)
        return self.prelude, x

    # -- expressions ---------------------------------------------------------------------
    def value(self, node: ast.expr) -> str:
        if isinstance(node, ast.Subscript):
            return self._ref(node.value.id, subscripts_of(node))
        if isinstance(node, ast.Name) and node.id in self.layout.dims:
            return self._ref(node.id, list(self.layout.dims[node.id]))  # apply to all
        if isinstance(node, ast.Call):
            fn = node.func.id
            if fn in TABLE_FUNCTIONS and table_name(node.args[0]) in self.layout.dims:
                return self._table(fn, node)
            if fn in matrices.FUNCTIONS:
                return matrices.emit(self, node)
            if fn in VECTOR_FUNCTIONS:
                return vectors.emit(self, node)
            if fn in REDUCTIONS or (fn in ("min", "max") and len(node.args) == 1):
                return self._reduce({"min": "vmin", "max": "vmax"}.get(fn, fn), node.args[0])
            if fn in ("_rand_uniform", "_rand_normal") and len(self.levels[0][1]) > 1:
                short = "_runif" if fn == "_rand_uniform" else "_rnorm"
                a, b = self.value(node.args[0]), self.value(node.args[1])
                site = f"{node.args[2].value} + 65536 * (it + 1)"  # a site per element
                return f"{short}(key, run, step_i, {site}, {a}, {b})"
        return super().value(node)

    def _ref(self, var: str, subs: list[str]) -> str:
        array, base = self.slots.array(var, self.state)
        return f"{array}[{self._offset(var, subs, base)}]"

    def _table(self, fn: str, node: ast.Call) -> str:
        """A table function reading one of an array of tables (``lookup(tab[d], x)``)."""
        tab = node.args[0]
        name = table_name(tab)
        subs = subscripts_of(tab) if isinstance(tab, ast.Subscript) else None
        subs = subs or list(self.layout.dims[name])
        at = self._offset(name, subs, self.lookup_index[self.layout.expand(name)[0]])
        x = self.value(node.args[1])
        return f"_{fn.lstrip('_')}(lx, ly, lo[{at}], lo[{at} + 1], {x})"

    def _offset(self, var: str, subs: list[str], base: int) -> str:
        """The slot of ``var[subs]`` from ``var``'s first, ``base``: a sum of terms, one per
        loop level."""
        dims = self.layout.dims.get(var)
        if dims is None:
            raise KeyError(f"'{var}' is not an array: it takes no subscripts")
        if len(subs) != len(dims):
            raise KeyError(f"'{var}' has {len(dims)} dimensions, not {len(subs)} subscripts")
        strides = _strides(self.layout.shape(var))
        per_level = [np.zeros(len(b), dtype=np.int64) for _n, b in self.levels]
        for sub, axis, stride in zip(subs, dims, strides, strict=True):
            k = self._level_of(sub)
            elements = self.layout.ranges[axis].elements
            column = [
                elements.index(element_of(sub, axis, b, self.layout.ranges))
                for b in self.levels[k][1]
            ]
            per_level[k] += stride * np.array(column, dtype=np.int64)
        return self._index(per_level, [n for n, _b in self.levels], base)

    def _level_of(self, sub: str) -> int:
        """The innermost loop level that binds ``sub`` (0, the piece, by default)."""
        for k in range(len(self.levels) - 1, 0, -1):
            if sub in self.levels[k][1][0]:
                return k
        if sub.endswith(ALL_MARK):
            raise KeyError(f"'{sub.removesuffix(ALL_MARK)}!' is outside sum/prod/vmin/vmax")
        return 0

    def _index(self, per_level, names: list[str], base: int = 0) -> str:
        """``base`` plus one term per loop level: ``3 * it``, or ``_IX<k>[q1]`` where the
        offsets are not affine; constants folded."""
        terms, const = [], base
        for values, idx in zip(per_level, names, strict=True):
            values = np.asarray(values, dtype=np.int64)
            if values.size == 0:
                continue
            a = int(values[0])
            b = int(values[1] - values[0]) if values.size > 1 else 0
            if np.array_equal(values, a + b * np.arange(values.size)):
                const += a
                if b:
                    terms.append(idx if b == 1 else f"{b} * {idx}")
            else:
                name = f"_IX{len(self.tables)}"
                self.tables.append(f"{name} = np.array({values.tolist()!r}, dtype=np.int64)")
                terms.append(f"{name}[{idx}]")
        if const or not terms:
            terms.append(str(const))
        return " + ".join(terms)

    def _reduce(self, kind: str, arg: ast.expr) -> str:
        marks = _marks(arg)
        axes = [self.layout.ranges[m.removesuffix(ALL_MARK)].elements for m in marks]
        binds = [dict(zip(marks, combo, strict=True)) for combo in itertools.product(*axes)]
        self.count += 1
        q, r = f"q{self.count}", f"r{self.count}"
        outer = self.prelude
        self.levels.append((q, binds))
        self.prelude = []
        x = self.value(arg)
        inner = self.prelude
        self.levels.pop()
        self.prelude = outer
        step = _STEP[kind].format(r=r, x=x)
        outer += [f"{r} = {_START[kind]}", f"for {q} in range({len(binds)}):"]
        outer += ["    " + ln for ln in inner] + [f"    {step}"]
        return r


def _marks(node: ast.expr) -> list[str]:
    """The ``d!`` names read in ``node``, outside nested reductions, in order."""
    return marks_in(node)


def _strides(shape: tuple[int, ...]) -> list[int]:
    out, k = [], 1
    for n in reversed(shape):
        out.append(k)
        k *= n
    return out[::-1]


def has_arrays(layout: Layout, tree: ast.expr) -> bool:
    """Whether ``tree`` reads an array element or reduces over a dimension."""
    return any(
        isinstance(n, ast.Subscript) or (isinstance(n, ast.Name) and n.id in layout.dims)
        for n in ast.walk(tree)
    )


def _raw(lines: list[str], defines: str = "") -> tuple[str, str, str]:
    """A block line that is a statement of its own (a loop), defining local ``defines``."""
    return ("", "\n".join(lines), defines)


def equation_lines(ir, slots: Slots, em: ArrayEmitter, name: str) -> list[tuple[str, str, str]]:
    """The block lines computing equation ``name`` into its slots of ``V``."""
    layout = ir.layout
    base = slots.eq[name]
    if name in layout.dims:
        lines = []
        for piece in layout.pieces[name]:
            lines += em.loop(piece, piece.tree, "V", base)
        return [_raw(lines)]
    tree = ir.equations[name]
    if not has_arrays(layout, tree):
        return [(f"v_{name}", em.value(tree), f"V[{base}]")]
    prelude, x = em.scalar(tree)
    return [_raw([*prelude, f"v_{name} = {x}", f"V[{base}] = v_{name}"], f"v_{name}")]


def state_init_lines(ir, slots: Slots, em: ArrayEmitter, kind: str, name: str):
    """The block lines setting the initial value of array stock or hidden stock ``name``."""
    layout = ir.layout
    base = slots.state[name]
    if kind == "stock":
        pieces = [(p, p.tree) for p in layout.pieces[f"{name}.initial"]]
    else:
        h = next(h for h in ir.hidden if h.name == name)
        pieces = [(layout.pieces[name][0], h.init)]
    return [_raw(_fill(layout, name, "X", pieces, em, base))]


def _fill(layout: Layout, name: str, store: str, pieces, em: ArrayEmitter, base: int):
    """Loops writing ``pieces`` (piece, tree) of ``name`` into ``store``, zeros first where
    they leave slots (a hidden stock of a piece that covers part of its array)."""
    lines = []
    n = layout.size(name)
    if sum(len(p.positions) for p, _t in pieces) < n:
        fmt = store if "{}" in store else store + "[{}]"
        lines += [f"for it in range({n}):", "    " + fmt.format(f"it + {base}") + " = 0.0"]
    for piece, tree in pieces:
        lines += em.loop(piece, tree, store, base)
    return lines


def rate_lines(ir, slots: Slots, em: ArrayEmitter, stage: int) -> list[tuple[str, str, str]]:
    """The block lines writing every state slot's rate into ``K[stage, slot]``."""
    layout = ir.layout
    out = []
    for s in ir.stocks:
        st = ir.spec.stocks[s]
        base, n = slots.state[s], layout.size(s)
        terms = [f"+ V[it + {slots.eq[f]}]" for f in st.inflows]
        terms += [f"- V[it + {slots.eq[f]}]" for f in st.outflows]
        net = " ".join(terms).removeprefix("+ ") or "0.0"
        out.append(_raw([f"for it in range({n}):", f"    K[{stage}, it + {base}] = {net}"]))
    for h in ir.hidden:
        base = slots.state[h.name]
        if h.name in layout.dims:
            pieces = [(layout.pieces[h.name][0], h.deriv)]
            out.append(_raw(_fill(layout, h.name, f"K[{stage}, {{}}]", pieces, em, base)))
        else:
            out.append((f"k_{base}", em.value(h.deriv), f"K[{stage}, {base}]"))
    return out


def record_slots(ir, slots: Slots) -> tuple[list[int], list[int]]:
    """Where each recorded name lives: kind 0 a state slot, 1 an equation slot, 2 a
    parameter; and the index in that array."""
    layout = ir.layout
    state = {n: i for i, n in enumerate(ir.state_names)}
    params = {n: i for i, n in enumerate(ir.base_params)}
    eq = {}
    for n, base in slots.eq.items():
        for k, e in enumerate(layout.expand(n) if layout is not None else [n]):
            eq[e] = base + k
    kinds, index = [], []
    for name in ir.kernel_record:
        for kind, table in enumerate((state, eq, params)):
            if name in table:
                kinds.append(kind)
                index.append(table[name])
                break
    return kinds, index


def check_references(ir) -> None:
    """Resolve every array reference of ``ir`` once, so that a wrong subscript is a model
    error naming its element when the model is compiled, not when its kernel is written."""
    layout = ir.layout
    em = ArrayEmitter(ir, Slots(ir), [])
    for name, pieces in layout.pieces.items():
        if name in {h.name for h in ir.hidden} | {d.name for d in ir.dfix}:
            continue  # made from a piece checked here
        for piece in pieces:
            em.loop(piece, piece.tree, "V", 0)
    section = {"flow": "flows", "auxiliary": "auxiliaries"}
    for name, tree in ir.equations.items():
        if name in layout.dims or not has_arrays(layout, tree):
            continue
        try:
            em.scalar(tree)
        except KeyError as exc:
            where = f"{section.get(ir.kinds.get(name), 'auxiliaries')}.{name}.equation"
            raise ModelError(ir.source, where, exc.args[0], _FIX) from None


_FIX = "check the subscripts against the dimensions"
