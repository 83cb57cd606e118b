"""The work array and the emitter of the block-of-runs kernel, :mod:`.lanes`.

Every value of a block's runs (parameter, state, trial state, stage rate, equation, and what
is computed once per block) is a row of ``lanes`` lanes in one array ``W``: row ``k``'s
lane ``l`` at ``W[k*lanes + l]``. :class:`LaneRows` names the rows; :class:`LaneEmitter`
writes an equation as one lane's expression over them.
"""

from __future__ import annotations

import ast

from ..kernels.tableaus import Tableau
from ..language.expressions import TABLE_FUNCTIONS
from .emitter import Emitter
from .ir import ModelIR

#: Runs per block: the most that keep the work array within :data:`W_BYTES` (32 for the
#: ladder, 16 for plan315); 8, one AVX-512 vector of float64, at least.
LANE_CHOICES = (32, 16, 8)
#: Bytes of the work array (measured: plan315 ran 1.6x faster in 16 lanes, 45 KB, than in 8
#: or 32; the ladder, 14 KB in 32 lanes, 7 % faster than in 16).
W_BYTES = 65536

#: Calls that compile to straight-line code (selects, no loops or C library calls).
_VECTOR_CALLS = frozenset(
    (
        "min",
        "max",
        "abs",
        "sqrt",
        "exp",
        "log",
        "if_then_else",
        "logical_and",
        "logical_or",
        "logical_not",
        "step",
        "pulse",
        "ramp",
        "xidz",
        "zidz",
        "_active_initial",
    )
)
#: Builtins whose value depends on the time or the step.
_TIMED = frozenset(
    ("step", "pulse", "pulse_train", "ramp", "get_time_value", "_rand_uniform", "_rand_normal")
)
#: Exponents for which LLVM turns ``x ** c`` into exact arithmetic in both kernels.
_EXACT_POWERS = (0.0, 1.0, 2.0, -1.0)


def vectorisable(node: ast.AST) -> bool:
    """Whether an expression compiles to straight-line code LLVM can vectorise (a
    ``lookup`` is written as vector loops of its own, :mod:`sim315.compilation.lanes`)."""
    if isinstance(node, ast.Call):
        if node.func.id == "lookup":
            return vectorisable(node.args[1])
        if node.func.id not in _VECTOR_CALLS:
            return False
    return all(vectorisable(c) for c in ast.iter_child_nodes(node))


def _invariant(node: ast.AST, names: set[str]) -> bool:
    """Whether ``node``'s value is the same at every evaluation of a run: it reads only
    constants, ``dt`` and ``names`` (parameters, and equations of them alone)."""
    if isinstance(node, ast.Name):
        return node.id in names or node.id == "dt"
    if isinstance(node, ast.Call):
        fn = node.func.id
        if fn in _TIMED:
            return False
        if fn == "_active_initial":  # in the time loop: its first argument
            args = node.args[:1]
        else:  # a table's name is no value
            args = node.args[1:] if fn in TABLE_FUNCTIONS else node.args
        return all(_invariant(a, names) for a in args)
    return all(_invariant(c, names) for c in ast.iter_child_nodes(node))


