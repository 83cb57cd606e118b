"""Vensim and XMILE models as sim315 model files.

:func:`import_model` reads a ``.mdl``/``.xmile``/``.stmx`` file through PySD's translators
(:mod:`.reader`), maps PySD's abstract model to a sim315 model file (:mod:`.mapping`,
:mod:`.equations`, :mod:`.names`) and checks it with the compiler; :func:`translated` caches
the result beside the kernels so that ``sim315 run`` and ``model simulate`` read such files
directly. :mod:`.xmile_writer` goes the other way.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from ..core.errors import ModelError
from ..core.version import __version__
from .reader import SUFFIXES, pysd_version, read_abstract_model

__all__ = ["SUFFIXES", "import_model", "is_foreign", "model_text", "translated"]


def is_foreign(path: str | Path) -> bool:
    """Is ``path`` a Vensim or XMILE file (by its suffix)?"""
    return Path(path).suffix.lower() in SUFFIXES


#: Data files given at import: one path or several (:mod:`.datafiles`).
DataFileArg = str | Path | Sequence[str | Path] | None


def import_model(path: str | Path, data_files: DataFileArg = None) -> dict:
    """The sim315 model file (as a dict) equivalent to a Vensim or XMILE model.

    Units are carried when they parse and balance in sim315's unit algebra; otherwise the
    model is imported dimensionless, each element's original units kept in its doc. Data
    files that the model reads (GET XLS/DIRECT ...) are read now, beside the model file.
    ``data_files`` (``.tab``/``.csv``, as ``sim315 import --data``) give the values of the
    data variables without an equation (Vensim reads them from a run's ``.vdf``); they are
    copied into the model file.
    """
    return _translate(Path(path), _data_files(data_files))[0]


def _data_files(data_files: DataFileArg):
    """The data files given, read (None when none is given)."""
    from .datafiles import DataFiles

    if data_files is None:
        return None
    if isinstance(data_files, str | Path):
        data_files = [data_files]
    return DataFiles(data_files) if data_files else None


def _translate(path: Path, data=None) -> tuple[dict, dict[str, str]]:
    """:func:`import_model`, and the data files it read (path -> sha256); ``data``: the
    :class:`~.datafiles.DataFiles` given."""
    from ..compilation.compiler import compile_spec
    from ..schemas.modelfile import ModelFile
    from .mapping import ModelMapping
    from .spreadsheets import Workbooks

    abstract = read_abstract_model(path)
    name = path.stem
    books = Workbooks(path.parent)
    given = data.digests if data else {}
    try:
        model = ModelMapping(abstract, str(path), name, True, books, data).build()
        compile_spec(ModelFile.model_validate(model), str(path))
        return model, {**books.digests, **given}
    except (ModelError, ValueError):
        pass  # the units do not parse or balance: dimensionless, below
    model = ModelMapping(abstract, str(path), name, False, books, data).build()
    try:
        spec = ModelFile.model_validate(model)
    except ValueError as exc:
        raise ModelError(str(path), "", f"the translation is not a valid model ({exc})") from None
    compile_spec(spec, str(path))  # its one-line error names the element
    return model, {**books.digests, **given}


def model_text(model: dict, source: str | Path) -> str:
    """The YAML text of an imported model, with a header naming its source."""
    head = (
        f"# Imported by sim315 {__version__} (PySD {pysd_version()} translator) "
        f"from {Path(source).name}.\n"
    )
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: 10x faster
    text = yaml.dump(model, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    return head + text


def translated(path: str | Path, data_files: DataFileArg = None) -> dict:
    """:func:`import_model`, cached on disk by the file's content and the versions (and by the
    content of the data files it read or was given: a changed spreadsheet translates again)."""
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
    data = _data_files(data_files)
    for digest in (data.digests if data else {}).values():  # in the order given
        h.update(f"|data {digest}".encode())
    cached = cache_dir() / "imports" / f"{h.hexdigest()[:20]}.yaml"
    files = cached.with_suffix(".files.json")
    if cached.is_file() and _unchanged(files):
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(cached.read_text(encoding="utf-8"), Loader=loader)
    model, digests = _translate(path, data)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        if digests:
            _write(files, json.dumps(digests))
        else:
            files.unlink(missing_ok=True)
        _write(cached, model_text(model, path))
    except OSError:
        pass  # an unwritable cache only costs the translation next time
    return model


def _unchanged(files: Path) -> bool:
    """Do the data files a cached translation read still hold what they held?"""
    if not files.is_file():
        return True
    try:
        digests = json.loads(files.read_text(encoding="utf-8"))
        return all(
            hashlib.sha256(Path(p).read_bytes()).hexdigest() == d for p, d in digests.items()
        )
    except (OSError, ValueError):
        return False


def _write(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, target)
