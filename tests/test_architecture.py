"""sim315's packages form layers in the order data flows (../shared/design.md), with no
import cycle between modules. Each check is also shown to fail on a package that breaks it."""

from pathlib import Path

import pytest
from archcheck import cycles, import_graph, mermaid, package_graph, upward_imports

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "sim315"
# kernels/ is installed as sim315.kernels: the layer below all of these (numpy and numba only,
# see tests/test_kernel.py), so imports of it are not edges here.
GRAPH = import_graph(SRC, "sim315", outside=("sim315.kernels",))

# Lowest first: a module may import its own layer and the layers before it, never a later one.
LAYERS = [
    ("core", ["sim315.core"]),  # errors, text/YAML files, seeds, packaged names, version
    ("schemas", ["sim315.schemas"]),  # the files people write: model, fit, sweep
    ("language", ["sim315.language"]),  # expressions, units, targets
    ("compilation", ["sim315.compilation"]),  # lowering, IR, code generation, kernel cache
    ("imports", ["sim315.imports"]),  # Vensim/XMILE in and out; loading any model file
    ("results", ["sim315.results"]),  # the HDF5 layout, writer, summary, reader
    ("ensembles", ["sim315.ensembles"]),  # CompiledModel, scenario, samplers, executors, runner
    ("analysis", ["sim315.analysis"]),  # calibration, posterior, backtest, sensitivity, sweeps
    ("reports", ["sim315.reports"]),  # tables, charts, HTML, export, discovery, diagrams
    ("interface", ["sim315", "sim315.api", "sim315.cli"]),  # the public API and the CLI
]


def test_every_package_is_a_declared_layer():
    packages = {p.parent.name for p in SRC.glob("*/__init__.py")} - {"models", "data"}
    declared = {p.split(".")[1] for _, ps in LAYERS for p in ps if p.count(".") == 1}
    assert packages <= declared, "declare the new package's layer in LAYERS"


def test_no_lower_layer_imports_a_higher_one():
    assert upward_imports(GRAPH, LAYERS) == []


def test_no_import_cycle():
    assert cycles(GRAPH) == []


def test_architecture_page_shows_the_current_imports():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawn = page.split("<!-- imports:begin -->\n")[1].split("<!-- imports:end -->")[0]
    assert drawn == mermaid(package_graph(GRAPH), "sim315"), "regenerate docs/architecture.md"


def _reach(graph: dict[str, set[str]], module: str) -> set[str]:
    """Every module ``module`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_results_and_reports_never_import_the_model_file_schema():
    """Past the kernel a target is one plain value type (sim315.schemas.target), written and
    read there; results and reports never import the model-file schema, directly or through
    the target measures."""
    schema = "sim315.schemas.modelfile"
    downstream = [m for m in GRAPH if m.startswith(("sim315.results", "sim315.reports"))]
    assert [m for m in downstream if schema in GRAPH[m]] == []
    assert schema not in _reach(GRAPH, "sim315.language.targets")
    assert schema not in _reach(GRAPH, "sim315.schemas.target")
    assert [
        m for m in downstream if m.startswith("sim315.results") and schema in _reach(GRAPH, m)
    ] == []


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "toy"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


TOY_LAYERS = [("low", ["toy.low"]), ("high", ["toy.high"]), ("top", ["toy"])]


def test_layer_check_catches_an_upward_import_even_inside_a_function(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "",
            "low/a.py": "def f():\n    from ..high import b\n    return b\n",
            "high/__init__.py": "",
            "high/b.py": "from ..low import a\n",
        },
    )
    found = upward_imports(import_graph(root, "toy"), TOY_LAYERS)
    assert found == ["toy.low.a (low) -> toy.high.b (high)"]


def test_cycle_check_catches_a_cycle(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "high/__init__.py": "",
            "high/x.py": "from . import y\n",
            "high/y.py": "def g():\n    import toy.high.z\n",
            "high/z.py": "from .x import something\n",
        },
    )
    assert cycles(import_graph(root, "toy")) == [["toy.high.x", "toy.high.y", "toy.high.z"]]


def test_a_module_outside_every_layer_is_an_error(tmp_path):
    root = _package(tmp_path, {"__init__.py": "", "stray/__init__.py": "import toy\n"})
    with pytest.raises(ValueError, match="in no declared layer"):
        upward_imports(import_graph(root, "toy"), TOY_LAYERS[:2])
