"""The JSON Schema of every file sim315 reads, for editors' completion and validation.

Each is committed (``scenarios/scenario.schema.json`` ships with the scenarios; the others are
under ``docs/schemas/``) and tests/test_schemas.py fails when one drifts from its model.
"""

from __future__ import annotations

import json

from .fitfile import FitFile
from .fitresult import FitResultFile
from .modelfile import ModelFile
from .scenario import Scenario
from .sweepfile import SweepFile

#: kind -> (model, title, committed file relative to the repository root)
SCHEMAS = {
    "model": (ModelFile, "sim315 model", "docs/schemas/model.schema.json"),
    "scenario": (Scenario, "sim315 scenario", "scenarios/scenario.schema.json"),
    "fit": (FitFile, "sim315 fit", "docs/schemas/fit.schema.json"),
    "sweep": (SweepFile, "sim315 sweep", "docs/schemas/sweep.schema.json"),
    "fit-result": (FitResultFile, "sim315 fit result", "docs/schemas/fit-result.schema.json"),
}


def json_schema(kind: str = "scenario") -> dict:
    """The JSON Schema of one kind of file (a key of :data:`SCHEMAS`)."""
    model, title, _ = SCHEMAS[kind]
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema


def schema_text(kind: str = "scenario") -> str:
    """:func:`json_schema` as the committed text."""
    return json.dumps(json_schema(kind), indent=2, sort_keys=True) + "\n"
