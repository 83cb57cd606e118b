"""Packaging: ``python -m build`` makes a wheel; installed in a fresh virtual environment it
runs the packaged plan scenario from a folder outside the repository.

The fresh environment installs the wheel without its dependencies and borrows them from the
test environment's site-packages (a ``.pth`` path, which loads no editable-install hook), so
the test needs no download; that ``sim315`` is imported from the wheel is checked.
"""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import sim315

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("sim315-*.whl"))
    env = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env)
    py = env / "bin" / "python"
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    return wheel, env


def test_wheel_carries_the_version_and_the_data(installed):
    wheel, _ = installed
    assert wheel.name.startswith(f"sim315-{sim315.__version__}-")
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (
        "sim315/models/plan315.yaml",
        "sim315/data/scenarios/plan.yaml",
        "sim315/data/calibration/jiaxing-result.yaml",
        "sim315/data/calibration/jiaxing-result-posterior.csv",
        "sim315/data/calibration/data/jiaxing_history.csv",
    ):
        assert f in names


def test_installed_wheel_runs_the_plan_from_any_folder(installed, tmp_path):
    _, env = installed
    where = subprocess.run(
        [env / "bin" / "python", "-c", "import sim315; print(sim315.__file__)"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert str(env) in where and str(ROOT) not in where
    res = subprocess.run(
        [env / "bin" / "sim315", "run", "plan", "--runs", "16", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "results" / "plan.h5").is_file()
    assert "little_giants" in res.stdout


def test_every_subpackage_is_packaged():
    """A subpackage missing from pyproject's explicit list is missing from the wheel."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        "sim315." + ".".join(p.parent.relative_to(ROOT / "sim315").parts)
        for p in (ROOT / "sim315").rglob("__init__.py")
        if p.parent != ROOT / "sim315" and "__pycache__" not in p.parts
    }
    assert found <= listed
