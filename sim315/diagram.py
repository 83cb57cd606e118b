"""A stock-and-flow diagram of a model, as Mermaid text generated from the model file.

docs/model.md embeds the output of ``sim315 model diagram``; a test regenerates it, so the
drawing cannot drift from the model.
"""

from __future__ import annotations

from .compiler import ModelIR


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
