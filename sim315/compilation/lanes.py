"""Generate the block-of-runs kernel: ``_run_lanes`` advances ``LANES`` runs per step.

The scalar ``_run`` of :mod:`sim315.compilation.codegen` integrates one run with its state in
registers; it cannot use vector instructions, since each step depends on the one before.
Runs are independent, so this variant integrates a block of ``LANES`` runs at once (32, 16
or 8: the most whose work array stays within 64 KB, :mod:`.lanerows`): every value
is a row of lanes in one work array ``W``, and each step's statements are loops over the
lanes that LLVM vectorises. One array with constant row offsets lets LLVM prove that rows
never overlap. What depends on parameters alone is computed once per block; a ``lookup`` is
chosen by selects over the table's points (written for the model's number of points: a
table replaced by one of another length keeps the scalar kernel); statements that cannot be
vectorised (random draws, trigonometry, ``fmod``, pulse trains, other table functions) get
loops of their own, so that the rest still is. Saved outputs are written a (time, output)
column at a time: the kernel's ``out`` is (saved times, outputs, runs)
(:meth:`sim315.ensembles.kernelcall.KernelCall.buffers`).

Each lane computes exactly what the scalar kernel computes for its run, operation for
operation, with one exception: ``exp``, ``log`` and ``**`` (but for exponents LLVM makes
exact in both kernels: 0, 1, 2, -1) call :mod:`sim315.kernels.fastmath`, vectorisable
polynomials within 1 ulp of the C library (``pow``: ``2 + 3|y ln x|`` ulp). A model without
them gives bit-identical results on either kernel; with them, each evaluation differs by at
most that error (and a run by what the model's dynamics make of it). Initial values, and
what is computed once per block, use the scalar kernel's own code, C library included.

Not generated (the scalar kernel runs these): models written in blocks
(:func:`sim315.compilation.blocked.uses_blocks`), models with DELAY FIXED (a ring buffer of
run-time length per run), and runs with time-tabled levers (their own module variant).
The lanes' entry points, copied after ``_run_lanes``, are those of
:mod:`sim315.kernels.lanes_driver`.
"""

from __future__ import annotations

import ast
import os
import re
from functools import partial

from ..kernels import lanes_driver
from ..kernels.driver import STATUS_OK
from ..kernels.tableaus import METHODS, Tableau
from .blocked import uses_blocks
from .codegen import _functions_source, _initial_values
from .emitter import Writer, combination, net_rates, save_counters
from .ir import ModelIR
from .lanerows import LANE_CHOICES, W_BYTES, LaneRows, vectorisable
from .lanesaves import OUTPUT_SETUP, PREFETCH_SAVES, save_outputs
from .pointers import lanes_through_pointers

_HEADER = """
# -- the block-of-runs kernel (sim315.compilation.lanes) --
from sim315.kernels.fastmath import exp as _fexp
from sim315.kernels.fastmath import log as _flog
from sim315.kernels.fastmath import pow as _fpow
from sim315.kernels.lanes_driver import lookup_between as _lookup_between
from sim315.kernels.lanes_driver import by_column as _by_column
from sim315.kernels.lanes_driver import end_lanes as _end_lanes
from sim315.kernels.pointers import select as _sel
from sim315.kernels.pointers import load_lane as _ldl
from sim315.kernels.pointers import store_lane as _stl
from sim315.kernels.pointers import keep_alive as _keep
from sim315.kernels.pointers import view_pointer as _vptr
from sim315.kernels.pointers import prefetch_write as _pfw
from sim315.kernels.pointers import scratch_int64 as _iscratch

LANES = {lanes}
#: Saves ahead whose output lines are prefetched (sim315.compilation.lanesaves)
PREFETCH_SAVES = {prefetch}
N_LANE_ROWS = {rows}
#: Each recorded variable's row offset (row * LANES) in the work array
LANE_REC = np.array({rec!r}, dtype=np.int64)
"""


#: Ensembles of at least this many runs run on the block-of-runs kernel, when the model has
#: one: below, its compilation (once per model text; plan315's 6.8-7.0 s against the scalar
#: kernel's 1.9 s, ``CompilePlan315`` in ``benchmarks/``) costs more than it saves.
LANES_FROM = 10_000


def lanes_supported(ir: ModelIR) -> bool:
    """Whether ``ir`` gets a block-of-runs kernel (see the module docstring)."""
    return not uses_blocks(ir) and not ir.dfix


