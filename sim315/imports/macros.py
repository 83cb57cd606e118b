"""Vensim macros, expanded at import: each call gets its own copy of the macro's elements."""

from __future__ import annotations

from .equations import UnsupportedError
from .names import CONTROL, key
from .reader import abstract_expressions

ae = abstract_expressions()


def expand_macro(m, name: str, args: list[str]) -> str | None:
    """Copy the elements of macro ``name`` into the model for one call: each call gets
    its own elements (``<macro>_<n>_<element>``, so its stocks are its own), the macro's
    parameters replaced by the call's arguments. Returns the macro's output (None when
    ``name`` is no macro). ``m`` is the :class:`sim315.imports.mapping.ModelMapping`."""
    macro = m.macros.get(key(name))
    if macro is None:
        return None
    params = [key(p) for p in macro.params]
    if len(params) != len(args):
        raise UnsupportedError(
            f"a call of the macro {name} with {len(args)} arguments ({len(params)} defined)",
            "pass every argument",
        )
    # extra outputs (`:MACRO: name(in : out2)`) are optional in a call (Vensim): a call
    # without them is expanded with them as elements of the copy; one that takes them is
    # refused by the reader (PySD cannot parse it)
    m.macro_calls[key(name)] = n = m.macro_calls.get(key(name), 0) + 1
    local = {}
    for el in macro.elements:
        ident = m.names.add(f"{macro.name} {n} {el.name}")
        m.names.original.pop(ident, None)
        local[key(el.name)] = ident
    bound = dict(zip(params, args, strict=True))

    def resolve(reference: str) -> str:
        k = key(reference)
        if k in bound:
            return f"({bound[k]})"
        if k in local:
            return local[k]
        if k in ("time", "time step") or k in CONTROL:
            return m.resolve(reference)
        raise UnsupportedError(f"the name '{reference}' inside the macro {name}")

    for el in macro.elements:
        try:
            _copy(m, macro, n, el, local[key(el.name)], resolve)
        except UnsupportedError as exc:
            raise UnsupportedError(f"{exc.construct} (in the macro {name})", exc.fix) from None
    out = local.get(key(macro.name))
    if out is None:
        raise UnsupportedError(f"the macro {name} without an output named after it")
    return out


def _copy(m, macro, n: int, el, ident: str, resolve) -> None:
    """Call ``n``'s copy of the macro's element ``el``, named ``ident``: a stock (with its net
    flow) or an auxiliary, dimensionless."""
    ast = m.component(el).ast
    write = m.writer(el, resolve)
    if isinstance(ast, ae.IntegStructure):
        flow = m.names.add(f"{macro.name} {n} {el.name} net flow")
        m.names.original.pop(flow, None)
        m.macro_stocks[ident] = {
            "initial": write.write(ast.initial),
            "units": "1",
            "inflows": [flow],
            "doc": f"from the macro {macro.name}",
        }
        m.macro_flows[flow] = {"equation": write.write(ast.flow), "units": "1"}
    else:
        m.macro_aux[ident] = {
            "equation": write.write(ast),
            "units": "1",
            "doc": f"from the macro {macro.name}",
        }
