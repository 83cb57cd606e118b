"""YAML reading: libyaml's parser for speed, with the values, key lines and error messages
of the strict pure-Python loader (``sim315.core.yamlio``)."""

from pathlib import Path

import pytest
import yaml

from sim315.core import yamlio
from sim315.core.errors import Sim315Error

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(
    p
    for d in ("scenarios", "sim315/models", "calibration", "tests/models", "examples")
    for p in (ROOT / d).rglob("*.yaml")
)


def _lines(x):
    """Every key line of a tree, with the key path."""
    out = {}
    stack = [((), x)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                out[(*path, k)] = node.lines[k]
                stack.append(((*path, k), v))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
    return out


def test_libyaml_is_there():
    # the speed comes from it; PyYAML's wheels ship it on every platform we support
    assert yamlio._FastLoader.__mro__[1] is yaml.CSafeLoader


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_fast_loader_reads_as_the_strict_one(path):
    text = path.read_text(encoding="utf-8")
    fast = yaml.load(text, Loader=yamlio._FastLoader)
    strict = yaml.load(text, Loader=yamlio._StrictLoader)
    assert fast == strict
    assert _lines(fast) == _lines(strict)


def test_shipped_files_are_found():
    assert len(SHIPPED) >= 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", r"column 1: duplicate key 'a' \(first on line 1\)"),
        ("a: [1, 2\nb: 3\n", r"expected ',' or ']', but got"),
        ("a: 1\n b: 2\n", r"mapping values are not allowed here"),
        ("[1, 2]: x\n", r"a mapping key must be a plain value"),
    ],
)
def test_errors_keep_the_pure_loaders_wording_and_line(text, message):
    with pytest.raises(Sim315Error, match=message) as err:
        yamlio.parse_yaml(text, "m.yaml")
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.load(text, Loader=yamlio._StrictLoader)
    mark = pure.value.problem_mark or pure.value.context_mark
    assert err.value.line == mark.line + 1


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(Sim315Error, match="nested too deeply"):
        yamlio.parse_yaml("a: " + "[" * 20000 + "]" * 20000 + "\n", "m.yaml")
