"""Reading Vensim and XMILE files through PySD's translators (the optional ``import`` extra).

PySD parses the file into its abstract model; sim315 never parses Vensim or XMILE itself.
Every failure becomes one line naming the file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import sys
import tempfile
import types
import warnings
from pathlib import Path

from ..core.errors import ModelError
from .xmile_arrays import star_subscripts

#: File suffixes the importer reads, lower case.
SUFFIXES = (".mdl", ".xmile", ".stmx", ".xml")


def abstract_expressions():
    """PySD's abstract syntax module, imported without its dependencies' deprecation
    warnings (chardet's, raised on import)."""
    pysd_version()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pysd.translators.structures import abstract_expressions as ae
    return ae


class _LazyPackage(types.ModuleType):
    """PySD's package before its ``__init__`` has run: submodules import as usual; the first
    attribute it lacks (``pysd.read_vensim``, ``pysd.__version__``) runs the ``__init__``."""

    def __getattr__(self, name: str):
        if self.__dict__.get("_sim315_loading"):
            raise AttributeError(name)
        self.__dict__["_sim315_loading"] = True
        self.__class__ = types.ModuleType
        self.__spec__.loader.exec_module(self)
        return getattr(self, name)


def _translators_only() -> None:
    """Let ``import pysd.translators...`` import the translators alone. PySD's ``__init__``
    imports its simulation backend (xarray, pandas, openpyxl, its model class): 0.4 s of the
    0.46 s that importing the Vensim translator costs, none of it used here. The package is
    registered without running its ``__init__`` (:class:`_LazyPackage` runs it the first time
    something else asks the package for what it defines)."""
    if "pysd" in sys.modules:
        return
    spec = importlib.util.find_spec("pysd")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # not installed (or not a package): the plain import reports it
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _LazyPackage
    sys.modules["pysd"] = module


_VERSION: list[str] = []


def pysd_version() -> str:
    """The installed PySD's version; a one-line error when it is missing."""
    try:
        _translators_only()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pysd  # noqa: F401  (the package, its __init__ deferred)
    except ImportError:
        raise ModelError(
            "sim315", "import", "reading Vensim/XMILE needs PySD", "pip install 'sim315[import]'"
        ) from None
    if not _VERSION:
        from importlib.metadata import version

        _VERSION.append(version("pysd"))
    return _VERSION[0]


@contextlib.contextmanager
def _xmile_lookup_call():
    """Work around PySD 3.14's XMILE translator: it builds the standard function
    ``LOOKUP(table, x)`` with the constructor of a table (``structures["lookup"]``, which
    needs x, y, limits and type), so any XMILE file that calls LOOKUP fails to parse
    (corpus: tests/lookups/test_lookups.stmx; tested in tests/test_import.py). While
    parsing, that entry builds a table when given a table's fields and a call of the named
    table otherwise."""
    from pysd.translators.structures import abstract_expressions as ae
    from pysd.translators.xmile import xmile_structures

    table = xmile_structures.structures["lookup"]

    def lookup(*args, **kwargs):
        if kwargs or len(args) != 2 or not isinstance(args[0], ae.ReferenceStructure):
            return table(*args, **kwargs)
        return ae.CallStructure(args[0], (args[1],))

    xmile_structures.structures["lookup"] = lookup
    try:
        yield
    finally:
        xmile_structures.structures["lookup"] = table


@contextlib.contextmanager
def _xmile_element_gf():
    """Work around PySD 3.14's XMILE translator on per-element graphical functions (XMILE
    1.0, arrays: an ``<element subscript="...">`` holding its own ``<gf>``, its ``<eqn>``
    inside the element or, when all elements read the same input, once at the variable).
    ``Aux._parse_component`` reads the ``<eqn>`` of the ``<element>`` only, so an element
    without one gives no equation and ``parse`` fails indexing it ("IndexError: list index
    out of range"; corpus: samples/arrays/non-a2a/non-a2a-gf.stmx); and it reads the
    ``<gf>`` of the variable only, so an element's own table is dropped without a word
    (tested in tests/test_import_xmile_gf.py). While parsing, an element reads its own
    ``<eqn>`` and ``<gf>``, else the variable's; the rest is PySD's code unchanged."""
    from pysd.translators.xmile import xmile_element
    from pysd.translators.xmile.xmile_structures import structures

    aux = xmile_element.Aux
    original = aux._parse_component

    def parse_component(self, node, behaviors):
        if node is self.node:
            return original(self, node, behaviors)
        eqns = node.xpath("ns:eqn", namespaces=self.ns) or self.node.xpath(
            "ns:eqn", namespaces=self.ns
        )
        gfs = node.xpath("ns:gf", namespaces=self.ns) or self.node.xpath(
            "ns:gf", namespaces=self.ns
        )
        if not eqns:
            subscript = node.attrib.get("subscript", "")
            raise ValueError(f"the element [{subscript}] of {self.name} has no equation")
        asts = []
        for eqn in eqns:
            text = re.sub(r"(\s{2,})", " ", (eqn.text or "").replace("\n", " ")).strip()
            ast = self._smile_parser(text)
            if gfs:
                ast = structures["inline_lookup"](ast, self._parse_lookup_xml_node(gfs[0]))
            asts.append(ast)
        return asts

    gf, gf_original = xmile_element.Gf, xmile_element.Gf._parse_component

    def gf_component(self, node, behaviors):
        # a standalone <gf> array reads each <element>'s own <gf> (PySD: the variable's)
        own = [] if node is self.node else node.xpath("ns:gf", namespaces=self.ns)
        if not own:
            return gf_original(self, node, behaviors)
        return [self._parse_lookup_xml_node(own[0])]

    aux._parse_component, gf._parse_component = parse_component, gf_component
    try:
        yield
    finally:
        aux._parse_component, gf._parse_component = original, gf_original


_FLOW_NAME = re.compile(r"<(inflow|outflow)>\s*([^<\"]*?[^A-Za-z0-9_\s.<][^<\"]*?)\s*</\1>")


@contextlib.contextmanager
def _quoted_flow_names(path: Path):
    """Work around two gaps of PySD 3.14's XMILE translator. It parses a stock's ``<inflow>`` and
    ``<outflow>`` names as expressions, so an unquoted name with punctuation (Stella writes
    ``<inflow>Flow_w/_division</inflow>``) fails to parse (corpus:
    tests/special_characters_xmile/test_special_variable_names.stmx). Names are names, so
    this parses a copy with such names quoted, as XMILE equations quote them."""
    text = path.read_text(encoding="utf-8", errors="replace")
    fixed = _FLOW_NAME.sub(lambda m: f'<{m.group(1)}>"{m.group(2)}"</{m.group(1)}>', text)
    fixed = star_subscripts(fixed)  # x[*] as x[d!]: PySD's grammar has no wildcard
    if "<variables" not in fixed and fixed.count("<model>") == 1:
        # Stella 10.0.x wrote the variables straight under <model>, without the XMILE
        # <variables> element; PySD then reads an empty model without a word (corpus:
        # samples/teacup/teacup_legacy.stmx). Wrap them as XMILE 1.0 does.
        fixed = fixed.replace("<model>", "<model><variables>").replace(
            "</model>", "</variables></model>"
        )
    if fixed == text:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="sim315-import-") as tmp:
        copy = Path(tmp) / path.name
        copy.write_text(fixed, encoding="utf-8")
        yield copy


