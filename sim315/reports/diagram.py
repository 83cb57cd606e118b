"""A stock-and-flow diagram of a model, as Mermaid text generated from the model file.

docs/model.md embeds the output of ``sim315 model diagram``; a test regenerates it, so the
drawing cannot drift from the model.
"""

from __future__ import annotations

import itertools

from ..compilation.ir import ModelIR


def mermaid(ir: ModelIR) -> str:
    """Stocks as boxes (grouped), flows as labelled arrows, clouds for sources and sinks."""
    spec = ir.spec
    lines = ["flowchart LR"]
    grouped: dict[str, list[str]] = {}
    for name, st in spec.stocks.items():
        grouped.setdefault(st.group or "", []).append(name)
    for group, names in grouped.items():
        indent = "  "
        if group:
            lines.append(f"  subgraph {group}")
            indent = "    "
        for n in names:
            lines.append(f"{indent}{n}[{n}]")
        if group:
            lines.append("  end")
    sources: dict[str, list[str]] = {f: [] for f in spec.flows}
    sinks: dict[str, list[str]] = {f: [] for f in spec.flows}
    for name, st in spec.stocks.items():
        for f in st.outflows:
            sources[f].append(name)
        for f in st.inflows:
            sinks[f].append(name)
    for f in spec.flows:
        frm = sources[f] or [f"src_{f}((.))"]
        to = sinks[f] or [f"sink_{f}((.))"]
        for a in frm:
            for b in to:
                lines.append(f"  {a} -->|{f}| {b}")
    return "\n".join(lines) + "\n"


def loops_mermaid(loops: list[tuple[str, str]]) -> str:
    """A causal-loop diagram of named loops, each given as (label, "a -> b -> ... -> a").

    Every link appears once; a loop's label sits on its first link.
    """
    lines = ["flowchart LR"]
    seen: set[tuple[str, str]] = set()
    for label, chain in loops:
        names = [s.strip() for s in chain.split("->")]
        first = True
        for a, b in itertools.pairwise(names):
            if (a, b) in seen:
                continue
            seen.add((a, b))
            arrow = f"-->|{label}|" if first else "-->"
            lines.append(f"  {a} {arrow} {b}")
            first = False
    return "\n".join(lines) + "\n"


def loops_from_markdown(text: str) -> list[tuple[str, str]]:
    """The loops listed between ``<!-- loops:begin -->`` and ``<!-- loops:end -->``:
    lines ``- R1 (...) words: a -> b -> a``."""
    block = text.split("<!-- loops:begin -->")[1].split("<!-- loops:end -->")[0]
    out = []
    for line in block.strip().splitlines():
        if line.startswith("- "):
            head, chain = line[2:].split(": ", 1)
            out.append((head.split()[0], chain.strip()))
    return out
