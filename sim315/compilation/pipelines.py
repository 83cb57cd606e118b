"""DELAY FIXED pipelines in the block layout (:mod:`sim315.compilation.blocked`), scalar or
array: the code of ``_run`` that sets each one up, reads its output at a step's start and
feeds it its input.

Pipeline ``k`` keeps its outputs in ``D`` (from its first slot), its past inputs in the
buffer ``buf_k`` of ``n_k`` steps (``floor(tau/dt + 1/2)``, at least 1) and its position in
``pos_k``. An array pipeline (a DELAY FIXED inside an array's equation) has one buffer
segment per element, from ``off_k[e]``, each of its own length: its delay time may differ
by element. Elements outside the piece that made it keep one slot of zeros.
"""

from __future__ import annotations

from .arraygen import ArrayEmitter, Slots


def init_lines(ir, slots: Slots, em, k: int) -> list[str]:
    """Set up pipeline ``k``: its output starts at its initial value, its buffer full of it."""
    d = ir.dfix[k]
    base = slots.dfix[d.name]
    if ir.layout is None or d.name not in ir.layout.dims:
        return [
            f"D[{base}] = {em.value(d.init)}  # {d.origin}",
            f"n_{k} = int(math.floor({em.value(d.tau)} / dt + 0.5))",
            f"if n_{k} < 1:",
            f"    n_{k} = 1",
            f"buf_{k} = np.full(n_{k}, D[{base}])",
            f"pos_{k} = 0",
        ]
    assert isinstance(em, ArrayEmitter)
    piece = ir.layout.pieces[d.name][0]
    n = ir.layout.size(d.name)
    lines = [f"# {d.origin}: a pipeline per element", f"tau_{k} = np.zeros({n})"]
    lines += [f"for it in range({n}):", f"    D[it + {base}] = 0.0"]
    lines += em.loop(piece, d.init, "D", base)
    lines += em.loop(piece, d.tau, f"tau_{k}", 0)
    return [
        *lines,
        f"n_{k} = np.ones({n}, dtype=np.int64)",
        f"off_{k} = np.zeros({n + 1}, dtype=np.int64)",
        f"for e in range({n}):",
        f"    n_{k}[e] = max(1, int(math.floor(tau_{k}[e] / dt + 0.5)))",
        f"    off_{k}[e + 1] = off_{k}[e] + n_{k}[e]",
        f"buf_{k} = np.empty(off_{k}[{n}])",
        f"for e in range({n}):",
        f"    buf_{k}[off_{k}[e] : off_{k}[e + 1]] = D[e + {base}]",
        f"pos_{k} = np.zeros({n}, dtype=np.int64)",
        f"inp_{k} = np.zeros({n})",
    ]


def read_lines(ir, slots: Slots, k: int) -> list[str]:
    """At a step's start: the output is the input of ``n_k`` steps ago."""
    d = ir.dfix[k]
    base = slots.dfix[d.name]
    if ir.layout is None or d.name not in ir.layout.dims:
        return [f"D[{base}] = buf_{k}[pos_{k}]  # input of n_{k} steps ago"]
    n = ir.layout.size(d.name)
    return [f"for e in range({n}):", f"    D[e + {base}] = buf_{k}[off_{k}[e] + pos_{k}[e]]"]


def write_lines(ir, slots: Slots, em, k: int) -> list[str]:
    """In the step's first stage: the input at t replaces the oldest one."""
    d = ir.dfix[k]
    if ir.layout is None or d.name not in ir.layout.dims:
        return [
            f"buf_{k}[pos_{k}] = {em.value(d.input)}  # {d.origin}",
            f"pos_{k} += 1",
            f"if pos_{k} == n_{k}:",
            f"    pos_{k} = 0",
        ]
    piece = ir.layout.pieces[d.name][0]
    n = ir.layout.size(d.name)
    return [
        *em.loop(piece, d.input, f"inp_{k}", 0),
        f"for e in range({n}):",
        f"    buf_{k}[off_{k}[e] + pos_{k}[e]] = inp_{k}[e]",
        f"    pos_{k}[e] += 1",
        f"    if pos_{k}[e] == n_{k}[e]:",
        f"        pos_{k}[e] = 0",
    ]
