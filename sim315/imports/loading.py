"""Any model file by its path: sim315 YAML, or Vensim/XMILE translated on load (cached).

Loading sits above the importers because translating a foreign model checks it with the
compiler (units kept when they balance, else dropped); the YAML reader below it knows
nothing of foreign formats.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..compilation.compiler import compile_spec
from ..compilation.ir import ModelIR
from ..core.errors import ModelError
from ..schemas.modelfile import ModelFile, load_yaml_model, validation_error
from . import DataFileArg, is_foreign, translated


def load_model_file(path: str | Path, data_files: DataFileArg = None) -> tuple[ModelFile, object]:
    """Read and shape-check a model file of any supported format (or a packaged model by
    name, ``plan315``); returns the model and the raw YAML tree (None for a translation).
    ``data_files``: the data files of a Vensim model's data variables without an equation
    (:func:`sim315.imports.import_model`)."""
    if is_foreign(path):
        try:
            return ModelFile.model_validate(translated(path, data_files)), None
        except ValidationError as exc:
            raise validation_error(exc, None, str(path)) from None
    if data_files:
        raise ModelError(
            str(path),
            "data_files",
            "data files are read when a Vensim or XMILE model is imported, and this is a "
            "sim315 model file (its data are in it)",
            "leave out the data files",
        )
    return load_yaml_model(path)


def compile_file(
    path: str | Path, warm_start: bool = False, data_files: DataFileArg = None
) -> ModelIR:
    """Read, check and lower a model file (``warm_start``: with its start state as inputs,
    :meth:`~sim315.compilation.ir.ModelIR.warm_started`). Its kernel serves every scenario:
    time-tabled levers are kernel data (:mod:`sim315.compilation.levers`)."""
    spec, raw = load_model_file(path, data_files)
    return compile_spec(spec, str(path), raw, warm_start)