def _read_views(parsed) -> None:
    """Vensim views -> the first section's ``views_dict`` (view name -> variable names),
    from the sketch; a sketch PySD cannot read only costs the groups."""
    try:
        parsed.parse_sketch([])
    except Exception:
        return


_MACRO_OUTPUTS = re.compile(r":MACRO:\s*([^(\n]+?)\s*\([^)]*:[^)]*\)", re.IGNORECASE)


def _macro_outputs_taken(path: Path) -> None:
    """One clear line for a call that takes a Vensim macro's extra outputs
    (``y = MM(x : out2)``), which PySD's parser fails on with a grammar error."""
    if path.suffix.lower() != ".mdl":
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    for m in _MACRO_OUTPUTS.finditer(text):
        name = " ".join(m.group(1).split())
        pattern = re.escape(name).replace(r"\ ", r"[\s_]+") + r"\s*\([^()]*:"
        body = _MACRO_OUTPUTS.sub("", text)
        if re.search(pattern, body, re.IGNORECASE):
            raise ModelError(
                str(path),
                name,
                "a call that takes the macro's extra outputs (name(inputs : outputs)) is not "
                "supported (PySD's parser cannot read it)",
                "call it without the outputs and define each output as a macro of its own",
            )


def read_abstract_model(path: Path):
    """PySD's abstract model of ``path`` (a ``.mdl``, ``.xmile`` or ``.stmx`` file)."""
    pysd_version()
    from pysd.translators.vensim.vensim_file import VensimFile
    from pysd.translators.xmile.xmile_file import XmileFile

    source = str(path)
    if not path.is_file():
        raise ModelError(source, "", "no such model file", "check the path")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ModelError(
            source, "", f"unknown model format '{suffix}'", "use .mdl, .xmile or .stmx"
        )
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            _xmile_lookup_call(),
            _xmile_element_gf(),
        ):
            warnings.simplefilter("ignore")
            if suffix == ".mdl":
                parsed = VensimFile(path)
                parsed.parse()
                _read_views(parsed)
                return parsed.get_abstract_model()
            with _quoted_flow_names(path) as readable:
                parsed = XmileFile(readable)
                parsed.parse()
                return parsed.get_abstract_model()
    except Exception as exc:  # PySD raises parsimonious, lxml, KeyError... on bad input
        _macro_outputs_taken(path)
        first = " ".join(str(exc).split())[:160]
        raise ModelError(
            source,
            "",
            f"PySD cannot parse it ({type(exc).__name__}: {first})",
            "check the file opens in Vensim/Stella; see docs/conformance.md",
        ) from None
