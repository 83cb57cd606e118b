"""ruff (lint and format) over the whole repository, tests included.

ruff is found through this interpreter (``python -m ruff``), so the test runs whether or not
the virtual environment is activated; in CI (``CI`` set) a missing ruff is a failure, not a
skip."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HAVE_RUFF = importlib.util.find_spec("ruff") is not None


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff(args):
    if not HAVE_RUFF:
        if os.environ.get("CI"):
            pytest.fail("ruff is not installed in CI: pip install -e '.[test]'")
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    out = subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
