"""The import graph of a package, read from its source with ``ast``: layers and cycles.

Used by tests/test_architecture.py on sim315 itself and on small synthetic packages that
break the rules on purpose, and by docs/architecture.md's generated picture. Every import
counts, including those inside function bodies: a dependency hidden in a function is still
a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path


def module_name(root: Path, path: Path, package: str) -> str:
    """The dotted name of ``path``, a file of the package whose folder is ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def _imported(node: ast.AST, here: str, is_pkg: bool, known: set[str], outside) -> set[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = here.split(".") if is_pkg else here.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            mod = ".".join([*base, *([node.module] if node.module else [])])
        else:
            mod = node.module or ""
        # `from pkg import sub` imports the submodule when there is one
        names = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
    else:
        return set()
    out = set()
    for name in names:
        if any(name == o or name.startswith(o + ".") for o in outside):
            continue
        while name and name not in known:  # `import a.b.c` of a non-module attribute
            name = name.rpartition(".")[0]
        if name:
            out.add(name)
    return out


def import_graph(root: Path, package: str, outside=()) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (anywhere in its body).

    ``outside``: dotted names installed into the package from another folder (sim315.kernels
    comes from kernels/); imports of them are not edges of this graph."""
    files = sorted(root.rglob("*.py"))
    known = {module_name(root, f, package) for f in files}
    graph = {}
    for f in files:
        here = module_name(root, f, package)
        tree = ast.parse(f.read_text(encoding="utf-8"), str(f))
        deps = set()
        for node in ast.walk(tree):
            deps |= _imported(node, here, f.name == "__init__.py", known, outside)
        graph[here] = deps - {here}
    return graph


def layer_of(module: str, layers: list[tuple[str, list[str]]]) -> int:
    """Index of the layer that owns ``module`` (the longest matching prefix wins)."""
    best, best_len = -1, -1
    for i, (_, prefixes) in enumerate(layers):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    if best < 0:
        raise ValueError(f"{module} is in no declared layer")
    return best


def upward_imports(graph: dict[str, set[str]], layers) -> list[str]:
    """Every import of a higher layer by a lower one, as 'a (layer) -> b (layer)'."""
    out = []
    for mod, deps in sorted(graph.items()):
        lo = layer_of(mod, layers)
        for dep in sorted(deps):
            hi = layer_of(dep, layers)
            if hi > lo:
                out.append(f"{mod} ({layers[lo][0]}) -> {dep} ({layers[hi][0]})")
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def package_graph(graph: dict[str, set[str]], depth: int = 2) -> dict[str, set[str]]:
    """The graph folded to packages: ``sim315.ensembles.runner`` -> ``sim315.ensembles``."""

    def fold(m: str) -> str:
        return ".".join(m.split(".")[:depth])

    out: dict[str, set[str]] = {}
    for mod, deps in graph.items():
        out.setdefault(fold(mod), set())
        out[fold(mod)] |= {fold(d) for d in deps} - {fold(mod)}
    return out


def mermaid(graph: dict[str, set[str]], package: str) -> str:
    """A Mermaid flowchart of ``graph`` (package level), arrows from importer to imported."""
    lines = ["```mermaid", "flowchart TD"]
    short = {m: (m.removeprefix(package + ".") if m != package else package) for m in graph}
    for mod in sorted(graph):
        for dep in sorted(graph[mod]):
            if dep in short:
                lines.append(f"    {short[mod]} --> {short[dep]}")
    lines.append("```")
    return "\n".join(lines) + "\n"
