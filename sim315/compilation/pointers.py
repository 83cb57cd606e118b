"""Generated code that reads and writes arrays at constant indices through data pointers.

Numba lowers each ``a[i]`` through its general indexing code, and LLVM's passes over many of
them in one function take time that grows faster than their number. The kernel's own arrays
(C-contiguous, made by the generated ``_run``) are instead read and written with the
intrinsics of :mod:`sim315.kernels.pointers`: ``pa = _ptr(a)`` once, then ``_ld(pa, i)`` and
``_st(pa, i, v)``, the same values for a fraction of the compile time
(``benchmarks/README.md``). CPU only: a CUDA device, and Numba's CUDA simulator, index.
"""

from __future__ import annotations

import re

#: A constant-index access of one of the arrays a large model's ``_run`` makes
#: (:mod:`sim315.compilation.blocked`; ``lo`` is the caller's, so not among them).
_ACCESS = re.compile(r"(PP|X|V|D|K)\[(\d+)(?:, (\d+))?\]")


def through_pointers(
    loads: list[str], body: list[str], k_width: int
) -> tuple[list[str], list[str]]:
    """A block function's ``loads`` (``local = A[i]``) and ``body`` with each constant-index
    access of a kernel array (a load, a store ``A[i] = value``; ``K[stage, i]`` of the
    ``k_width`` wide, C-ordered stage rates too) made through the array's data pointer,
    which new first lines take once; other lines are kept as they are."""
    used: set[str] = set()

    def flat(m: re.Match) -> str:
        used.add(m.group(1))
        if m.group(3) is None:
            return f"p{m.group(1)}, {m.group(2)}"
        return f"p{m.group(1)}, {int(m.group(2)) * k_width + int(m.group(3))}"

    def load(line: str) -> str:
        local, _, access = line.partition(" = ")
        m = _ACCESS.fullmatch(access)
        return f"{local} = _ld({flat(m)})" if m else line

    def store(line: str) -> str:
        indent = line[: len(line) - len(line.lstrip())]
        access, _, value = line.strip().partition(" = ")
        m = _ACCESS.fullmatch(access)
        return f"{indent}_st({flat(m)}, {value})" if m else line

    loads = [load(ln) for ln in loads]
    body = [store(ln) for ln in body]
    return [f"    p{a} = _ptr({a})" for a in sorted(used)] + loads, body


#: A lane of a row of the block-of-runs kernel's work array at a constant offset: ``W[k + l]``;
#: and a statement that stores one (``=`` or ``+=``).
_LANE = re.compile(r"W\[(\d+) \+ l\]")
_LANE_STORE = re.compile(r"(\s*)W\[(\d+) \+ l\] (\+?)= (.*)")


def lanes_through_pointers(lines: list[str]) -> list[str]:
    """The block-of-runs kernel's lines (:mod:`.lanes`) with each access of a work-array row
    at a constant offset, ``W[k + l]``, made through ``W``'s data pointer ``pW`` (which the
    kernel takes once): ``_ldl(pW, k, l)`` to read, ``_stl(pW, k, l, value)`` to store
    (``+=`` written out as the addition it is). Accesses at indices computed at run time are
    kept as they are. The same values, and plan315's first block-of-runs compile 9.6 -> 7.1 s
    in one measurement (typing their additions and indexing was a fifth of it)."""
    out = []
    for line in lines:
        m = _LANE_STORE.fullmatch(line)
        if m is None:
            out.append(_LANE.sub(r"_ldl(pW, \1, l)", line))
            continue
        indent, k, plus, value = m.groups()
        value, hash_, comment = value.partition("  #")
        value = _LANE.sub(r"_ldl(pW, \1, l)", value)
        if plus:
            value = f"_ldl(pW, {k}, l) + ({value})"
        out.append(f"{indent}_stl(pW, {k}, l, {value}){hash_ and '  #'}{comment}")
    return out


def record_store(target: str):
    """The statement that stores a value in the one-function kernel's record ``rec`` at a
    constant index: through its data pointer ``prec`` on the CPU, by indexing on CUDA."""
    if target == "cuda":
        return lambda i, value: f"rec[{i}] = {value}"
    return lambda i, value: f"_st(prec, {i}, {value})"


def record_stores(target: str, items: list[tuple[int, str, str]]) -> list[str]:
    """The statements that store ``(index, value, name)`` items in the record ``rec``: on
    the CPU, each run of consecutive indices in one :func:`~sim315.kernels.pointers.store_n`
    of a tuple (after a comment naming them), which Numba types and lowers as one call
    instead of one per value (the flagship's 261 stores: 0.3 s of its first compile); on
    CUDA one indexing each."""
    store = record_store(target)
    if target == "cuda":
        return [f"{store(i, value)}  # {name}" for i, value, name in items]
    lines, run = [], []
    for item in [*items, None]:
        if run and (item is None or item[0] != run[-1][0] + 1):
            if len(run) == 1:
                i, value, name = run[0]
                lines.append(f"{store(i, value)}  # {name}")
            else:
                lines.append(
                    f"# rec[{run[0][0]}:{run[-1][0] + 1}]: {', '.join(n for *_, n in run)}"
                )
                values = ", ".join(v for _, v, _ in run)
                lines.append(f"_stn(prec, {run[0][0]}, ({values},))")
            run = []
        if item is not None:
            run.append(item)
    return lines


def parameter_loads(target: str, names: list[str]) -> list[str]:
    """The statements that take a run's parameters ``p[0..]`` into locals ``p_0..``: on the
    CPU one :func:`~sim315.kernels.pointers.load_row` of them all (after comments naming
    them; 0.3 s of the flagship's first compile against one indexing each); on CUDA one
    indexing each. ``p`` is a row of the caller's parameter matrix, contiguous (as sim315's
    callers pass it) or strided."""
    if target == "cuda" or not names:
        return [f"p_{i} = p[{i}]  # {name}" for i, name in enumerate(names)]
    lines, line = [], "#"
    for i, name in enumerate(names):
        part = f" p_{i} {name}"
        if len(line) + len(part) > 88:
            lines.append(line)
            line = "#"
        line += part
    lines.append(line)
    locals_ = ", ".join(f"p_{i}" for i in range(len(names)))
    return [*lines, f"({locals_},) = _ldrow(p, 0, {len(names)})"]
