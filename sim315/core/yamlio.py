"""Reading YAML files strictly: syntax errors with line and column, no duplicate keys,
and the line of every mapping key kept for error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import Sim315Error
from .textfile import read_text


class LineDict(dict):
    """A dict that remembers the 1-based line of each of its keys (``.lines``)."""

    lines: dict


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and records key lines."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    result = LineDict()
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key '{key}' (first on line {result.lines[key]})",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=deep)
        result.lines[key] = key_node.start_mark.line + 1
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same loader over libyaml's parser, eight times faster (plan315's model file: 9 ms
    against 73): the constructors, and so the values and key lines, are the strict one's."""


_FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path, what: str = "file") -> Any:
    """Parse a YAML file, turning every failure into a one-line :class:`Sim315Error`.

    Only a regular file of at most :data:`sim315.core.textfile.YAML_LIMIT` bytes is read."""
    path = Path(path)
    text = read_text(path, what)
    return parse_yaml(text, str(path))


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; ``source`` names it in errors. Text that libyaml refuses is parsed
    again by the pure-Python loader, whose messages (and their wording) the errors report."""
    try:
        return yaml.load(text, Loader=_FastLoader)  # safe loaders: no arbitrary objects
    except (yaml.YAMLError, RecursionError):
        pass
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark else None
        col = f"column {mark.column + 1}: " if mark else ""
        opened = exc.context_mark
        if exc.problem and exc.context and opened and mark and opened.line != mark.line:
            # an unclosed bracket or quote shows up lines later: say where it began
            problem += f" ({exc.context}, which starts on line {opened.line + 1})"
        raise Sim315Error(
            source, "", f"YAML syntax error at {col}{problem}", "fix the YAML syntax", line=line
        ) from None
    except yaml.YAMLError as exc:
        raise Sim315Error(source, "", f"YAML error: {exc}", "fix the YAML syntax") from None
    except RecursionError:
        raise Sim315Error(
            source, "", "the YAML is nested too deeply to read", "flatten the file"
        ) from None


def line_of(raw: Any, loc: tuple) -> int | None:
    """The line of the deepest key along ``loc`` in a tree read by :func:`read_yaml`."""
    line = None
    node = raw
    for key in loc:
        if isinstance(node, LineDict) and key in node:
            line = node.lines.get(key, line)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            break
    return line
