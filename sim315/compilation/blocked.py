"""``_run`` for large models: the equations in blocks of jitted functions over state arrays.

The scalar ``_run`` of :mod:`sim315.compilation.codegen` keeps every value in a local, which
is what makes small kernels fast, but Numba gives each local a stack slot and LLVM's SROA
pass, which turns those slots into registers, takes time that grows with the square of
their number in one function: a chain of 1,000 auxiliaries spent most of its 19 s compile
there, one of 3,000 over 90 s. Past :data:`BLOCK_THRESHOLD` equations and states, the
generator writes instead:

- the state at the step's start ``S``, a Runge-Kutta trial state ``U``, the stage rates
  ``K[stage, slot]``, every equation's value ``V`` and the parameters ``PP`` (which
  time-tabled levers set) as arrays of ``_run``;
- the equations, in evaluation order, as functions of at most :data:`BLOCK_SIZE` equations
  each (``_b<k>``), which load what they read from those arrays into locals, compute with
  locals, and store each result: every function has a bounded number of locals, so the
  compile time grows linearly with the model;
- the initialisation, the rates' inputs at each stage, the auxiliaries computed only for
  saving, and the net rates, each as a sequence of such calls; the stages' state updates as
  loops over the slots.

The arithmetic is the scalar kernel's, in the same order, on the same float64 values, so
the results are identical (``tests/test_blocked.py`` compares both modes bit for bit). The
calls cost a little at run time: a block is too large for LLVM to inline.
"""

from __future__ import annotations

import ast
import re

from ..kernels.driver import STATUS_NONFINITE, STATUS_OK
from ..kernels.tableaus import Tableau
from . import arraygen, matrices, pipelines
from .emitter import Emitter, Writer, combination, net_rates, save_counters
from .ir import ModelIR
from .pointers import through_pointers

#: Equations and states above which a model's ``_run`` is written in blocks.
BLOCK_THRESHOLD = 300
#: Most equations per block function.
BLOCK_SIZE = 100
#: Most source lines per block function, where an array's statement (its loops, a VECTOR
#: SELECT's branches) spans many: Numba's passes over one function grow faster than its
#: basic blocks (the corpus's vector_select model in one function of 3,900 lines and 1,100
#: loops and branches: 90-130 s to compile, a third of it rebuilding SSA).
BLOCK_LINES = 400

#: The arguments every block function takes (arrays of ``_run``, then the moment evaluated).
_BLOCK_ARGS = "PP, X, V, D, K, lx, ly, lo, t0, dt, t, nt, step_i, key, run"

_LOCAL = re.compile(r"\b(p|s|d|lo)_(\d+)\b|\bv_(\w+)")


def _decorator(target: str) -> str:
    if target == "cuda":
        return "@cuda.jit(device=True)"
    # not cached on their own: their code is compiled into the entry points, which are;
    # compiled through the lean pipeline (sim315.kernels.pipeline), as the entry point is
    return '@njit(error_model="numpy", pipeline_class=_LeanPipeline)'


def split_lines(lines: list[tuple[str, str, str]]) -> list[list[tuple[str, str, str]]]:
    """``lines`` (target local, expression, store) in consecutive chunks of at most
    :data:`BLOCK_SIZE` equations and :data:`BLOCK_LINES` source lines (a statement longer than
    that is a chunk alone): a block function each. Each line stores what it sets, so any cut
    between two lines gives the same numbers."""
    chunks: list[list[tuple[str, str, str]]] = []
    size = 0
    for line in lines:
        n = 1 if line[0] else line[1].count("\n") + 1  # a statement of its own spans lines
        if not chunks or len(chunks[-1]) == BLOCK_SIZE or size + n > BLOCK_LINES:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += n
    return chunks


def uses_blocks(ir: ModelIR) -> bool:
    """Whether ``ir``'s kernel is written in blocks (a large model, or one with arrays: their
    loops work on the block layout's arrays)."""
    return ir.layout is not None or len(ir.equations) + len(ir.state_names) > BLOCK_THRESHOLD


