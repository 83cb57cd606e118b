"""Names of what ships inside the package: models (``plan315``) and scenarios (``plan``).

A bare name that is not a file here is looked up among the packaged files, so that
``load_model("plan315")``, ``sim315 model show plan315`` and ``sim315 run plan`` work from
any folder. The scenarios ship with the calibration files they name (package data laid out
as in the repository, ``scenarios/`` beside ``calibration/``), so their relative paths
resolve inside the installed package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _folder(package: str) -> Path:
    return Path(str(resources.files(package)))


def models() -> list[str]:
    """The packaged models' names (file stems)."""
    return sorted(p.stem for p in _folder("sim315.models").glob("*.yaml"))


def scenarios() -> list[str]:
    """The packaged scenarios' names (file stems)."""
    return sorted(p.stem for p in _folder("sim315.data.scenarios").glob("*.yaml"))


def _named(path: str | Path, package: str, names: list[str]) -> Path:
    p = Path(path)
    if p.exists() or p.suffix or len(p.parts) != 1 or p.name not in names:
        return p
    return _folder(package) / f"{p.name}.yaml"


def model_file(path: str | Path) -> Path:
    """``path`` itself, or the packaged model file when ``path`` is a packaged model's name."""
    return _named(path, "sim315.models", models())


def scenario_file(path: str | Path) -> Path:
    """``path`` itself, or the packaged scenario file when ``path`` is its name."""
    return _named(path, "sim315.data.scenarios", scenarios())
