"""Scenario files: what a policy modeller changes, never a restatement of the model.

A scenario names a model and states only its changes: parameter overrides (constants or
time tables for policy levers), uncertain parameters with distributions, the ensemble
(runs, seed, sampler) and the integration (method, dt, save period, outputs). ``extends``
inherits another scenario and changes a few things.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..core.errors import Sim315Error
from ..core.textfile import read_text
from ..core.yamlio import LineDict, parse_yaml, read_yaml
from ..schemas.distributions import Distribution
from ..schemas.modelfile import validation_error

#: Most runs an ensemble may have (the run counter of the random generator is 64-bit; the
#: result file's size is checked against the disk before anything is written).
MAX_RUNS = 2**40
#: Largest seed: it is stored as a 64-bit signed attribute of the result file.
MAX_SEED = 2**63 - 1
#: Models shipped inside the package, usable as ``model: NAME``.
PACKAGED_MODELS = ("plan315",)


class ScenarioError(Sim315Error):
    """A scenario file that cannot be used."""


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,  # NaN or inf in any number is an error naming the field
    )


class TimeTable(_Strict):
    """A policy lever that changes over time: ``{table: {2023: 0.18, 2025: 0.20}}``."""

    table: dict[float, float] = Field(min_length=1)
    """Time -> value."""
    interpolate: Literal["hold", "linear"] = "hold"
    """``hold``: each value holds until the next listed time; ``linear``: interpolate.
    Before the first and after the last time, the end values hold."""

    @field_validator("table", mode="before")
    @classmethod
    def _numeric_keys(cls, v):
        if isinstance(v, dict):
            out = {}
            for k, val in v.items():
                if isinstance(k, bool) or not isinstance(k, int | float):
                    raise ValueError(f"table times must be numbers, not {k!r}")
                out[float(k)] = val
            return out
        return v

    def points(self) -> tuple[list[float], list[float]]:
        xs = sorted(self.table)
        return xs, [self.table[x] for x in xs]


class Scenario(_Strict):
    """A scenario file."""

    model: str
    """The model: a path relative to this file, or a packaged model's name."""
    extends: str | None = None
    """Another scenario file (relative to this one) whose settings this one changes."""
    description: str = ""
    """What the scenario represents."""
    overrides: dict[str, float | TimeTable] = {}
    """Parameter -> constant value, or a time table for a policy lever; each value within
    the parameter's bounds in the model, unless the name is in ``allow_out_of_bounds``."""
    allow_out_of_bounds: list[str] = []
    """Parameters whose overrides may leave the bounds the model declares (a deliberate
    stress test; recorded in the result file with the scenario)."""
    uncertain: dict[str, Distribution] = {}
    """Parameter -> distribution, sampled once per run."""
    calibrated: str | None = None
    """A fitted-parameter file (``sim315 calibrate``, relative to this file): its estimates
    set those parameters (``overrides`` and ``uncertain`` still win)."""
    calibrated_draws: bool = False
    """Draw the calibrated parameters per run from the fit's stored posterior sample (run
    *i*'s row is chosen by (seed, i)) instead of taking the estimates; the fit must have
    sampled its posterior (``posterior:`` in the fit file)."""
    start_from_history: bool = False
    """Start each run from the state its own calibrated history run reaches at the end of the
    fit's window (every stock and SMOOTH/DELAY state), instead of the model's initial
    values; needs ``calibrated``. See :mod:`sim315.ensembles.spinup`."""
    runs: int = Field(default=1, ge=1, le=MAX_RUNS)
    """Number of runs in the ensemble."""
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    """Seed of the sampler and of random draws in equations; none: fresh, recorded."""
    sampler: Literal["random", "lhs", "sobol"] = "random"
    """How uncertain parameters are sampled: independent draws, Latin hypercube, Sobol'."""
    method: Literal["euler", "rk2", "rk4"] = "euler"
    """Integration method."""
    dt: float | None = Field(default=None, gt=0)
    """Time step (default: the model's)."""
    save_every: float | None = Field(default=None, gt=0)
    """Save period (default: the model's)."""
    outputs: list[str] | None = None
    """Variables to save (default: the stocks and every output that carries a target)."""
    chunk: int | None = Field(default=None, ge=1)
    """Runs per chunk (memory is bounded by the chunk; default chosen from the model size)."""
    executor: Literal["local", "dask", "cuda"] = "local"
    """Where chunks run: this machine's CPU threads, a Dask cluster, or a CUDA GPU. The same
    numbers either way (``--executor`` overrides)."""
    scheduler: str | None = None
    """The Dask scheduler's address (``tcp://host:8786``; or ``$SIM315_SCHEDULER``)."""


