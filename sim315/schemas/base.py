"""The one strict base every file schema shares, and field names derived from the models.

Every schema (model, scenario, fit, sweep, fit result) subclasses :class:`Strict`: unknown
keys are errors (with a nearest-name hint), values are frozen, types are not coerced, each
field's docstring is its description in the committed JSON Schema
(:func:`sim315.schemas.jsonschema.json_schema` reads them: pydantic's own reading of every
class's source as it is made took 45-53 ms of each first model load), and NaN or inf in a
number is an error naming the field. A schema that must differ says so in its own
``model_config``.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base of every file schema."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        allow_inf_nan=False,  # NaN or inf in any number is an error naming the field
    )


def fields_of(*types) -> set[str]:
    """The field names of pydantic models, or of every member of an (annotated) union of them
    (``fields_of(Distribution)`` covers every distribution kind: a list kept by hand missed one)."""
    out: set[str] = set()
    for tp in types:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            out |= set(tp.model_fields)
            continue
        for arg in typing.get_args(tp):
            if (isinstance(arg, type) and issubclass(arg, BaseModel)) or typing.get_args(arg):
                out |= fields_of(arg)
    return out
