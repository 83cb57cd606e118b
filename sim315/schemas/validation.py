"""Reading a YAML file against a schema, with pydantic's errors made into one line each that
names the file, the field (and its line) and the fix. Every file schema loads through here."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..core.errors import ModelError, suggest
from ..core.yamlio import line_of, read_yaml


def _is_type_tag(part: str) -> bool:
    return part[:1].isupper() or part in ("float", "int", "str", "bool", "none") or "[" in part


def _clean_loc(raw, loc: tuple) -> tuple:
    """Drop the union-branch tags pydantic inserts in locations ('float', 'uniform', ...)."""
    out = []
    node = raw
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part in node.values():
            continue  # the tag of a discriminated union (e.g. dist: uniform)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and _is_type_tag(part) and isinstance(node, dict):
            continue  # a union branch named after its type ('float', 'TimeTable')
        elif last and i and isinstance(part, str) and _is_type_tag(part) and node is not None:
            continue  # the branch of a value given as a scalar (number | per-element table)
        elif last or not isinstance(part, str):
            out.append(part)
            node = None
        elif isinstance(node, dict) and loc[i + 1] in node:
            continue  # a branch tag before a real key
        elif node is None or not isinstance(node, dict):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def validation_error(exc: ValidationError, raw, source: str, error_cls=ModelError, fields_at=None):
    """Turn pydantic's first error into a one-line :class:`Sim315Error`.

    ``fields_at(loc)`` gives the valid field names at a location, for 'did you mean'.
    """
    fields_at = fields_at or (lambda loc: set())
    errors = exc.errors()
    err = errors[0]
    # a value that fails every branch of a union (number | table) gets one error per branch;
    # the deepest one about the same element is the specific one
    same = [e for e in errors if tuple(e["loc"][:2]) == tuple(err["loc"][:2])]
    err = max(same, key=lambda e: len(e["loc"]))
    loc = _clean_loc(raw, tuple(err["loc"]))
    where = ".".join(str(p) for p in loc)
    line = line_of(raw, loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        parent, name = loc[:-1], str(loc[-1])
        hint = suggest(name, fields_at(parent))
        return error_cls(source, where, f"unknown field '{name}'", hint, line)
    if kind == "union_tag_not_found":
        tags = err.get("ctx", {}).get("discriminator", "")
        return error_cls(source, where, f"missing {tags}", "say which, e.g. dist: uniform", line)
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag = str(ctx.get("tag", ""))
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        return error_cls(source, where, f"unknown kind '{tag}'", suggest(tag, expected), line)
    if kind == "missing":
        return error_cls(source, where, "required field is missing", "add it", line)
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    if isinstance(got, dict | list) or kind == "value_error":
        return error_cls(source, where, msg, None, line)
    shown = repr(got)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    fix = None
    if kind == "float_type" and isinstance(got, str) and _is_number(got):
        fix = f"YAML reads {got} as text; write it with a decimal point, e.g. {float(got)!r}"
    return error_cls(source, where, f"{msg} (got {shown})", fix, line)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_validated(path: str | Path, schema, error_cls, fields_at, what: str):
    """Read a YAML mapping and validate it against ``schema``; one-line errors.

    Returns the validated object and the raw tree (for line numbers)."""
    source = str(path)
    raw = read_yaml(path, what=what)
    if raw is None:
        raise error_cls(source, "", f"the {what} is empty", "see the documentation")
    if not isinstance(raw, dict):
        raise error_cls(source, "", f"a {what} must be a YAML mapping", "see the documentation")
    try:
        return schema.model_validate(raw), raw
    except ValidationError as exc:
        raise validation_error(exc, raw, source, error_cls, fields_at) from None
