"""``ensemble_serial`` written with the model's ``_run`` in its loop, as text.

sim315 runs every CPU ensemble through ``ensemble_serial`` (on slices of the runs in its own
threads), so its compile is a model's first compile. Calling ``_run`` there compiles the
run's code into the caller; Numba's IR inlining (``inline="always"``, the way
:mod:`sim315.kernels.driver` writes it) does that, but its pass costs about 0.4 s on the
flagship model, a seventh of the whole compile. Here the generator writes the run's
statements into the loop itself:

* ``_run``'s arguments ``p``, ``out`` and ``run`` become ``P[r]``, ``out[r]`` and ``run0 + r``;
* its ``return 1`` in the time loop (a value became non-finite) becomes ``st = 1`` and a
  ``break`` out of that loop, and its closing ``return 0`` the run's status.

The statements, and so the numbers, are ``_run``'s own. :func:`serial_source` checks that
``_run`` has that shape (every return a constant status; one loop, the last statement but
the closing return, holding the others, none inside a loop of its own; no name the loop
uses) and otherwise returns None: the generator then keeps the IR-inlined form.
"""

from __future__ import annotations

import ast

#: The names the written loop adds; a ``_run`` that uses one keeps the IR-inlined form.
_LOOP_NAMES = frozenset({"P_", "out_", "status_", "run0_", "r_", "st_"})

_HEAD = '''\
@njit(cache=True, nogil=True, error_model="numpy")
def ensemble_serial(P_, lx, ly, lo, t0, dt, n_steps, stride, sel, out_, status_, key, run0_):
    """Runs P[r] (run number run0 + r) on the calling thread; out[r], status[r] (``_run``'s
    statements written into the loop: sim315.compilation.serial)."""
    for r_ in range(P_.shape[0]):
        p = P_[r_]
        out = out_[r_]
        run = run0_ + r_
        st_ = 0
'''
_TAIL = """\
        status_[r_] = st_
    return 0
"""
_ARGS = ["p", "lx", "ly", "lo", "t0", "dt", "n_steps", "stride", "sel", "out", "key", "run"]


def serial_source(run_source: str) -> str | None:
    """The source of ``ensemble_serial`` with ``run_source`` (the generated ``def _run``,
    decorators included or not) written into its loop; None when ``_run`` is not of the
    shape described in the module docstring."""
    tree = ast.parse(run_source)
    runs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_run"]
    if len(runs) != 1 or [a.arg for a in runs[0].args.args] != _ARGS:
        return None
    fn = runs[0]
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) < 2 or not _is_return(body[-1], 0) or not isinstance(body[-2], ast.For):
        return None
    loop = body[-2]
    if not _returns_fit(fn, loop, body[-1]) or _uses_loop_names(fn):
        return None
    lines = run_source.splitlines()
    first = body[0].lineno - 1
    last = body[-1].lineno - 1  # the closing return: not copied
    breaks = {}
    for node in ast.walk(loop):
        if isinstance(node, ast.Return):
            if node.lineno != node.end_lineno:
                return None
            breaks[node.lineno - 1] = node.value.value
    out = [_HEAD]
    for i in range(first, last):
        line = lines[i]
        if i in breaks:
            pad = line[: len(line) - len(line.lstrip())]
            out.append(f"    {pad}st_ = {breaks[i]}\n    {pad}break\n")
        else:
            out.append(f"    {line}\n" if line.strip() else "\n")
    out.append(_TAIL)
    return "".join(out)


def _is_return(node: ast.stmt, value: int | None = None) -> bool:
    """Whether ``node`` returns an int constant (``value`` if given)."""
    if not isinstance(node, ast.Return) or not isinstance(node.value, ast.Constant):
        return False
    v = node.value.value
    return isinstance(v, int) and not isinstance(v, bool) and (value is None or v == value)


def _returns_fit(fn: ast.FunctionDef, loop: ast.For, closing: ast.Return) -> bool:
    """Every return is the closing one, or a constant one in ``loop`` outside any inner loop;
    nothing (a nested function, a multi-line string) that indenting could change."""
    inner: set[int] = set()
    for node in ast.walk(loop):
        if node is not loop and isinstance(node, (ast.For, ast.While)):
            inner |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Return)}
    in_loop = {id(n) for n in ast.walk(loop) if isinstance(n, ast.Return)}
    docstring = getattr(fn.body[0], "value", None)  # not copied
    for node in (n for stmt in fn.body for n in ast.walk(stmt)):
        if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.AsyncFunctionDef)):
            return False
        text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if text and "\n" in node.value and node is not docstring:
            return False
        stray = id(node) not in in_loop or id(node) in inner or not _is_return(node)
        if isinstance(node, ast.Return) and node is not closing and stray:
            return False
    return True


def _uses_loop_names(fn: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Name) and n.id in _LOOP_NAMES for n in ast.walk(fn))
