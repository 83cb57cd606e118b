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


def record_store(target: str):
    """The statement that stores a value in the one-function kernel's record ``rec`` at a
    constant index: through its data pointer ``prec`` on the CPU, by indexing on CUDA."""
    if target == "cuda":
        return lambda i, value: f"rec[{i}] = {value}"
    return lambda i, value: f"_st(prec, {i}, {value})"
