"""The evaluation orders of a lowered model: auxiliaries, what the derivatives need, and
initialisation, each a stable topological order that names a loop when there is one."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import NamedTuple

from ..core.errors import ModelError
from ..language.expressions import names_in
from .ir import DelayFixed, Hidden
from .lowering import branch

#: Makes the error for a loop, given the loop's names in order.
LoopError = Callable[[list[str]], ModelError]


class Orders(NamedTuple):
    aux: list[str]
    """Every auxiliary and flow, each after those it reads during the run."""
    rhs: list[str]
    """Those of ``aux`` that the derivatives need, in the same order."""
    init: list[tuple[str, str]]
    """(kind, name) of every stock, hidden stock and pipeline, and of the auxiliaries their
    start values read, in the order they are initialised; kind is 'stock', 'aux', 'hidden'
    or 'dfix'."""


def toposort(names: list[str], deps: dict[str, list[str]], loop_error: LoopError) -> list[str]:
    """Depth-first topological order, stable in declaration order; names a cycle if any."""
    state: dict[str, int] = {}
    order: list[str] = []
    for root in names:
        if root in state:
            continue
        stack = [(root, iter(deps[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
                order.append(node)
            elif state.get(nxt) == 1:
                raise loop_error(path[path.index(nxt) :])
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(deps[nxt])))
    return order


def loop_error(what: str, section_of: dict[str, str], fail) -> LoopError:
    """The error for an ``what`` ('algebraic loop' or 'initialisation loop'), reported at the
    first declared element of the loop (``fail(loc, problem, fix)`` makes it)."""

    def make(cycle: list[str]) -> ModelError:
        first = next((c for c in cycle if c in section_of), cycle[0])
        section = section_of.get(first, "stocks")
        fld = "initial" if section == "stocks" else "equation"
        shown = " -> ".join(c for c in [*cycle, cycle[0]] if not c.startswith("_"))
        fix = (
            "break it with a stock or a smooth()/delay"
            if what == "algebraic loop"
            else "give one of these a numeric initial value"
        )
        return fail((section, first, fld), f"{what}: {shown}", fix)

    return make


def _needed(roots: list[str], deps: dict[str, list[str]]) -> set[str]:
    """``roots`` and everything they read, directly or not."""
    needed: set[str] = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n not in needed:
            needed.add(n)
            stack.extend(deps[n])
    return needed


def _init_deps(
    stocks: list[str],
    lowered: dict[str, ast.expr],
    init_trees: dict[str, ast.expr],
    hidden: list[Hidden],
    dfix: list[DelayFixed],
) -> dict[str, list[str]]:
    """What each value read at initialisation reads: stocks their initial values,
    auxiliaries those, hidden stocks and pipelines their inputs."""
    nodes: dict[str, list[str]] = {}
    for s in stocks:
        tree = init_trees.get(s)
        nodes[s] = names_in(tree) if tree is not None else []
    for n in lowered:
        nodes[n] = names_in(branch(lowered[n], True))
    for h in hidden:
        nodes[h.name] = names_in(h.init)
    for d in dfix:
        nodes[d.name] = names_in(d.init) + names_in(d.tau)
    return {n: [d for d in ds if d in nodes] for n, ds in nodes.items()}


def order_model(
    stocks: list[str],
    lowered: dict[str, ast.expr],
    init_trees: dict[str, ast.expr],
    hidden: list[Hidden],
    dfix: list[DelayFixed],
    flow_stocks: dict[str, list[tuple[str, str]]],
    section_of: dict[str, str],
    fail,
) -> Orders:
    """The :class:`Orders` of a lowered model (``lowered``: the auxiliaries' and flows'
    equations; ``flow_stocks``: the stocks each flow feeds or drains)."""
    aux_names = list(lowered)
    deps = {n: [d for d in names_in(branch(lowered[n], False)) if d in lowered] for n in aux_names}
    aux_order = toposort(aux_names, deps, loop_error("algebraic loop", section_of, fail))
    # what the derivatives need
    roots = [f for f, st in flow_stocks.items() if st]
    for h in hidden:
        roots += [d for d in names_in(h.deriv) if d in lowered]
    for d in dfix:
        roots += [n for n in names_in(d.input) if n in lowered]
    needed = _needed(roots, deps)
    rhs_order = [n for n in aux_order if n in needed]
    init_deps = _init_deps(stocks, lowered, init_trees, hidden, dfix)
    init_loop = loop_error("initialisation loop", section_of, fail)
    order = toposort(list(init_deps), init_deps, init_loop)
    # an auxiliary is computed at initialisation only when a state's start value needs it:
    # the time loop computes every auxiliary again before it is used or saved, so the rest
    # would be dead code that the compiler still types and lowers
    starts = _needed([*stocks, *(h.name for h in hidden), *(d.name for d in dfix)], init_deps)
    order = [n for n in order if n in starts]
    kind = {s: "stock" for s in stocks}
    kind.update({n: "aux" for n in aux_names})
    kind.update({h.name: "hidden" for h in hidden})
    kind.update({d.name: "dfix" for d in dfix})
    return Orders(aux_order, rhs_order, [(kind[n], n) for n in order])
