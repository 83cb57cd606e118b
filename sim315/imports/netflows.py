"""A stock's net flow (``INTEG(in - out, ...)``) as the flows it is made of: auxiliaries that
are whole terms of it become the stock's inflows and outflows, so the stock-and-flow
structure survives the import; the other terms become one more flow."""

from __future__ import annotations

from .reader import abstract_expressions

ae = abstract_expressions()


def attach_flows(m, stocks: dict, auxiliaries: dict, nets: dict) -> dict:
    """Auxiliaries that are whole terms of a stock's net flow become its inflows and
    outflows; the other terms (constants, expressions) one more flow,
    ``<stock>_net_flow``. ``nets``: stock -> (element, its net flow's abstract syntax);
    ``m`` is the :class:`sim315.imports.mapping.ModelMapping`. Returns the flows."""
    plans: dict[str, tuple[list, list]] = {}
    uses: dict[str, int] = {}
    for s, (_el, net) in nets.items():
        terms = signed_terms(net)
        named, rest = [], []
        for sign, term in terms if terms is not None else [(1, net)]:
            ident = None
            if isinstance(term, ae.ReferenceStructure) and term.subscripts is None:
                ident = m.names.get(term.reference)
            if ident in auxiliaries and all(i != ident for _, i in named):
                named.append((sign, ident))
                uses[ident] = uses.get(ident, 0) + 1
            else:
                rest.append((sign, term))
        plans[s] = (named, rest)
    flows: dict[str, dict] = {}
    for s, (named, rest) in plans.items():
        el = nets[s][0]
        for sign, ident in named:
            if uses[ident] > 2:  # a flow joins at most two stocks: keep it a term
                rest.append((sign, ae.ReferenceStructure(m.names.original[ident])))
                continue
            if ident not in flows:
                aux = auxiliaries.pop(ident)
                aux["units"] = m.flow_units(stocks[s]["units"])
                flows[ident] = aux
            stocks[s].setdefault("inflows" if sign > 0 else "outflows", []).append(ident)
        if not rest:
            continue
        parts = []
        for sign, term in rest:
            part = m.equation(el, term)
            if not parts:
                parts.append(part if sign > 0 else f"-{part}")
            else:
                parts.append(f"{'+' if sign > 0 else '-'} {part}")
        text = " ".join(parts)
        ident = m.names.add(f"{s} net flow")
        m.names.original.pop(ident, None)
        flows[ident] = {
            "equation": text,
            "units": m.flow_units(stocks[s]["units"]),
            "doc": f"the rest of the net flow of {el.name}",
        }
        stocks[s].setdefault("inflows", []).append(ident)
    return flows


def signed_terms(node, sign: int = 1):
    """``a - b + c`` -> [(1, a), (-1, b), (1, c)]; None when ``node`` is no such sum."""
    if isinstance(node, ae.ArithmeticStructure):
        ops, args = list(node.operators), list(node.arguments)
        if len(args) == 1 and ops[0] in ("negative", "-"):
            return signed_terms(args[0], -sign)
        if len(args) > 1 and all(op in "+-" for op in ops):
            out = signed_terms(args[0], sign)
            for op, arg in zip(ops, args[1:], strict=True):
                more = signed_terms(arg, sign if op == "+" else -sign)
                if out is None or more is None:
                    return None
                out += more
            return out
        return None
    return [(sign, node)]
