"""Scenario files: what a policy modeller changes, never a restatement of the model.

A scenario names a model and states only its changes: parameter overrides (constants or
time tables for policy levers), uncertain parameters with distributions, the ensemble
(runs, seed, sampler) and the integration (method, dt, save period, outputs). ``extends``
inherits another scenario and changes a few things.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from ..core.textfile import read_text
from ..core.yamlio import LineDict, parse_yaml, read_yaml
from ..schemas.base import fields_of
from ..schemas.distributions import Distribution
from ..schemas.scenario import PACKAGED_MODELS, Scenario, ScenarioError, TimeTable
from ..schemas.validation import validation_error


class LoadedScenario(BaseModel):
    """A validated scenario with ``extends`` resolved and the model located."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    path: Path
    scenario: Scenario
    model_path: Path
    texts: dict[str, str]
    """Each file that made the scenario (itself and what it extends) -> its text."""
    _yaml: tuple | None = PrivateAttr(default=None)

    def resolved_yaml(self) -> str:
        """The scenario after ``extends``, as YAML (recorded in outputs; a result file's
        attributes and fingerprint ask for it three times, 17 ms each for the plan): made
        once for this scenario object and model path (a copy with another keeps its own)."""
        import yaml

        made = self._yaml
        if made is not None and made[0] is self.scenario and made[1] == self.model_path:
            return made[2]
        data = self.scenario.model_dump(mode="json", exclude_none=True)
        data["model"] = str(self.model_path)
        data.pop("extends", None)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        self._yaml = (self.scenario, self.model_path, text)
        return text


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
        if key in ("overrides", "uncertain", "correlations") and isinstance(value, dict):
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
        return fields_of(Distribution)
    return set()