class _Blocks:
    """Writes block functions and the calls that run them."""

    def __init__(self, ir: ModelIR, deco: str):
        self.ir = ir
        self.deco = deco
        self.slots = arraygen.Slots(ir)
        self.eq_index = self.slots.eq
        self.functions: list[str] = []  # the module text before ``_run``
        self.tables: list[str] = []  # index tables of array references (module constants)
        self.count = 0
        #: constant-index accesses through data pointers (CPU only: not on a CUDA device)
        self.pointers = "cuda" not in deco
        self.k_width = max(1, len(ir.state_names))  # K is (stages, states), C order

    def emitter(self, initialising: bool = False):
        if self.ir.layout is not None:
            e = arraygen.ArrayEmitter(self.ir, self.slots, self.tables)
        else:
            e = Emitter(self.ir, "s", "t", "nt")
        e.initialising = initialising
        return e

    def block(self, lines: list[tuple[str, str, str]], keep=None) -> str:
        """A block function computing ``lines`` (target local, expression, store) in order;
        returns its name. ``keep``: the locals whose values are stored (state slots always
        are); None stores every one."""
        name = f"_b{self.count}"
        self.count += 1
        defined = {target or store for target, _expr, store in lines}  # raw lines: a local
        loads, seen = [], set()
        for _target, expr, _store in lines:
            for m in _LOCAL.finditer(expr):
                local = m.group(0)
                if local in seen or local in defined:
                    continue
                seen.add(local)
                loads.append(f"    {local} = {self._load(m)}")
        body = []
        for target, expr, store in lines:
            if not target:  # a statement of its own (an array's loop), storing what it sets
                body += ["    " + ln for ln in expr.split("\n")]
                continue
            body.append(f"    {target} = {expr}")
            if keep is None or target in keep or store.startswith("X["):
                body.append(f"    {store} = {target}")
        if self.pointers:
            loads, body = through_pointers(loads, body, self.k_width)
        text = "\n".join(loads + body)
        if "cuda" in self.deco:  # local arrays of compilation.matrices
            text = matrices.for_device(text)
        self.functions.append(f"{self.deco}\ndef {name}({_BLOCK_ARGS}):\n{text}\n    return 0\n")
        return name

    def _load(self, m: re.Match) -> str:
        kind, index, eq = m.group(1), m.group(2), m.group(3)
        if eq is not None:
            return f"V[{self.eq_index[eq]}]"
        return {"p": "PP", "s": "X", "d": "D", "lo": "lo"}[kind] + f"[{index}]"

    def calls(self, lines: list[tuple[str, str, str]]) -> list[str]:
        """Block functions for ``lines`` in chunks; the calls, in order."""
        return [f"{self.block(chunk)}({_BLOCK_ARGS})" for chunk in split_lines(lines)]

    def equations(self, names, emit) -> list[tuple[str, str, str]]:
        if self.ir.layout is not None:
            return [
                ln for n in names for ln in arraygen.equation_lines(self.ir, self.slots, emit, n)
            ]
        return [
            (f"v_{n}", emit.value(self.ir.equations[n]), f"V[{self.eq_index[n]}]") for n in names
        ]


def blocked_run_function(ir: ModelIR, tab: Tableau, target: str) -> str:
    """The module's ``_run`` (and its block functions) for a large model."""
    deco = _decorator(target)
    blocks = _Blocks(ir, deco)
    w = Writer()
    w(deco, "def _run(p, lx, ly, lo, t0, dt, n_steps, stride, sel, out, key, run):")
    w.depth = 1
    w('"""Integrate run number ``run`` (a large model: equations in block functions)."""')
    _arrays(w, ir, tab, target, blocks.slots)
    _initial(w, ir, blocks)
    _loop(w, ir, tab, blocks)
    w.depth = 1
    w(f"return {STATUS_OK}")
    tables = "\n".join(blocks.tables) + "\n" if blocks.tables else ""
    return tables + "\n\n".join(blocks.functions) + "\n\n" + w.text()


def _arrays(w, ir: ModelIR, tab: Tableau, target: str, slots) -> None:
    n_state, n_base = len(ir.state_names), len(ir.base_params)
    sizes = {
        "S": max(1, n_state),
        "U": max(1, n_state),
        "V": max(1, slots.n_eq),
        "D": max(1, slots.n_dfix),
        "PP": max(1, n_base),
    }
    for name, size in sizes.items():
        if target == "cuda":  # no heap on the device: per-thread arrays of compile-time size
            w(f"{name} = cuda.local.array({size}, np.float64)")
        else:
            w(f"{name} = np.empty({size})")
    shape = f"({tab.b.shape[0]}, {max(1, n_state)})"
    w(
        f"K = cuda.local.array({shape}, np.float64)"
        if target == "cuda"
        else f"K = np.empty({shape})"
    )
    w(
        "X = S",
        "t = t0",
        "nt = 0.0  # t as a step position",
        "step_i = -1  # random draws at initialisation use step -1",
        f"for i in range({n_base}):",
        "    PP[i] = p[i]",
        f"n_lev = (lo.shape[0] - {len(ir.lookup_names) + 1}) // 4",
    )
    _levers(w, ir, "nt", "t")


