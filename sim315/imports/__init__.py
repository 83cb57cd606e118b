"""Vensim and XMILE models as sim315 model files.

:func:`import_model` reads a ``.mdl``/``.xmile``/``.stmx`` file through PySD's translators
(:mod:`.reader`), maps PySD's abstract model to a sim315 model file (:mod:`.mapping`,
:mod:`.equations`, :mod:`.names`) and checks it with the compiler; :func:`translated` caches
the result beside the kernels so that ``sim315 run`` and ``model simulate`` read such files
directly. :mod:`.xmile_writer` goes the other way.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import yaml

from ..core.errors import ModelError
from ..core.version import __version__
from .reader import SUFFIXES, pysd_version, read_abstract_model

__all__ = ["SUFFIXES", "import_model", "is_foreign", "model_text", "translated"]


def is_foreign(path: str | Path) -> bool:
    """Is ``path`` a Vensim or XMILE file (by its suffix)?"""
    return Path(path).suffix.lower() in SUFFIXES


def import_model(path: str | Path) -> dict:
    """The sim315 model file (as a dict) equivalent to a Vensim or XMILE model.

    Units are carried when they parse and balance in sim315's unit algebra; otherwise the
    model is imported dimensionless, each element's original units kept in its doc.
    """
    from ..compilation.compiler import compile_spec
    from ..schemas.modelfile import ModelFile
    from .mapping import ModelMapping

    path = Path(path)
    abstract = read_abstract_model(path)
    name = path.stem
    try:
        model = ModelMapping(abstract, str(path), name, with_units=True).build()
        compile_spec(ModelFile.model_validate(model), str(path))
        return model
    except (ModelError, ValueError):
        pass  # the units do not parse or balance: dimensionless, below
    model = ModelMapping(abstract, str(path), name, with_units=False).build()
    try:
        spec = ModelFile.model_validate(model)
    except ValueError as exc:
        raise ModelError(str(path), "", f"the translation is not a valid model ({exc})") from None
    compile_spec(spec, str(path))  # its one-line error names the element
    return model


def model_text(model: dict, source: str | Path) -> str:
    """The YAML text of an imported model, with a header naming its source."""
    head = (
        f"# Imported by sim315 {__version__} (PySD {pysd_version()} translator) "
        f"from {Path(source).name}.\n"
    )
    return head + yaml.safe_dump(model, sort_keys=False, allow_unicode=True, width=100)


def translated(path: str | Path) -> dict:
    """:func:`import_model`, cached on disk by the file's content and the versions."""
    from ..compilation.cache import cache_dir

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(str(path), "", f"cannot read ({exc.strerror})", "check the path") from None
    h = hashlib.sha256(data)
    for part in sorted(Path(__file__).parent.glob("*.py")):  # a changed importer re-translates
        h.update(part.read_bytes())
    h.update(f"|{path.name}|sim315 {__version__}|pysd {pysd_version()}".encode())
    cached = cache_dir() / "imports" / f"{h.hexdigest()[:20]}.yaml"
    if cached.is_file():
        return yaml.safe_load(cached.read_text(encoding="utf-8"))
    model = import_model(path)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(model_text(model, path))
        os.replace(tmp, cached)
    except OSError:
        pass  # an unwritable cache only costs the translation next time
    return model
