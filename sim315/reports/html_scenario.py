"""The results explorer's data: each result file read once (:class:`Scenario`), and which of
them is the baseline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import Sim315Error
from ..results.reader import has_target_runs, open_complete, output_attrs, target_runs
from . import labels
from .report import Row, target_rows


@dataclass
class Scenario:
    """One result file, read once."""

    path: Path
    name: str
    attrs: dict
    rows: list[Row]
    times: np.ndarray
    summary: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, tuple[str, str]] = field(default_factory=dict)
    """element -> (title, friendly units)."""
    measured: dict[str, np.ndarray] = field(default_factory=dict)
    """target id -> the measured value of every run (NaN for failed runs)."""
    met: dict[str, np.ndarray] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    """element -> its target as saved (JSON)."""


def read_scenario(path: Path) -> Scenario:
    """Read one result file: its target rows, percentiles and every run's measured values."""
    from ..language.targets import measure
    from ..schemas.target import Target

    rows = target_rows(path)
    with open_complete(path) as h5:
        if "indices" in h5:
            raise Sim315Error(str(path), "FILE", "is a sweep file", "give it with --sweep")
        attrs = {k: _attr(v) for k, v in h5.attrs.items() if k != "model_text"}
        times = h5["time"][:]
        ok = h5["run_status"][:] == 0
        sc = Scenario(path, Path(str(attrs.get("scenario_file", path))).stem, attrs, rows, times)
        for r in rows:
            el = r.element or r.output
            if el not in sc.summary:
                sc.summary[el] = h5["summary"][el][:]
                a = output_attrs(h5, el)
                sc.meta[el] = (
                    labels.title(el, str(a.get("long_name", ""))),
                    labels.units(str(a.get("units", ""))),
                )
            raw = output_attrs(h5, el).get("target")
            if raw:
                sc.definitions[el] = raw
            if raw and r.target != "-" and has_target_runs(h5, el):  # else summaries only
                tgt = Target.from_json(raw)
                m = measure(tgt, *target_runs(h5, el, tgt.years_needed()))
                sc.measured[r.output] = np.where(ok, m.value, np.nan)
                sc.met[r.output] = m.met & ok
    return sc


def _attr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v


def pick_baseline(scens: list[Scenario], baseline: Path | None) -> Scenario | None:
    """The baseline: the file given, else the one file named baseline among several."""
    if baseline is not None:
        for s in scens:
            if s.path.resolve() == Path(baseline).resolve():
                return s
        raise Sim315Error(str(baseline), "--baseline", "is not one of the files", "list it too")
    named = [s for s in scens if "baseline" in s.name]
    return named[0] if named and len(scens) > 1 else None