class LaneEmitter(Emitter):
    """An :class:`Emitter` for lane loops: ``exp``, ``log`` and ``**`` call the vectorisable
    :mod:`sim315.kernels.fastmath` (``**`` by a constant that LLVM makes exact stays as is),
    and what depends on parameters alone is computed once per block (``hoist``; in the
    scalar kernel LLVM hoists it out of the time loop) and read from its row. An expression
    that an equation of this evaluation computed already (``known``: its text, its row) is
    read from that equation's row: LLVM does so within the scalar kernel's one loop body,
    not across the lane loops."""

    rows: LaneRows
    known: dict[str, str]
    #: Writes a ``lookup`` call's vector loops and gives the row of its value (or None)
    lookups = None

    def value(self, node: ast.expr) -> str:
        if not isinstance(node, ast.Constant | ast.Name) and _invariant(node, self.rows.fixed):
            return self.rows.hoist(ast.dump(node), self.rows.scalar.value(node))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            right = node.right
            exact = isinstance(right, ast.Constant) and float(right.value) in _EXACT_POWERS
            if not exact:
                return f"_fpow({self.value(node.left)}, {self.value(right)})"
        text = super().value(node)
        return self.known.get(text, text)

    def call(self, node: ast.Call) -> str:
        fn = node.func.id
        if fn in ("exp", "log"):
            return f"_f{fn}({self.value(node.args[0])})"
        if fn == "lookup" and self.lookups is not None and vectorisable(node):
            return self.lookups(self, node)
        if fn == "step" and _invariant(node.args[1], self.rows.fixed):  # its step, once
            start = self.rows.scalar.value(node.args[1])
            event = self.rows.hoist(f"step {start}", f"_event_step({start}, t0, dt)")
            return f"_sel({self.pos} >= {event}, {self.value(node.args[0])}, 0.0)"
        return super().call(node)


class LaneRows:
    """The work array's rows: one per parameter, state slot, trial state, stage rate and
    equation, named as the scalar kernel's locals (``p_3``, ``s_0``, ``u_0``, ``k1_0``,
    ``v_<name>``), and one per value computed once per block (:meth:`hoist`).

    Equations of parameters alone (``fixed``) are computed once per block too, with the
    scalar kernel's code (``scalar``, an emitter for the initialisation's lane loop).
    """

    def __init__(self, ir: ModelIR, tab: Tableau, lanes: int):
        self.lanes = lanes
        names = [f"p_{i}" for i in range(len(ir.base_params))]
        n_state = len(ir.state_names)
        names += [f"s_{i}" for i in range(n_state)]
        if tab.b.shape[0] > 1:
            names += [f"u_{i}" for i in range(n_state)]
        names += [f"k{q}_{i}" for q in range(tab.b.shape[0]) for i in range(n_state)]
        names += [f"v_{name}" for name in ir.equations]
        self.offset = {n: k * lanes for k, n in enumerate(names)}
        self.fixed = set(ir.base_params)
        self.fixed_equations = []
        for name in ir.aux_order:  # in dependency order
            if _invariant(ir.equations[name], self.fixed):
                self.fixed.add(name)
                self.fixed_equations.append(name)
        self.scalar = Emitter(ir, "s", "t", "nt")
        for name in self.fixed_equations:
            self.scalar.ref[name] = self.ref(f"v_{name}")
        #: ``(row, scalar expression)`` of each value computed once per block, in order
        self.once: list[tuple[str, str]] = []
        self._hoisted: dict[str, str] = {}

    def ref(self, name: str) -> str:
        return f"W[{self.offset[name]} + l]"

    def hoist(self, key: str, scalar_expr: str | None) -> str:
        """The row of a value computed once per block by ``scalar_expr`` (``key`` names it:
        the same value is computed once)."""
        if key not in self._hoisted:
            name = f"once_{len(self._hoisted)}"
            self.offset[name] = len(self.offset) * self.lanes
            self._hoisted[key] = self.ref(name)
            if scalar_expr is not None:  # else a row of the time loop's own
                self.once.append((self.ref(name), scalar_expr))
        return self._hoisted[key]

    def emitter(self, ir: ModelIR, state: str, time: str, pos: str, lookups) -> LaneEmitter:
        """An emitter whose locals are lanes of the work array (``lookups``: see
        :attr:`LaneEmitter.lookups`)."""
        emit = LaneEmitter(ir, state, time, pos)
        emit.lookups = lookups
        emit.ref = {k: self.ref(v) if v in self.offset else v for k, v in emit.ref.items()}
        emit.rows = self
        emit.known = {}
        return emit

    def record(self, ir: ModelIR) -> list[int]:
        """The row offset of each recorded variable (the scalar kernel's ``rec`` order)."""
        local = Emitter(ir, "s", "t", "nt").ref
        return [self.offset[local[name]] for name in ir.kernel_record]
