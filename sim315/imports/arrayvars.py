"""Subscripted Vensim/XMILE elements as sim315 array parameters, stocks and auxiliaries.

:func:`add_array` maps one element whose definitions carry subscripts (see
:mod:`.subscripts` for the ranges): all numbers -> an array parameter; all INTEG -> an array
stock whose net flow is one array flow, ``<stock>_net_flow``; otherwise an array auxiliary.
Each definition is a piece of the array: an ``elements`` entry keyed by its subscripts (or,
under an EXCEPT, by each element it defines), or the default ``equation``.
"""

from __future__ import annotations

import dataclasses
import itertools

from .equations import UnsupportedError, error
from .filearrays import add_read_array, read_constants, refusal
from .names import key
from .netflows import signed_terms
from .reader import abstract_expressions
from .subscripts import is_number, values_of

ae = abstract_expressions()


def is_array(el) -> bool:
    """Does one of the element's definitions carry subscripts?"""
    return any(c.subscripts[0] for c in el.components)


def add_array(m, el, ident: str, sections: dict) -> None:
    """Put array element ``el`` into ``sections`` (parameters, stocks, auxiliaries, flows)
    of the model file; ``m`` is the :class:`sim315.imports.mapping.ModelMapping`."""
    try:
        el, wheres = read_constants(m, el)  # GET ... CONSTANTS: the numbers read
        if not add_read_array(m, el, ident, sections, wheres):
            _add(m, el, ident, sections)
            if wheres and ident in sections["parameters"]:
                sections["parameters"][ident]["source"] = "; ".join(dict.fromkeys(wheres))
    except UnsupportedError as exc:
        raise error(m.source, el.name, exc) from None


def check_arrays(m) -> None:
    """Refuse, before anything is read, the array elements that cannot be imported (their
    line names the element, whatever order the model lists elements in)."""
    for el in m.section.elements:
        if is_array(el):
            try:
                _refuse(el.components)
            except UnsupportedError as exc:
                raise error(m.source, el.name, exc) from None


def _refuse(comps) -> None:
    why = refusal(comps)  # arrays read from files: see .filearrays
    if why is not None:
        raise why
    other = {c.type for c in comps} - {"Auxiliary", "Constant", "Lookup", "Data"}
    if other:
        raise UnsupportedError(f"an array of {sorted(other)[0].lower()} elements")


def _add(m, el, ident: str, sections: dict) -> None:
    subs, comps = m.subs, el.components
    _refuse(comps)
    dims = subs.dims_of(el)
    head = {"dims": [subs.ident[d] for d in dims]}
    doc = {"doc": m.doc(el)} if m.doc(el) else {}
    if comps[0].type == "Lookup":  # an array of tables: points per definition
        x, y = {}, {}
        for c in comps:
            keys = [subs.labels(t) for t in subs.covered(c)] if c.subscripts[1] else []
            for k in keys or [subs.label(c.subscripts[0])]:
                table = m.table(c.ast)
                x[k], y[k] = table["x"], table["y"]
        sections["lookups"][ident] = {**head, "x": x, "y": y, **doc}
        return
    integ = [isinstance(c.ast, ae.IntegStructure) for c in comps]
    if all(integ):
        stock, flow = _stock(m, el, dims)
        sections["stocks"][ident] = {"initial": stock, **head, "units": m.units(el.units), **doc}
        whole = [key(s) for s in comps[0].subscripts[0]] == dims and "equation" in flow
        if len(comps) == 1 and whole:  # its flows are attached once all are mapped
            m.subs.nets[ident] = (el, comps[0].ast.flow)
        else:
            _net_flow(m, el, ident, flow, sections)
        return
    if any(integ):
        raise UnsupportedError("an array defined by INTEG for some elements only")
    if all(is_number(c.ast) for c in comps):
        values: dict = {}
        for c in comps:
            numbers = values_of(subs, c)
            values.update({subs.labels(t): numbers[t] for t in subs.covered(c)})
        same = len(set(values.values())) == 1
        value = next(iter(values.values())) if same else values
        sections["parameters"][ident] = {"value": value, **head, "units": m.units(el.units), **doc}
        return
    body = _definitions(m, el, dims, lambda c: c.ast)
    sections["auxiliaries"][ident] = {**head, **body, "units": m.units(el.units), **doc}


def _reads(term, subs: list[str]) -> bool:
    """Is ``term`` a reference with exactly the subscripts ``subs``?"""
    if not isinstance(term, ae.ReferenceStructure) or term.subscripts is None:
        return False
    return [key(x) for x in term.subscripts.subscripts] == subs


def _net_flow(m, el, ident: str, flow: dict, sections: dict) -> None:
    """One array flow, ``<stock>_net_flow``, for what is left of an array stock's net flow."""
    net = m.names.add(f"{el.name} net flow")
    m.names.original.pop(net, None)
    stock = sections["stocks"][ident]
    units = m.flow_units(stock["units"])
    sections["flows"][net] = {
        "dims": list(stock["dims"]),
        **flow,
        "units": units,
        "doc": f"the rest of the net flow of {el.name}",
    }
    stock.setdefault("inflows", []).append(net)