def _levers(w, ir: ModelIR, pos: str, time: str) -> None:
    """Sets each time-tabled parameter (the lever records after the lookups' offsets in
    ``lo``, :mod:`sim315.compilation.levers`) to its table's value at ``pos``/``time``."""
    first = len(ir.lookup_names) + 1
    w(
        "for lv_q in range(n_lev):",
        f"    lv_b = {first} + 4 * lv_q",
        "    PP[lo[lv_b]] = _lever(lx, ly, lo[lv_b + 2], lo[lv_b + 3], lo[lv_b + 1],"
        f" t0, dt, {pos}, {time})",
    )


def _array_ref(ir: ModelIR, blocks: _Blocks, emit) -> None:
    """Point ``emit`` (used in ``_run`` itself) at the arrays instead of locals."""
    for i, name in enumerate(ir.base_params):
        emit.ref[name] = f"PP[{i}]"
    for i, name in enumerate(ir.state_names):
        emit.ref[name] = f"X[{i}]"
    for name, k in blocks.eq_index.items():
        emit.ref[name] = f"V[{k}]"
    for d in ir.dfix:
        emit.ref[d.name] = f"D[{blocks.slots.dfix[d.name]}]"


def _initial(w, ir: ModelIR, blocks: _Blocks) -> None:
    """The initial values in dependency order: stocks, hidden stocks and auxiliaries in
    blocks, DELAY FIXED pipelines in ``_run`` (they own a buffer); then a warm start. A block
    stores the state slots it sets, and only those of its auxiliaries that code outside it
    reads (the time loop computes every auxiliary again before using it)."""
    emit = blocks.emitter(initialising=True)
    inline = blocks.emitter(initialising=True)
    _array_ref(ir, blocks, inline)
    chunks: list = []  # lists of lines (a block each), or the index of a DELAY FIXED
    pending: list[tuple[str, str, str]] = []

    def flush():
        chunks.extend(split_lines(pending))
        pending.clear()

    arrays = ir.layout.dims if ir.layout is not None else {}
    for kind, name in ir.init_order:
        if kind in ("stock", "hidden") and name in arrays:
            pending += arraygen.state_init_lines(ir, blocks.slots, emit, kind, name)
        elif kind in ("stock", "hidden"):
            i = blocks.slots.state[name]
            expr = ir.initial[name] if kind == "stock" else _hidden(ir, name).init
            pending.append((f"s_{i}", emit.value(expr), f"X[{i}]"))
        elif kind == "aux":
            pending += blocks.equations([name], emit)
        else:
            flush()
            chunks.append(next(i for i, d in enumerate(ir.dfix) if d.name == name))
    flush()
    reads = [_reads(c) if isinstance(c, list) else set() for c in chunks]
    outside = {
        f"v_{n.id}"
        for d in ir.dfix
        for e in (d.init, d.tau)
        for n in ast.walk(e)
        if isinstance(n, ast.Name)
    }
    w("# initial values, in dependency order")
    for k, chunk in enumerate(chunks):
        if isinstance(chunk, list):
            keep = outside.union(*(r for q, r in enumerate(reads) if q != k))
            w(f"{blocks.block(chunk, keep)}({_BLOCK_ARGS})")
            continue
        w(*pipelines.init_lines(ir, blocks.slots, inline, chunk))
    _warm_start(w, ir)


def _warm_start(w, ir: ModelIR) -> None:
    """A warm start: each state slot whose start column is given (not NaN) starts there."""
    n_base, n_state = len(ir.base_params), len(ir.state_names)
    if n_state:
        w(
            f"if p.shape[0] > {n_base}:  # a warm start: the row ends with a start state",
            f"    for i in range({n_state}):",
            f"        x = p[{n_base} + i]",
            "        if x == x:",
            "            S[i] = x",
        )


def _hidden(ir: ModelIR, name: str):
    return next(h for h in ir.hidden if h.name == name)


def _reads(lines) -> set[str]:
    """The locals that ``lines``' expressions read."""
    return {m.group(0) for _target, expr, _store in lines for m in _LOCAL.finditer(expr)}