def use_lanes(ir: ModelIR, runs: int | None) -> bool:
    """Whether an ensemble of ``runs`` runs of ``ir`` (without time-tabled levers) runs on
    the block-of-runs kernel: from :data:`LANES_FROM` runs, when the model has one, unless
    ``SIM315_LANES=0`` (the scalar kernel, the reference, always)."""
    if runs is None or runs < LANES_FROM or not lanes_supported(ir):
        return False
    return os.environ.get("SIM315_LANES", "1") != "0"


class _Loops:
    """Collects ``W[...] = expression`` statements and writes them as lane loops: runs of
    vectorisable statements share a loop; the others share loops of their own."""

    def __init__(self, w: Writer):
        self.w = w
        self.pending: list[tuple[str, bool]] = []

    def __call__(self, target: str, expr: str, vector: bool = True) -> None:
        self.pending.append((f"{target} = {expr}", vector))

    def line(self, *lines: str) -> None:
        """Plain lines (lane-invariant), after the statements so far."""
        self.flush()
        self.w(*lines)

    def flush(self) -> None:
        w = self.w
        while self.pending:
            vector = self.pending[0][1]
            n = 0
            while n < len(self.pending) and self.pending[n][1] == vector:
                n += 1
            w("for l in range(nl):")
            w.depth += 1
            if not vector:
                w("run = lane_run + l")
            w(*(s for s, _ in self.pending[:n]))
            w.depth -= 1
            self.pending = self.pending[n:]


def _equations(loops: _Loops, rows: LaneRows, ir: ModelIR, emit, names, every=True) -> None:
    """The equations ``names`` in order (``every``: they are computed at every evaluation,
    so later statements may read what they computed, :class:`LaneEmitter`)."""
    for name in names:
        if name in rows.fixed:  # computed once per block
            continue
        node = ir.equations[name]
        if isinstance(node, ast.Call) and node.func.id == "lookup" and vectorisable(node):
            _lookup_lanes(loops, rows, emit, ir, rows.ref(f"v_{name}"), node)  # into its row
            continue
        text = emit.value(node)
        loops(rows.ref(f"v_{name}"), text, vectorisable(node))
        if every:
            emit.known[text] = rows.ref(f"v_{name}")


#: The points around x, as (axis, offset from the interior point): xlo, ylo, xhi, yhi.
_AROUND = ((0, 0), (1, 0), (0, 1), (1, 1))


def _lookup_row(loops: _Loops, rows: LaneRows, ir: ModelIR, emit, node: ast.Call) -> str:
    """Write a ``lookup`` call of a statement as vector loops before it (a row of its own)."""
    row = rows.hoist(f"lookup {len(rows.offset)}", None)
    _lookup_lanes(loops, rows, emit, ir, row, node)
    return row


def _lookup_lanes(loops: _Loops, rows: LaneRows, emit, ir: ModelIR, row: str, node) -> None:
    """An equation ``lookup(table, x)``, with the numbers of
    :func:`sim315.kernels.builtins.lookup` (its binary search finds the points around
    ``x``; the interpolation between them is the same arithmetic): the points around each
    lane's ``x`` are chosen by selects, one per interior point, in a vector loop. The table
    has the model's number of points (:func:`_tables` checks it)."""
    table = node.args[0].id
    i = emit.lookup_index[table]
    n = len(ir.table_points[table][0])
    x = emit.value(node.args[1])
    if not re.fullmatch(r"W\[\d+ \+ l\]", x):  # an expression: into a row of its own
        loops(rows.hoist(f"x of {row}", None), x)
        x = rows.hoist(f"x of {row}", None)
    t = [(f"t{i}x{k}", f"t{i}y{k}") for k in range(n)]  # the points, locals of the block
    ends = [t[min(d, n - 1)][v] for v, d in _AROUND]  # x below the second point
    for k in range(1, n - 1):  # the largest interior point at or below x wins
        past = f"{x} >= {t[k][0]}"
        ends = [
            f"_sel({past}, {t[k + d][v]}, {e})" for (v, d), e in zip(_AROUND, ends, strict=True)
        ]
    xlo, ylo, xhi, yhi = ends
    ends_n = f"{t[0][0]}, {t[0][1]}, {t[n - 1][0]}, {t[n - 1][1]}"
    loops(row, f"_lookup_between({x}, {ends_n}, {xlo}, {xhi}, {ylo}, {yhi})")