def attach_array_flows(m, sections: dict) -> dict:
    """Array auxiliaries that are whole terms of an array stock's net flow, read with the
    stock's own subscripts (``INTEG(in[d] - out[d], ...)``), become its inflows and
    outflows; the other terms one more flow. Returns the array flows."""
    auxiliaries, flows = sections["auxiliaries"], sections["flows"]
    plans, uses = {}, {}
    for s, (el, net) in m.subs.nets.items():
        named, rest = [], []
        subs = [key(x) for x in el.components[0].subscripts[0]]
        for sign, term in signed_terms(net) or [(1, net)]:
            ident = None
            if _reads(term, subs):
                ident = m.names.get(term.reference)
            aux = auxiliaries.get(ident) or flows.get(ident)
            if aux is not None and aux["dims"] == sections["stocks"][s]["dims"]:
                named.append((sign, ident, term))
                uses[ident] = uses.get(ident, 0) + 1
            else:
                rest.append((sign, term))
        plans[s] = (el, named, rest)
    for s, (el, named, rest) in plans.items():
        stock = sections["stocks"][s]
        for sign, ident, term in named:
            if uses[ident] > 2:  # a flow joins at most two stocks: keep it a term
                rest.append((sign, term))
                continue
            if ident in auxiliaries:
                flows[ident] = {**auxiliaries.pop(ident), "units": m.flow_units(stock["units"])}
            stock.setdefault("inflows" if sign > 0 else "outflows", []).append(ident)
        if rest:
            text = " ".join(
                f"{'-' if sign < 0 else ('+' if i else '')} {m.equation(el, t)}".strip()
                for i, (sign, t) in enumerate(rest)
            )
            _net_flow(m, el, s, {"equation": text}, sections)
    return flows


def _stock(m, el, dims):
    """An array stock's initial values and its net flow's definitions."""
    init = _definitions(m, el, dims, lambda c: c.ast.initial)
    flow = _definitions(m, el, dims, lambda c: c.ast.flow)
    if "equation" in init:
        text = init["equation"]
        try:
            return float(text), flow
        except ValueError:
            return text, flow
    out = {}
    for k, v in init["elements"].items():
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out, flow


def _definitions(m, el, dims, part) -> dict:
    """``equation`` and/or ``elements`` of an array from its definitions (``part`` picks the
    expression of a definition: the INTEG's initial value or net flow, or the whole)."""
    subs, comps = m.subs, el.components
    every = set(itertools.product(*(subs.members[d] for d in dims)))
    cover = [subs.covered(c) for c in comps]
    default = _default(comps, cover, every)
    out: dict = {}
    elements: dict[str, str] = {}
    for i, c in enumerate(comps):
        node = part(c)
        if _reads_range(m, node):  # Vensim: a range's name is the element's position
            for t in cover[i]:
                elements[subs.labels(t)] = _at(m, el, node, c.subscripts[0], dims, t)
            continue
        if i == default and not hasattr(node, "shape"):
            out["equation"] = _text(m, el, node)
            continue
        if is_number(node):
            numbers = values_of(subs, _Const(c.subscripts, node))
            elements.update({subs.labels(t): repr(numbers[t]) for t in cover[i]})
            continue
        text = m.equation(el, node)
        if c.subscripts[1]:
            elements.update(dict.fromkeys((subs.labels(t) for t in cover[i]), text))
        else:
            elements[subs.label(c.subscripts[0])] = text
    if elements:
        out["elements"] = elements
    return out


def _default(comps, cover, every) -> int | None:
    """The definition that can be the default ``equation``: the only one, when it defines
    every element, or the EXCEPT one when the others define exactly what it leaves out."""
    if len(comps) == 1:
        return 0 if set(cover[0]) == every else None
    for i, c in enumerate(comps):
        if not c.subscripts[1]:
            continue
        rest = set().union(*(set(cv) for j, cv in enumerate(cover) if j != i))
        if set(cover[i]) | rest == every and not set(cover[i]) & rest:
            return i
    return None


def _reads_range(m, node) -> bool:
    """Does the expression read a range's name as a value?"""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ae.ReferenceStructure):
            k = key(n.reference)
            if k in m.subs.ident and k not in m.elements:
                return True
        if dataclasses.is_dataclass(n):
            stack.extend(getattr(n, f.name) for f in dataclasses.fields(n))
        elif isinstance(n, list | tuple):
            stack.extend(n)
    return False


def _at(m, el, node, subscripts, dims, items) -> str:
    """The expression at one element, a range's name read as the element's position."""

    def resolve(ref: str) -> str:
        k = key(ref)
        if k in m.subs.ident and k not in m.elements:
            return repr(m.subs.position(ref, subscripts, dims, items))
        return m.resolve(ref)

    return m.writer(el, resolve=resolve).write(node)


def _text(m, el, node) -> str:
    if is_number(node) and not hasattr(node, "shape"):
        return repr(float(node))
    return m.equation(el, node)


class _Const:
    """A definition's subscripts with another expression (an INTEG's initial numbers)."""

    def __init__(self, subscripts, ast):
        self.subscripts = subscripts
        self.ast = ast
