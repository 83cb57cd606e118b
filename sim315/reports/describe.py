"""Human-readable descriptions of a compiled model (``sim315 model show``)."""

from __future__ import annotations

import ast

from ..compilation.ir import ModelIR
from ..core.elementnames import array_of


def summary_line(ir: ModelIR) -> str:
    """One line: the model's size and clock."""
    s = ir.spec
    g = ir.grid
    parts = [
        f"model '{s.name}'",
        f"{len(s.stocks)} stocks",
        f"{len(s.flows)} flows",
        f"{len(s.auxiliaries)} auxiliaries",
        f"{len(s.parameters)} parameters",
        f"{len(s.lookups)} lookup" + ("" if len(s.lookups) == 1 else "s"),
    ]
    if ir.hidden or ir.dfix:
        parts.append(f"{len(ir.hidden)} hidden stocks, {len(ir.dfix)} fixed delays")
    clock = (
        f"time {g.start:g}..{g.stop:g} {g.units}, dt {g.dt:g} ({g.n_steps} steps), "
        f"saved every {g.save_every:g}"
    )
    return ", ".join(parts) + "; " + clock


def describe(ir: ModelIR) -> str:
    """The full listing: every element with units, equation and doc, and the orders; an
    imported model's elements with their original names too."""
    s = ir.spec
    out = [summary_line(ir), ""]
    if s.doc:
        out += [s.doc.strip(), ""]
    stocks = [
        (
            _shaped(n, st),
            st.units,
            f"INTEG({_net(st.inflows, st.outflows)}, {st.initial})"
            + (", non-negative" if st.non_negative else "")
            + (f"; group: {st.group}" if st.group else ""),
            st.doc,
        )
        for n, st in s.stocks.items()
    ]
    parameters = [
        (_shaped(n, p), p.units, _value(p.value) + (f" in {list(p.bounds)}" if p.bounds else ""),
         _doc(p))
        for n, p in s.parameters.items()
    ]  # fmt: skip
    lookups = [
        (_shaped(n, t), f"{t.x_units} -> {t.y_units}", _points(t), _doc(t))
        for n, t in s.lookups.items()
    ]
    if s.dimensions:
        out.append("dimensions:")
        for n, d in s.dimensions.items():
            part = f" (part of {d.subrange_of})" if d.subrange_of else ""
            maps = "".join(f"; maps to {m}" for m in d.maps_to)
            out.append(f"  {n}{part}: {', '.join(d.elements)}{maps}")
        out.append("")
    _section(out, s.names, "stocks", stocks)
    flows = [(_shaped(n, f), f.units, _equation(f), f.doc) for n, f in s.flows.items()]
    _section(out, s.names, "flows", flows)
    auxiliaries = [(_shaped(n, a), a.units, _equation(a), a.doc) for n, a in s.auxiliaries.items()]
    _section(out, s.names, "auxiliaries", auxiliaries)
    _section(out, s.names, "parameters", parameters)
    _section(out, s.names, "lookups", lookups)
    if ir.hidden:
        out.append("hidden stocks (from SMOOTH/DELAY):")
        out += [f"  {h.name}: d/dt = {ast.unparse(h.deriv)}  ({h.origin})" for h in ir.hidden]
        out.append("")
    out.append("evaluation order: " + " -> ".join(ir.aux_order))
    out.append("initialisation order: " + " -> ".join(n for _k, n in ir.init_order))
    out.append("kernel parameters: " + ", ".join(ir.kernel_params))
    return "\n".join(out)


def _section(out: list[str], names: dict, title: str, rows: list[tuple]) -> None:
    """``title:`` and one line per (name, units, definition, doc) row, the doc below."""
    if not rows:
        return
    out.append(f"{title}:")
    for name, units, what, doc in rows:
        original = names.get(array_of(name))  # an imported model's own name
        shown = f'{name} ("{original}")' if original else name
        out.append(f"  {shown} [{units}] = {what}")
        if doc:
            out.append(f"      {doc.strip()}")
    out.append("")


def _doc(element) -> str:
    """A parameter's or table's doc, and its source."""
    source = f"Source: {element.source}." if element.source else ""
    return " ".join(x for x in (element.doc, source) if x)


def _shaped(name: str, element) -> str:
    """``name``, or ``name[d1, d2]`` for an array."""
    dims = getattr(element, "dims", None)
    return f"{name}[{', '.join(dims)}]" if dims else name


def _value(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v:g}" for k, v in value.items()) + "}"
    return f"{value:g}"


def _equation(element) -> str:
    """An equation, with an array's per-element definitions after it."""
    parts = [element.equation] if element.equation is not None else []
    parts += [f"[{k}] {v}" for k, v in element.elements.items()]
    return "; ".join(parts)


def _points(table) -> str:
    if isinstance(table.x, dict) or isinstance(table.y, dict):
        return f"x {table.x}, y {table.y}"
    return str(list(zip(table.x, table.y, strict=True)))


def _net(inflows: list[str], outflows: list[str]) -> str:
    text = " + ".join(inflows)
    for f in outflows:
        text += f" - {f}" if text else f"-{f}"
    return text or "0"