def _tables(w: Writer, ir: ModelIR) -> None:
    """Each table's points as locals of the block (``t<table>x<k>``, ``t<table>y<k>``), after
    refusing a table whose number of points is not the model's (``lookups=``): the lookups
    are written for the model's (:meth:`CompiledModel.kernel_call` keeps the scalar kernel
    for others)."""
    for i, name in enumerate(ir.lookup_names):
        n = len(ir.table_points[name][0])
        w(
            f"if lo_{i + 1} - lo_{i} != {n}:",
            f'    raise ValueError("table {name} must have {n} points in the lanes kernel")',
        )
        w(*(f"t{i}x{k}, t{i}y{k} = lx[lo_{i} + {k}], ly[lo_{i} + {k}]" for k in range(n)))


def _stage_code(loops: _Loops, rows: LaneRows, ir: ModelIR, tab: Tableau, first) -> None:
    """The unrolled Runge-Kutta step, as codegen's ``_stage_code`` writes it for one run
    (without levers or DELAY FIXED), each statement a lane loop's."""
    n_state = len(ir.state_names)
    # one stage whose rates all vectorise: one loop, each rate a local of the lane loop
    local = tab.b.shape[0] == 1 and all(vectorisable(h.deriv) for h in ir.hidden)

    def k(q: int, i: int) -> str:
        return f"k{q}_{i}" if local else rows.ref(f"k{q}_{i}")

    for s in range(tab.b.shape[0]):
        if s == 0:  # the emitter of the rates' inputs, which it knows
            emit = first
        else:
            c = float(tab.c[s])
            loops.line(
                f"# stage {s + 1}: trial state at t + {c!r}*dt",
                f"ts = t + {c!r} * dt" if c != 0.0 else "ts = t",
                f"nts = nt + {c!r}" if c != 0.0 else "nts = nt",
            )
            emit = rows.emitter(ir, "u", "ts", "nts", first.lookups)
            for i in range(n_state):
                comb = combination(tab.a[s, :s], [k(q, i) for q in range(s)])
                s_i = rows.ref(f"s_{i}")
                loops(rows.ref(f"u_{i}"), f"{s_i} + dt * ({comb})" if comb else s_i)
            _equations(loops, rows, ir, emit, ir.rhs_order)
        for i, rate in enumerate(net_rates(ir, emit)):
            deriv = ir.hidden[i - len(ir.stocks)].deriv if i >= len(ir.stocks) else None
            vector = deriv is None or vectorisable(deriv)
            loops(k(s, i), rate, vector)
    for i in range(n_state):
        comb = combination(tab.b, [k(q, i) for q in range(tab.b.shape[0])])
        s_i = rows.ref(f"s_{i}")
        loops(s_i, f"{s_i} + dt * ({comb})")
    for i in ir.nonneg:  # floor at zero, but let -inf through to the finiteness test
        s_i = rows.ref(f"s_{i}")
        loops(s_i, f"_sel((-math.inf < {s_i}) & ({s_i} < 0.0), 0.0, {s_i})")


def _initial_lanes(w: Writer, rows: LaneRows, ir: ModelIR) -> None:
    """Each lane's parameters and initial values: the scalar kernel's own code, per lane
    (lanes past ``nb`` repeat the block's last run; their outputs are never written)."""
    w(
        "for l in range(LANES):",
        "    r = r0 + min(l, nb - 1)",
        "    p = P[r]",
        "    run = lane_run + l",
    )
    w.depth += 1
    for i in range(len(ir.base_params)):
        w(f"p_{i} = p[{i}]", f"{rows.ref(f'p_{i}')} = p_{i}")
    _initial_values(w, ir, "p")
    for i in range(len(ir.state_names)):
        w(f"{rows.ref(f's_{i}')} = s_{i}")
    w("# what depends on parameters alone, as the scalar kernel computes it")
    for name in rows.fixed_equations:
        w(f"{rows.ref(f'v_{name}')} = {rows.scalar.value(ir.equations[name])}")
    for ref, expr in rows.once:
        w(f"{ref} = {expr}")
    w.depth -= 1


