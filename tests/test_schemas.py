"""One strict base for every file schema, field lists derived from the models, every JSON
Schema committed (and regenerated here, so it cannot drift), and errors API users can catch."""

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

import sim315
import sim315.schemas
from sim315.core.errors import Sim315Error
from sim315.ensembles.calibrated import read_calibrated
from sim315.schemas import distributions as d
from sim315.schemas.base import Strict, fields_of
from sim315.schemas.jsonschema import SCHEMAS, schema_text

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_committed_json_schema_is_current(kind):
    committed = (ROOT / SCHEMAS[kind][2]).read_text(encoding="utf-8")
    assert committed == schema_text(kind), f"regenerate: sim315 schema {kind} > {SCHEMAS[kind][2]}"


def test_every_schema_model_is_strict():
    found = []
    for info in pkgutil.iter_modules(sim315.schemas.__path__):
        module = importlib.import_module(f"sim315.schemas.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseModel) and cls.__module__ == module.__name__:
                found.append(cls)
                assert issubclass(cls, Strict), cls
                assert cls.model_config["extra"] == "forbid", cls
                assert cls.model_config["frozen"] and cls.model_config["strict"], cls
    assert len(found) > 20


def test_field_lists_cover_every_distribution():
    from sim315.ensembles.scenario import _scenario_fields
    from sim315.schemas.sweepfile import _fields_at as sweep_fields

    every = fields_of(d.Distribution)
    assert {"sigma", "median"} <= every  # LogNormal's, once missing from the sweep's list
    assert every <= sweep_fields(("factors", "x"))
    assert every <= _scenario_fields(("uncertain", "x"))


def test_sim315_error_is_a_value_error():
    assert issubclass(Sim315Error, ValueError)
    with pytest.raises(ValueError, match="no-such-model"):
        sim315.load_model("no-such-model.yaml")


def test_fit_result_is_validated_on_read(tmp_path):
    doc = {"fit": "fit.yaml", "parameters": {"k": {"estimate": 0.5, "tranfser": True}}}
    (tmp_path / "res.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(Sim315Error, match=r"parameters\.k.*tranfser.*transfer"):
        read_calibrated(tmp_path / "res.yaml")


def test_the_flagship_fit_result_reads():
    cal = read_calibrated(ROOT / "calibration" / "jiaxing-result.yaml")
    assert cal.names and cal.sample is not None


def test_loading_a_model_reads_no_class_source():
    """Field docstrings are read for the JSON Schema only: pydantic reading every schema
    class's source as it was made took 45-53 ms of each first model load."""
    import subprocess
    import sys

    code = (
        "import inspect\n"
        "calls = []\n"
        "real = inspect.findsource\n"  # what getsource and pydantic's frames read by
        "inspect.findsource = lambda *a: calls.append(a) or real(*a)\n"
        "import sim315\n"
        f"sim315.load_model({str(ROOT / 'sim315' / 'models' / 'plan315.yaml')!r})\n"
        "print(len(calls))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0"]


def test_a_field_docstring_is_its_description_inherited_too():
    from sim315.schemas.jsonschema import field_docstrings, json_schema

    assert field_docstrings(d.Triangular)["mode"] == "Most likely value, within [low, high]."
    pert = json_schema("scenario")["$defs"]["Pert"]["properties"]
    assert pert["mode"]["description"] == "Most likely value, within [low, high]."
