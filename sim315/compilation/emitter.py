"""Expressions to Numba source: the emitter every generated kernel's code is written with.

:class:`Emitter` turns a lowered expression tree into a Python expression over the kernel's
locals (``p_<i>`` parameters, ``s_<i>``/``u_<i>`` state, ``v_<name>`` equations, ``d_<i>``
DELAY FIXED outputs); :class:`Writer` collects indented lines; :func:`net_rates` and
:func:`combination` give a state slot's derivative and a Runge-Kutta stage's weighted sum.
Used by :mod:`sim315.compilation.codegen` (one function per run) and
:mod:`sim315.compilation.blocked` (large models, in blocks).
"""

from __future__ import annotations

import ast

from ..language.expressions import TABLE_FUNCTIONS, binop_symbol, cmpop_symbol
from .ir import ModelIR

_MATH = {
    "exp": "math.exp",
    "log": "math.log",
    "sqrt": "math.sqrt",
    "abs": "abs",
    "sin": "math.sin",
    "cos": "math.cos",
    "tan": "math.tan",
    "arcsin": "math.asin",
    "arccos": "math.acos",
    "arctan": "math.atan",
}

#: Builtins emitted as a call of the kernel function of the same name, arguments as given.
_KERNEL_CALLS = ("integer", "modulo", "quantum", "xidz", "zidz")


class Emitter:
    """Turns lowered expression trees into Numba-compatible Python source.

    Parameters
    ----------
    ir : ModelIR
    state : str
        Prefix of the scalar locals that hold the state this code reads (``s`` for the state
        at the start of a step, ``u`` for a Runge-Kutta stage's trial state).
    time : str
        Name of the local holding the time this code evaluates at.
    pos : str
        Name of the local holding the same moment as a step position (``step_i + c``): what
        STEP, PULSE and the step-holding levers compare with their whole-step events.
    params : str
        Prefix of the locals holding the model's parameters: ``p``, the run's constants; with
        levers, those :func:`sim315.compilation.levers.set_levers` set for this evaluation
        (each name assigned once).
    """

    def __init__(self, ir: ModelIR, state: str, time: str, pos: str, params: str = "p"):
        self.lookup_index = {n: i for i, n in enumerate(ir.lookup_names)}
        ref: dict[str, str] = {}
        n_model = len(ir.spec.parameters)
        for i, name in enumerate(ir.base_params):  # loaded once per run: constants (LLVM
            ref[name] = f"{params if i < n_model else 'p'}_{i}"  # hoists), unless levers
        for i, name in enumerate(ir.state_names):
            ref[name] = f"{state}_{i}"
        for name in ir.equations:
            ref[name] = f"v_{name}"
        for i, d in enumerate(ir.dfix):
            ref[d.name] = f"d_{i}"
        ref["time"] = time
        ref["dt"] = "dt"
        self.ref = ref
        self.time = time
        self.pos = pos
        self.initialising = False

    def value(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            return self.ref[node.id]
        if isinstance(node, ast.BinOp):
            op = binop_symbol(node.op)
            return f"({self.value(node.left)} {op} {self.value(node.right)})"
        if isinstance(node, ast.UnaryOp):
            inner = self.value(node.operand)
            return f"(-{inner})" if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.Compare):
            return f"(1.0 if {self.cond(node)} else 0.0)"
        if isinstance(node, ast.Call):
            return self.call(node)
        raise AssertionError(ast.dump(node))

    def cond(self, node: ast.expr) -> str:
        if isinstance(node, ast.Compare):
            op = cmpop_symbol(node.ops[0])
            return f"({self.value(node.left)} {op} {self.value(node.comparators[0])})"
        return f"({self.value(node)} != 0.0)"

    def call(self, node: ast.Call) -> str:
        fn = node.func.id
        if fn in TABLE_FUNCTIONS:
            i = self.lookup_index[node.args[0].id]
            helper = "_" + fn.lstrip("_")
            return f"{helper}(lx, ly, lo_{i}, lo_{i + 1}, {self.value(node.args[1])})"
        if fn == "_active_initial":  # the initial value while initialising, then the value
            return self.value(node.args[1] if self.initialising else node.args[0])
        if fn == "if_then_else":  # the condition is emitted once: nesting stays linear
            a, b = self.value(node.args[1]), self.value(node.args[2])
            return f"({a} if {self.cond(node.args[0])} else {b})"
        args = [self.value(a) for a in node.args]
        if fn in ("min", "max"):  # intrinsics on the CPU (kernels/extremes.py), builtins on CUDA
            return f"_{fn}(({', '.join(args)},))"
        if fn in _MATH:
            return f"{_MATH[fn]}({args[0]})"
        if fn in _KERNEL_CALLS:
            return f"_{fn}({', '.join(args)})"
        if fn in ("logical_and", "logical_or"):
            joiner = " and " if fn == "logical_and" else " or "
            conds = joiner.join(f"({a} != 0.0)" for a in args)
            return f"(1.0 if ({conds}) else 0.0)"
        if fn == "logical_not":
            return f"(1.0 if ({args[0]} == 0.0) else 0.0)"
        if fn in ("step", "pulse", "pulse_train"):  # whole-step events (kernels.builtins)
            return f"_{fn}({', '.join(args)}, t0, dt, {self.pos})"
        if fn == "get_time_value":  # relative to 0 (time) or 1 (initial time), measure 0
            base = self.time if float(ast.literal_eval(node.args[0])) == 0.0 else "t0"
            return f"({base} + {args[1]})"
        if fn == "ramp":  # continuous in time
            return f"_ramp({', '.join(args)}, {self.time})"
        if fn in ("_rand_uniform", "_rand_normal"):
            site = node.args[2].value
            short = "_runif" if fn == "_rand_uniform" else "_rnorm"
            return f"{short}(key, run, step_i, {site}, {args[0]}, {args[1]})"
        raise AssertionError(fn)  # stateful builtins were lowered by the compiler


class Writer:
    """Collects indented lines."""

    def __init__(self):
        self.lines: list[str] = []
        self.depth = 0

    def __call__(self, *lines: str) -> None:
        self.lines.extend("    " * self.depth + ln for ln in lines)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def save_counters(cuda: bool = False) -> tuple[str, str]:
    """The lines that start the saved-time counters ``j`` and ``next_save``: at the module's
    ``I0``, an int64 zero (a literal ``0`` is typed ``Literal[int](0)`` first, and widening
    it to int64 where the loop adds to it costs Numba's type inference a third pass over every
    constraint of the kernel: 0.13 s of plan315's first compile). The GPU path keeps the
    literal it has run with on hardware."""
    zero = "0" if cuda else "I0"
    return f"j = {zero}", f"next_save = {zero}"


def net_rates(ir: ModelIR, emit: Emitter) -> list[str]:
    """Expressions of d(state)/dt, stocks then hidden stocks."""
    rates = []
    for s in ir.stocks:
        st = ir.spec.stocks[s]
        net = " + ".join(emit.ref[f] for f in st.inflows)
        for f in st.outflows:
            net = f"{net} - {emit.ref[f]}" if net else f"-{emit.ref[f]}"
        rates.append(net or "0.0")
    rates += [emit.value(h.deriv) for h in ir.hidden]
    return rates


def combination(coefs, stage_vars: list[str]) -> str | None:
    """``c0*k0 + c1*k1 + ...`` with zero terms dropped; None when all are zero."""
    terms = [
        k if c == 1.0 else f"{float(c)!r} * {k}"  # x*1.0 == x exactly: drop it
        for c, k in zip(coefs, stage_vars, strict=False)
        if c != 0.0
    ]
    return " + ".join(terms) if terms else None