def _run_lanes(ir: ModelIR, tab: Tableau, rows: LaneRows) -> str:
    """``_run_lanes``: runs ``r0 .. r0 + nb - 1`` of ``P`` (``nb <= LANES``) at once."""
    loop = _time_loop(ir, tab, rows)  # first: it finds what to compute once per block
    w = Writer()
    w(
        # not cached on its own: its code is compiled into the entry points, which are (and
        # not inlined into them: LANES would become a known count of the lane loops, which
        # LLVM then unrolls into scalar code instead of vectorising)
        '@njit(error_model="numpy", pipeline_class=_LeanPipeline)',
        "def _run_lanes(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0,"
        " r0, nb, nl):",
        '    """Integrate runs ``r0 .. r0 + nb - 1`` of ``P`` (run numbers from ``run0 + r0``)'
        ' in lanes; write their outputs and statuses."""',
    )
    w.depth = 1
    w("W = _scratch(N_LANE_ROWS * LANES)  # row k of lane l: W[k * LANES + l]")
    w("pW = _ptr(W)  # its constant-offset accesses go through it (_ldl, _stl)")
    w("# nl is LANES, an argument so that LLVM keeps the lane loops as loops and vectorises")
    w("# them (with a known count of 8 it unrolls them first, into scalar code)")
    w("t = t0", "nt = 0.0", "step_i = -1", "lane_run = run0 + r0")
    for i in range(len(ir.lookup_names) + 1 if ir.lookup_names else 0):
        w(f"lo_{i} = lo[{i}]")
    _tables(w, ir)
    _initial_lanes(w, rows, ir)
    w(
        "n_out = sel.shape[0]",
        "rec = _iscratch(n_out)",
        "for m in range(n_out):",
        "    rec[m] = LANE_REC[sel[m]]",
        *OUTPUT_SETUP,
        "ends = _iscratch(nl)  # the saved time at which each lane became non-finite",
        *("for l in range(nl):", "    ends[l] = -1"),
        "n_alive = nb",
        *save_counters(),
    )
    w.lines += loop.lines
    w(
        "_end_lanes(out, status, r0, nb, ends)",
        "_keep(W)  # W lives while pW is used",
        f"return {STATUS_OK}",
    )
    w.lines = lanes_through_pointers(w.lines)
    return w.text()


def _time_loop(ir: ModelIR, tab: Tableau, rows: LaneRows) -> Writer:
    """The time loop of ``_run_lanes``, as the scalar kernel's: the rates' inputs, at a
    saved step the other equations and the save, then the step."""
    w = Writer()
    w.depth = 1
    w("for step_i in range(n_steps + 1):")
    w.depth = 2
    loops = _Loops(w)
    loops.line("t = t0 + step_i * dt", "nt = float(step_i)")
    emit = rows.emitter(ir, "s", "t", "nt", partial(_lookup_row, loops, rows, ir))
    _equations(loops, rows, ir, emit, ir.rhs_order)
    loops.line("if step_i == next_save:", "    next_save += stride")
    w.depth = 3
    needed = set(ir.rhs_order)
    _equations(loops, rows, ir, emit, [n for n in ir.aux_order if n not in needed], False)
    loops.flush()
    save_outputs(w, rows, ir)
    w.depth = 2
    w("if step_i == n_steps:", "    break")
    _stage_code(loops, rows, ir, tab, emit)
    loops.flush()
    w.depth = 1
    return w


def lane_source(ir: ModelIR, method: str = "euler") -> str:
    """The block-of-runs part of ``ir``'s CPU kernel module for ``method`` (appended to
    :func:`sim315.compilation.codegen.generate_source`'s text), or ``""`` when the model
    keeps the scalar kernel only (:func:`lanes_supported`)."""
    if not lanes_supported(ir):
        return ""
    tab = METHODS[method]
    for lanes in LANE_CHOICES:  # the most lanes whose work array fits W_BYTES
        rows = LaneRows(ir, tab, lanes)
        run_lanes = _run_lanes(ir, tab, rows)  # first: it adds the rows computed once
        if len(rows.offset) * lanes * 8 <= W_BYTES:
            break
    header = _HEADER.format(
        lanes=rows.lanes, rows=len(rows.offset), rec=rows.record(ir), prefetch=PREFETCH_SAVES
    )
    return (
        header
        + "\n\n"
        + run_lanes
        + "\n\n"
        + _functions_source(lanes_driver, lanes_driver.ENTRY_POINTS)
    )
