"""``ensemble_serial`` written with the model's ``_run`` in its loop, as text.

sim315 runs every CPU ensemble through ``ensemble_serial`` (in threads of its own, which
claim the runs as they go), so its compile is a model's first compile. Calling ``_run``
there compiles the run's code into the caller; Numba's IR inlining (``inline="always"``, the way
:mod:`sim315.kernels.driver` writes it) does that, but its pass costs about 0.4 s on the
flagship model, a seventh of the whole compile. Here the generator writes the run's
statements into the loop itself:

* ``_run``'s arguments ``p``, ``out`` and ``run`` become ``P[r]``, ``out[r]`` and ``run0 + r``;
* its ``return 1`` in the time loop (a value became non-finite) becomes ``st = 1`` and a
  ``break`` out of that loop, and its closing ``return 0`` the run's status.

The statements, and so the numbers, are ``_run``'s own. :func:`serial_source` writes the loop
only for a ``_run`` of that shape (every return a constant status; one loop, the last
statement but the closing return, holding the others, none inside a loop of its own; no
name the loop uses), and returns None otherwise: the generator then keeps the IR-inlined
form. :func:`shape_ok` states the same shape on the syntax tree.
"""

from __future__ import annotations

import ast
import re

#: The names the written loop adds; a ``_run`` that uses one keeps the IR-inlined form.
_LOOP_NAMES = ("P_", "out_", "status_", "run0_", "claims_", "n_", "step_", "a_", "r_", "st_")
#: What the loop adds to the indent of ``_run``'s lines.
_PAD = " " * 8

_HEAD = '''\
@njit(cache=True, nogil=True, error_model="numpy", pipeline_class=_LeanPipeline)
def ensemble_serial(
    P_, lx, ly, lo, t0, dt, n_steps, stride, sel, out_, status_, key, run0_, claims_
):
    """Runs P[r] (run number run0 + r) on the calling thread, those it claims from claims
    (sim315.kernels.claims); out[r], status[r] (``_run``'s statements written into the
    loop: sim315.compilation.serial)."""
    n_ = P_.shape[0]
    step_ = _share(n_, claims_[1])
    while True:
        a_ = _claim(claims_, step_)
        if a_ >= n_:
            break
        for r_ in range(a_, min(a_ + step_, n_)):
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
_DEF = f"def _run({', '.join(_ARGS)}):"
_LOOP_NAME = re.compile(r"\b(?:" + "|".join(_LOOP_NAMES) + r")\b")
_QUOTES = ('"' * 3, "'" * 3)
#: What the line-by-line writer does not follow: nested functions, multi-line strings.
_SUSPECT = re.compile(r"\blambda\b|^\s*(?:async\s+)?def\s|" + "|".join(_QUOTES))


def serial_source(run_source: str) -> str | None:
    """The source of ``ensemble_serial`` with ``run_source`` (the generated ``def _run``,
    with its decorator and any module-level block functions before it) written into its
    loop; None when ``_run`` is not of the shape described in the module docstring.

    Line by line, as it runs on every model load (``ast.parse`` of the flagship's ``_run``
    takes 26 ms a method): the generator writes one statement a line and each block's
    header on a line of its own, so a ``return``'s enclosing loops are the lines above it
    with less indentation. The tests hold it to :func:`shape_ok` on every variant the
    generator writes."""
    lines = run_source.splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.startswith("def _run(")]
    if len(starts) != 1 or lines[starts[0]] != _DEF:
        return None
    i = starts[0] + 1
    if lines[i].lstrip().startswith(_QUOTES):  # the docstring, on one line
        if sum(lines[i].count(q) for q in _QUOTES) != 2:
            return None
        i += 1
    body = lines[i:]
    while body and not body[-1].strip():
        body.pop()
    if not body or body[-1] != "    return 0":
        return None
    out = [_HEAD]
    for k, line in enumerate(body[:-1]):
        text = line.strip()
        if text.startswith("#"):
            out.append(f"{_PAD}{line}\n")
            continue
        if _SUSPECT.search(line) or _LOOP_NAME.search(line):
            return None
        if text.startswith("return"):
            if text != "return 1" or not _in_one_loop(body, k):
                return None
            pad = line[: len(line) - len(line.lstrip())]
            out.append(f"{_PAD}{pad}st_ = 1\n{_PAD}{pad}break\n")
        else:
            out.append(f"{_PAD}{line}\n" if text else "\n")
    out.append(_TAIL)
    return "".join(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _in_one_loop(body: list[str], k: int) -> bool:
    """Whether line ``k`` lies in one loop, a statement of the function's body (indented
    4), after which comes only the closing ``return 0``."""
    depth, loops = _indent(body[k]), []
    for line in reversed(body[:k]):
        text = line.strip()
        if text and not text.startswith("#") and _indent(line) < depth:
            depth = _indent(line)
            if text.startswith(("for ", "while ")):
                loops.append(depth)
            if depth == 4:
                break
    after = body[k + 1 : -1]
    return loops == [4] and all(not ln.strip() or _indent(ln) > 4 for ln in after)


def shape_ok(run_source: str) -> bool:
    """The shape :func:`serial_source` relies on, on the syntax tree: every return a
    constant status; one loop, the last statement but the closing ``return 0``, holding the
    others, none inside a loop of its own; no name the written loop uses; no nested function
    or multi-line string (besides the docstring)."""
    tree = ast.parse(run_source)
    runs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_run"]
    if len(runs) != 1 or [a.arg for a in runs[0].args.args] != _ARGS:
        return False
    fn = runs[0]
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) < 2 or not _is_return(body[-1], 0) or not isinstance(body[-2], ast.For):
        return False
    return _returns_fit(fn, body[-2], body[-1]) and not _uses_loop_names(fn)


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