def _rates(ir: ModelIR, blocks: _Blocks, stage: int) -> list[str]:
    emit = blocks.emitter()
    if ir.layout is not None:
        return blocks.calls(arraygen.rate_lines(ir, blocks.slots, emit, stage))
    lines = [(f"k_{i}", rate, f"K[{stage}, {i}]") for i, rate in enumerate(net_rates(ir, emit))]
    return blocks.calls(lines)


def _loop(w, ir: ModelIR, tab: Tableau, blocks: _Blocks) -> None:
    n_state = len(ir.state_names)
    emit = blocks.emitter()
    rhs = blocks.calls(blocks.equations(ir.rhs_order, emit))
    needed = set(ir.rhs_order)
    save_only = blocks.calls(blocks.equations([n for n in ir.aux_order if n not in needed], emit))
    rates = [_rates(ir, blocks, s) for s in range(tab.b.shape[0])]
    inline = blocks.emitter()
    _array_ref(ir, blocks, inline)
    _record_maps(w, ir, blocks)
    w("n_out = sel.shape[0]", *save_counters("cuda" in blocks.deco))
    w("for step_i in range(n_steps + 1):")
    w.depth = 2
    w("t = t0 + step_i * dt", "nt = float(step_i)", "X = S")
    _levers(w, ir, "nt", "t")
    for i in range(len(ir.dfix)):
        w(*pipelines.read_lines(ir, blocks.slots, i))
    w("# the rates' inputs at (t, S): stage 1 of the step, and the saved values too", *rhs)
    w("if step_i == next_save:")
    w.depth = 3
    w("next_save += stride", *save_only)
    w(
        "bad = False",
        f"for i in range({n_state}):",
        "    if not math.isfinite(S[i]):",
        "        bad = True",
        "for m in range(n_out):",
        "    q = sel[m]",
        "    kind = REC_KIND[q]",
        "    at = REC_INDEX[q]",
        "    x = S[at] if kind == 0 else (V[at] if kind == 1 else PP[at])",
        "    out[j, m] = x",
        "    if not math.isfinite(x):",
        "        bad = True",
        "if bad:",
        "    _fill_nan(out, j)",
        f"    return {STATUS_NONFINITE}",
        "j += 1",
    )
    w.depth = 2
    w("if step_i == n_steps:", "    break")
    _stages(w, ir, tab, blocks, rhs, rates, inline)


def _record_maps(w, ir: ModelIR, blocks: _Blocks) -> None:
    """Where each recorded name lives: kind 0 a state slot, 1 an equation, 2 a parameter
    (module constants, so the save loop is the same code for any number of outputs)."""
    kinds, index = arraygen.record_slots(ir, blocks.slots)
    blocks.functions.insert(
        0,
        f"REC_KIND = np.array({kinds!r}, dtype=np.int64)\n"
        f"REC_INDEX = np.array({index!r}, dtype=np.int64)\n",
    )


def _stages(w, ir: ModelIR, tab: Tableau, blocks: _Blocks, rhs, rates, inline) -> None:
    """The Runge-Kutta step over the state arrays: the same combinations, in the same order,
    as the scalar kernel's unrolled stages."""
    n_state = len(ir.state_names)
    node = 0.0
    for s in range(tab.b.shape[0]):
        if s > 0:
            c = float(tab.c[s])
            w(f"# stage {s + 1}: trial state at t + {c!r}*dt")
            w(f"ts = t + {c!r} * dt" if c != 0.0 else "ts = t")
            w(f"nts = nt + {c!r}" if c != 0.0 else "nts = nt")
            if c != node:
                _levers(w, ir, "nts", "ts")
                node = c
            comb = combination(tab.a[s, :s], [f"K[{q}, i]" for q in range(s)])
            w(
                f"for i in range({n_state}):",
                f"    U[i] = S[i] + dt * ({comb})" if comb else "    U[i] = S[i]",
            )
            w("X = U")
            stage_calls = [c_.replace(" t, nt,", " ts, nts,") for c_ in rhs + rates[s]]
            w(*stage_calls)
        else:
            w("# stage 1: rates from the state at t", *rates[0])
            for i in range(len(ir.dfix)):
                w(*pipelines.write_lines(ir, blocks.slots, inline, i))
    w("# the step")
    comb = combination(tab.b, [f"K[{q}, i]" for q in range(tab.b.shape[0])])
    w(f"for i in range({n_state}):", f"    S[i] = S[i] + dt * ({comb})")
    for i in ir.nonneg:  # floor at zero, but let -inf through to the finiteness test
        w(f"if -math.inf < S[{i}] < 0.0:", f"    S[{i}] = 0.0")
