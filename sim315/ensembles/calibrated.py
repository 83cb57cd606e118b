"""A fitted-parameter file as scenarios read it: point estimates and the posterior sample.

``sim315 calibrate`` (:mod:`sim315.analysis.calibration`) writes the file; the ensembles
read it here, so that planning a run never imports the calibration that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


def read_sample(path: str | Path, names: list[str]) -> np.ndarray:
    """A stored posterior sample, columns in the order of ``names``."""
    from ..core.errors import Sim315Error

    path = Path(path)
    try:
        import io

        from ..core.textfile import CSV_LIMIT, read_text

        fh = io.StringIO(read_text(path, "posterior sample", CSV_LIMIT))
        head = fh.readline().strip().split(",")
        data = np.loadtxt(fh, delimiter=",", ndmin=2)
    except FileNotFoundError:
        raise Sim315Error(
            str(path), "posterior", "no such posterior sample", "run sim315 calibrate again"
        ) from None
    except Sim315Error:
        raise  # read_text's own one-line error (too large, not UTF-8, not a file)
    except ValueError as exc:
        raise Sim315Error(
            str(path), "posterior", f"not a posterior sample ({exc})", "run sim315 calibrate"
        ) from None
    missing = [n for n in names if n not in head]
    if missing or data.shape[1] != len(head) or not np.all(np.isfinite(data)):
        raise Sim315Error(
            str(path),
            "posterior",
            f"columns {missing or head} do not match the fit's parameters, or non-finite values",
            "run sim315 calibrate again",
        )
    return np.ascontiguousarray(data[:, [head.index(n) for n in names]])


@dataclass(frozen=True)
class Calibrated:
    """A fitted-parameter file as scenarios use it."""

    path: Path
    estimates: dict[str, float]
    """Point estimates of every free parameter."""
    transfer: list[str]
    """The free parameters that carry into scenarios (the others belong to the fit's window,
    e.g. an initial value of its start)."""
    fit: Path
    """The fit file it came from."""
    names: list[str]
    """Columns of ``sample``: every free parameter."""
    sample: np.ndarray | None
    """The stored posterior sample, or None when the fit sampled none."""


def read_calibrated(path: str | Path) -> Calibrated:
    """Read a fitted-parameter file (validated against its schema, one-line errors) and its
    posterior sample (if any)."""
    from ..core.errors import Sim315Error
    from ..schemas.fitresult import FitResultFile, fields_at
    from ..schemas.validation import load_validated

    path = Path(path)
    if not path.is_file():
        raise Sim315Error(
            str(path), "calibrated", "no such fitted-parameter file", "run sim315 calibrate"
        )
    doc, _ = load_validated(path, FitResultFile, Sim315Error, fields_at, "fitted-parameter file")
    names = list(doc.parameters)
    estimates = {n: p.estimate for n, p in doc.parameters.items()}
    transfer = [n for n, p in doc.parameters.items() if p.transfer]
    fit = (path.parent / doc.fit).resolve()
    sample_file = None if doc.posterior is None else path.parent / doc.posterior.sample
    sample = None if sample_file is None else read_sample(sample_file, names)
    return Calibrated(path, estimates, transfer, fit, names, sample)


def apply_calibrated(source: str, sc, model, base: np.ndarray):
    """Read a scenario's ``calibrated:`` file and set its estimates in ``base`` (those the
    scenario neither overrides nor draws). Returns the file and, when the scenario draws
    the calibrated parameters (``calibrated_draws``), their columns and posterior sample."""
    from ..schemas.scenario import ScenarioError

    cal = read_calibrated(sc.calibrated)  # resolved by the scenario loader
    _check_calibrated(source, sc, model, cal)
    skip = set(sc.overrides) | set(sc.uncertain)
    for name in cal.transfer:
        if name not in skip:
            base[model.parameter_index(name)] = cal.estimates[name]
    if not sc.calibrated_draws:
        return cal, None
    both = sorted(set(cal.transfer) & set(sc.uncertain))
    if both:
        raise ScenarioError(
            source,
            f"uncertain.{both[0]}",
            "is also drawn from the calibration",
            "remove it from uncertain, or set calibrated_draws: false",
        )
    if cal.sample is None:
        raise ScenarioError(
            source,
            "calibrated_draws",
            f"{sc.calibrated} holds no posterior sample to draw from",
            "add a posterior: section to the fit file and run sim315 calibrate again",
        )
    keep = [i for i, n in enumerate(cal.names) if n in cal.transfer and n not in sc.overrides]
    cols = [model.parameter_index(cal.names[i]) for i in keep]
    return cal, (cols, cal.sample[:, keep])


def _check_calibrated(source: str, sc, model, cal: Calibrated) -> None:
    from ..schemas.scenario import ScenarioError

    for name in cal.names:
        if name not in model.parameter_names:
            raise ScenarioError(
                source,
                "calibrated",
                f"'{name}' in {sc.calibrated} is not a model parameter",
                "calibrate against this scenario's model",
            )
    for name in cal.names:
        if not np.isfinite(cal.estimates[name]):
            raise ScenarioError(
                str(cal.path),
                f"parameters.{name}.estimate",
                f"is {cal.estimates[name]}, not a finite number",
                "run sim315 calibrate again",
            )
    if cal.sample is not None and not np.all(np.isfinite(cal.sample)):
        raise ScenarioError(
            str(cal.path),
            "posterior.sample",
            "the posterior sample holds NaN or inf",
            "run sim315 calibrate again",
        )
