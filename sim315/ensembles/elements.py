"""Arrays in scenarios: a name given for a whole array or a subrange stands for each of
its elements (in ``overrides``, ``uncertain``, ``allow_out_of_bounds`` and ``outputs``).

``overrides: {rate: 0.3}`` sets every element of the array ``rate``; ``rate[north]`` every
element of the subrange ``north``; ``rate[haining]`` one element (the kernel's own name).
``uncertain: {rate: {dist: ...}}`` draws every element independently, from the same
distribution. Scalars pass through unchanged.
"""

from __future__ import annotations

from ..compilation.arrays import piece_of, selectors
from ..core.elementnames import split_element
from ..core.errors import suggest
from ..schemas.scenario import ScenarioError


def expand_elements(source: str, loaded, ir):
    """``loaded`` with its scenario's array names expanded to elements (``ir``'s model)."""
    layout = ir.layout
    sc = loaded.scenario
    if layout is None:
        return loaded
    known = set(ir.kernel_params)
    changes = {}
    if sc.outputs is not None:  # an array's name saves each of its elements
        names = set(ir.record)
        changes["outputs"] = [
            e for n in sc.outputs for e in (_elements(source, "outputs", n, layout, names))
        ]
    for section in ("overrides", "uncertain", "allow_out_of_bounds"):
        given = getattr(sc, section)
        items = given.items() if isinstance(given, dict) else ((n, None) for n in given)
        out = {}
        for name, value in items:
            for element in _elements(source, section, name, layout, known):
                out[element] = value
        changes[section] = out if isinstance(given, dict) else list(out)
    return loaded.model_copy(update={"scenario": sc.model_copy(update=changes)})


def _elements(source: str, section: str, name: str, layout, known: set[str]) -> list[str]:
    """The kernel names ``name`` stands for."""
    if name in known:
        return [name]
    if name in layout.dims:
        return layout.expand(name)
    parts = split_element(name)
    if parts is None or parts[0] not in layout.dims:
        return [name]  # not an array: the usual checks name it

    def fail(_where, problem, fix=None):
        return ScenarioError(source, f"{section}.{name}", problem, fix)

    var, key = parts[0], ", ".join(parts[1])
    lists, names = selectors(key, layout.dims[var], layout.ranges, section, fail)
    piece = piece_of(None, lists, names, var, layout, section)
    every = layout.expand(var)
    if not piece.positions:
        raise fail(section, f"'{name}' names no element", suggest(name, every))
    return [every[p] for p in piece.positions]


def shared_groups(source: str, sc, ir) -> dict[str, list[str]]:
    """For each name of ``sc.shared_draws``: its first element -> all its elements (drawn
    once, copied to the others); ``"skip"`` -> the others (no draw of their own)."""
    out: dict[str, list[str]] = {}
    if not sc.shared_draws:
        return out
    layout = ir.layout
    known = set(ir.kernel_params)
    skip: list[str] = []
    for name in sc.shared_draws:
        if layout is None:
            raise ScenarioError(
                source, "shared_draws", f"'{name}' is not an array", "list arrays of the model only"
            )
        elements = _elements(source, "shared_draws", name, layout, known)
        missing = [e for e in elements if e not in sc.uncertain]
        if len(elements) < 2 or missing:
            raise ScenarioError(
                source,
                f"shared_draws.{name}",
                f"'{name}' is not an uncertain array"
                if len(elements) < 2
                else f"'{missing[0]}' is not uncertain",
                f"give {name} a distribution in 'uncertain'",
            )
        out[elements[0]] = elements
        skip += elements[1:]
    out["skip"] = skip
    return out