def scenario_schema() -> dict:
    """The JSON Schema of scenario files (for editors' completion and validation)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "sim315 scenario"
    return schema


def schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=True) + "\n"


class LoadedScenario(BaseModel):
    """A validated scenario with ``extends`` resolved and the model located."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    path: Path
    scenario: Scenario
    model_path: Path
    texts: dict[str, str]
    """Each file that made the scenario (itself and what it extends) -> its text."""

    def resolved_yaml(self) -> str:
        """The scenario after ``extends``, as YAML (recorded in outputs)."""
        import yaml

        data = self.scenario.model_dump(mode="json", exclude_none=True)
        data["model"] = str(self.model_path)
        data.pop("extends", None)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _locate_model(value: str, base: Path, source: str, raw) -> Path:
    if value in PACKAGED_MODELS:
        return Path(str(resources.files("sim315.models") / f"{value}.yaml"))
    path = (base / value).resolve()
    if not path.is_file():
        line = raw.lines.get("model") if isinstance(raw, LineDict) else None
        raise ScenarioError(
            source,
            "model",
            f"no model file '{value}' (looked at {path})",
            "give a path relative to the scenario file"
            + (f", or one of: {', '.join(PACKAGED_MODELS)}" if PACKAGED_MODELS else ""),
            line,
        )
    return path


def _merge(parent: dict, child: dict) -> dict:
    """Child keys win; mapping sections merge key by key; ``null`` in a section deletes."""
    out = dict(parent)
    for key, value in child.items():
        if key in ("overrides", "uncertain") and isinstance(value, dict):
            merged = dict(parent.get(key) or {})
            for name, v in value.items():
                if v is None:
                    merged.pop(name, None)
                else:
                    merged[name] = v
            out[key] = merged
        else:
            out[key] = value
    return out


def _read_chain(path: Path, seen: tuple[Path, ...]) -> tuple[dict, dict[str, str], Path]:
    """Read a scenario and what it extends; returns (merged raw, texts, model path)."""
    source = str(path)
    if path.resolve() in seen:
        chain = " -> ".join(p.name for p in (*seen, path.resolve()))
        raise ScenarioError(source, "extends", f"scenarios extend each other in a loop: {chain}")
    text = read_text(path, "scenario file")
    raw = parse_yaml(text, source)
    if not isinstance(raw, dict):
        raise ScenarioError(source, "", "a scenario file must be a YAML mapping", "see README")
    texts = {source: text}
    base = path.parent
    model_path = None
    if isinstance(raw.get("model"), str):
        model_path = _locate_model(raw["model"], base, source, raw)
    if isinstance(raw.get("calibrated"), str):
        fitted = (base / raw["calibrated"]).resolve()
        if not fitted.is_file():
            raise ScenarioError(
                source,
                "calibrated",
                f"no fitted-parameter file '{raw['calibrated']}'",
                "run sim315 calibrate, or give a path relative to this file",
                raw.lines.get("calibrated"),
            )
        lines = raw.lines
        raw = LineDict(raw)
        raw.lines = lines  # a copy keeps the line numbers for later messages
        raw["calibrated"] = str(fitted)
    parent_name = raw.get("extends")
    if parent_name is None:
        merged = dict(raw)
    else:
        if not isinstance(parent_name, str):
            raise ScenarioError(source, "extends", "must be a file name", "e.g. extends: plan.yaml")
        parent_path = base / parent_name
        if not parent_path.is_file():
            raise ScenarioError(
                source,
                "extends",
                f"no scenario file '{parent_name}'",
                "give a path relative to this file",
                raw.lines.get("extends"),
            )
        parent, parent_texts, parent_model = _read_chain(parent_path, (*seen, path.resolve()))
        texts.update(parent_texts)
        merged = _merge(parent, raw)
        model_path = model_path or parent_model
        merged.pop("extends", None)
    if model_path is not None:
        merged["model"] = str(model_path)
    return merged, texts, model_path


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read, merge (``extends``) and shape-check a scenario file (or a packaged scenario by
    name, ``plan``)."""
    from ..core.packaged import scenario_file

    path = scenario_file(path)
    source = str(path)
    merged, texts, model_path = _read_chain(path, ())
    if isinstance(merged, dict) and "extends" in merged:
        merged.pop("extends")
    raw = read_yaml(path, what="scenario file")  # for line numbers of this file's keys
    try:
        scenario = Scenario.model_validate(merged)
    except ValidationError as exc:
        raise validation_error(exc, raw, source, ScenarioError, _scenario_fields) from None
    return LoadedScenario(path=path, scenario=scenario, model_path=model_path, texts=texts)


def _scenario_fields(loc: tuple) -> set[str]:
    if not loc:
        return set(Scenario.model_fields)
    if loc[0] == "overrides" and len(loc) >= 2:
        return set(TimeTable.model_fields)
    if loc[0] == "uncertain" and len(loc) >= 2:
        from ..schemas import distributions as d

        return {
            f
            for cls in (d.Uniform, d.Normal, d.TruncNormal, d.LogNormal, d.Triangular, d.Choice)
            for f in cls.model_fields
        }
    return set()
