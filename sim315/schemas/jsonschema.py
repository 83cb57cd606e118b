"""The JSON Schema of every file sim315 reads, for editors' completion and validation.

Each is committed (``scenarios/scenario.schema.json`` ships with the scenarios; the others are
under ``docs/schemas/``) and tests/test_schemas.py fails when one drifts from its model.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import json
import textwrap
import typing

from .base import Strict
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


def field_docstrings(cls: type) -> dict[str, str]:
    """``field -> docstring`` of a class's own fields: the string literal that follows each
    annotated attribute in its body (cleaned as ``inspect.cleandoc`` cleans a docstring)."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    out = {}
    for stmt, nxt in itertools.pairwise(body):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            out[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return out


@functools.cache
def _describe_fields() -> None:
    """Each schema field's docstring as its description, the models rebuilt (each after the
    models it holds): once, before the first schema."""
    todo, made = [Strict], []
    while todo:
        cls = todo.pop()
        made.append(cls)
        todo.extend(cls.__subclasses__())
    changed = False
    for cls in made[1:]:
        docs: dict[str, str] = {}
        for base in reversed(cls.__mro__):  # an inherited field keeps its docstring
            if issubclass(base, Strict) and base is not Strict:
                docs.update(field_docstrings(base))
        for name, doc in docs.items():
            field = cls.model_fields.get(name)
            if field is not None and field.description is None:
                field.description = doc
                changed = True
    if changed:
        done: set[type] = set()
        for cls in made[1:]:
            _rebuild(cls, done)


def _rebuild(cls: type, done: set[type]) -> None:
    """Rebuild ``cls`` after every schema model its fields hold (a model's schema holds
    theirs as they were when it was built)."""
    if cls in done:
        return
    done.add(cls)
    for field in cls.model_fields.values():
        for held in _models_in(field.annotation):
            _rebuild(held, done)
    cls.model_rebuild(force=True)


def _models_in(annotation) -> list[type]:
    """The schema models in a field's type (``list[Stock]``, ``Distribution | None``...)."""
    if isinstance(annotation, type) and issubclass(annotation, Strict):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def json_schema(kind: str = "scenario") -> dict:
    """The JSON Schema of one kind of file (a key of :data:`SCHEMAS`)."""
    _describe_fields()
    model, title, _ = SCHEMAS[kind]
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema


def schema_text(kind: str = "scenario") -> str:
    """:func:`json_schema` as the committed text."""
    return json.dumps(json_schema(kind), indent=2, sort_keys=True) + "\n"
