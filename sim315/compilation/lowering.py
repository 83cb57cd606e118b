"""Lowering of equations: stateful builtins (SMOOTH, DELAY, ...) to hidden stocks and
pipelines. (Time-tabled levers are kernel data, :mod:`sim315.compilation.levers`; the
warm-start inputs are :meth:`sim315.compilation.ir.ModelIR.warm_started`.)"""

from __future__ import annotations

import ast

from .ir import DelayFixed, Hidden, start_parameter

__all__ = ["Lowerer", "branch", "call_node", "start_parameter"]


# -- lowering of stateful builtins ----------------------------------------------------------
def _num(v: float) -> ast.Constant:
    return ast.Constant(value=float(v))


def _bin(a: ast.expr, op: ast.operator, b: ast.expr) -> ast.BinOp:
    return ast.BinOp(left=a, op=op, right=b)


def call_node(fn: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=fn), args=list(args), keywords=[])


_DT = ast.Name(id="dt")

#: Stateful builtins, each lowered by ``Lowerer._<name>``.
#: SMOOTH, SMOOTH3, DELAY1 and DELAY3: a chain of this many first-order stages, and whether it
#: conserves material (a delay) or not (a smooth), all starting at the input.
_CHAINS = {"smooth": (1, False), "smooth3": (3, False), "delay1": (1, True), "delay3": (3, True)}

_STATEFUL = (
    "pink_noise",
    "delay_fixed",
    "delay1i",
    "delay3i",
    "delayn",
    "smoothi",
    "smooth3i",
    "smoothn",
    "trend",
    "forecast",
    "initial",
    "sample_if_true",
)


def branch(node: ast.expr, initialising: bool) -> ast.expr:
    """``node`` as evaluated at initialisation (``active_initial``'s second argument) or
    during the run (its first): what each ordering must follow."""

    class _Pick(ast.NodeTransformer):
        def visit_Call(self, call):
            self.generic_visit(call)
            if isinstance(call.func, ast.Name) and call.func.id == "_active_initial":
                return call.args[1 if initialising else 0]
            return call

    if not any(
        isinstance(n, ast.Call) and getattr(n.func, "id", "") == "_active_initial"
        for n in ast.walk(node)
    ):
        return node
    import copy

    return _Pick().visit(copy.deepcopy(node))


class Lowerer:
    """Replaces SMOOTH/DELAY calls by hidden stocks and DELAY FIXED by pipelines."""

    def __init__(self):
        self.hidden: list[Hidden] = []
        self.dfix: list[DelayFixed] = []
        self.n_sites = 0

    def _site(self) -> ast.Constant:
        """A call site number for a random draw: fixed by the model's structure."""
        self.n_sites += 1
        return ast.Constant(value=self.n_sites - 1)

    def _stock(self, deriv, init, origin) -> ast.Name:
        name = f"_h{len(self.hidden)}"
        self.hidden.append(Hidden(name, deriv, init, origin))
        return ast.Name(id=name)

    # -- Vensim/XMILE stateful builtins (issue 12) ------------------------------------------
    def _chain(self, x, tau, init, n: int, where: str, material: bool, lag: bool = False):
        """n first-order stages of ``tau/n``. Smooths: each stage moves toward the one before
        and starts at ``init``. Material delays: stage k holds material, drains at
        ``stage/(tau/n)`` and starts at ``init*tau/n``. ``lag``: stage k sees the delay time
        of k steps ago, as Vensim's DELAY N passes it down its chain one step per stage."""
        cur = x
        for k in range(n):
            tk = tau
            if lag and k:
                name = f"_d{len(self.dfix)}"
                self.dfix.append(DelayFixed(name, tau, _bin(_num(k), ast.Mult(), _DT), tau, where))
                tk = ast.Name(id=name)
            tn = tk if n == 1 else _bin(tk, ast.Div(), _num(n))
            stage = ast.Name(id=f"_h{len(self.hidden)}")
            if material:
                outflow = _bin(stage, ast.Div(), tn)
                self._stock(_bin(cur, ast.Sub(), outflow), _bin(init, ast.Mult(), tn), where)
                cur = outflow
            else:
                self._stock(_bin(_bin(cur, ast.Sub(), stage), ast.Div(), tn), init, where)
                cur = stage
        return cur

    def _delay1i(self, args, where):
        return self._chain(*args, 1, where, material=True)

    def _delay3i(self, args, where):
        return self._chain(*args, 3, where, material=True)

    def _delayn(self, args, where):
        x, tau, init, n = args
        return self._chain(x, tau, init, int(n.value), where, material=True, lag=True)

    def _smoothi(self, args, where):
        return self._chain(*args, 1, where, material=False)

    def _smooth3i(self, args, where):
        return self._chain(*args, 3, where, material=False)

    def _smoothn(self, args, where):
        x, tau, init, n = args
        return self._chain(x, tau, init, int(n.value), where, material=False)

    def _average(self, x, tau, init_trend, where):
        """TREND's state: x smoothed over tau, starting at x/(1 + init_trend*tau); and the
        trend itself, (x - average)/(tau*|average|), 0 where the average is 0."""
        init = _bin(x, ast.Div(), _bin(_num(1), ast.Add(), _bin(init_trend, ast.Mult(), tau)))
        avg = ast.Name(id=f"_h{len(self.hidden)}")
        self._stock(_bin(_bin(x, ast.Sub(), avg), ast.Div(), tau), init, where)
        scale = _bin(tau, ast.Mult(), call_node("abs", avg))
        return call_node("zidz", _bin(x, ast.Sub(), avg), scale)

    def _trend(self, args, where):
        return self._average(*args, where)

    def _forecast(self, args, where):
        x, tau, horizon, init_trend = args
        trend = self._average(x, tau, init_trend, where)
        return _bin(x, ast.Mult(), _bin(_num(1), ast.Add(), _bin(trend, ast.Mult(), horizon)))

    def _initial(self, args, where):
        return self._stock(_num(0), args[0], where)  # a state that never changes

    def _sample_if_true(self, args, where):
        # a one-step pipeline that feeds itself: it holds the last sample, updated once per
        # step (at the step's start, as Vensim's Euler does)
        cond, x, init = args
        name = f"_d{len(self.dfix)}"
        value = call_node("if_then_else", cond, x, ast.Name(id=name))
        self.dfix.append(DelayFixed(name, value, _DT, init, where))
        return value

    def _delay_fixed(self, args, where):
        x, tau, init = args
        name = f"_d{len(self.dfix)}"
        self.dfix.append(DelayFixed(name, x, tau, init, where))
        return ast.Name(id=name)

    def _random(self, fn, args):
        """A random draw, numbered by its call site."""
        name = "_rand_uniform" if fn == "random_uniform" else "_rand_normal"
        return call_node(name, *args, self._site())

    def _pink_noise(self, args, where):
        # white noise held over each step, first-order smoothed with time constant
        # tau; under Euler its variance makes the smoothed series' stationary sd
        # exactly sd: var(white) = sd**2 * (2 - dt/tau) * tau/dt
        sd, tau = args
        a = _bin(ast.Name(id="dt"), ast.Div(), tau)
        scale = call_node("sqrt", _bin(_bin(_num(2), ast.Sub(), a), ast.Div(), a))
        white = call_node("_rand_normal", _num(0), _bin(sd, ast.Mult(), scale), self._site())
        name = ast.Name(id=f"_h{len(self.hidden)}")
        deriv = _bin(_bin(white, ast.Sub(), name), ast.Div(), tau)
        return self._stock(deriv, _num(0), where)

    def _call(self, node: ast.Call, origin: str) -> ast.expr:
        """A call with its arguments lowered, itself lowered if it is stateful or random."""
        args = [self.lower(a, origin) for a in node.args]
        fn = node.func.id
        where = f"{fn}() in {origin}"
        if fn in _CHAINS:
            order, material = _CHAINS[fn]
            x, tau = args
            return self._chain(x, tau, x, order, where, material=material)
        if fn in _STATEFUL:
            return getattr(self, "_" + fn)(args, where)
        if fn in ("random_uniform", "random_normal"):
            return self._random(fn, args)
        if fn == "active_initial":
            return call_node("_active_initial", *args)
        return ast.Call(func=node.func, args=args, keywords=[])

    def lower(self, node: ast.expr, origin: str) -> ast.expr:
        """``node`` with every stateful builtin replaced (``origin``: the element it is
        from, for messages)."""
        if isinstance(node, ast.Call):
            return self._call(node, origin)
        if isinstance(node, ast.BinOp):
            return _bin(self.lower(node.left, origin), node.op, self.lower(node.right, origin))
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(op=node.op, operand=self.lower(node.operand, origin))
        if isinstance(node, ast.Compare):
            return ast.Compare(
                left=self.lower(node.left, origin),
                ops=node.ops,
                comparators=[self.lower(node.comparators[0], origin)],
            )
        return node
