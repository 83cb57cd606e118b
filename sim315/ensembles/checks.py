"""The checks of a run's plan: names, bounds, distributions, outputs, memory.

Each raises a one-line :class:`~sim315.schemas.scenario.ScenarioError` that names the file,
the field and a fix, before anything runs (:func:`sim315.ensembles.plan.plan_run`).
"""

from __future__ import annotations

import os

import numpy as np

from ..core.elementnames import array_of
from ..core.errors import suggest
from ..results.layout import RESERVED
from ..schemas.scenario import MAX_RUNS, MAX_SEED, ScenarioError, TimeTable


def check_arguments(source: str, runs, seed, chunk) -> None:
    """The command line's ``--runs``, ``--seed`` and ``--chunk``."""
    if runs is not None and runs < 1:
        raise ScenarioError(source, "--runs", f"runs must be at least 1, not {runs}")
    if chunk is not None and chunk < 1:
        raise ScenarioError(source, "--chunk", f"chunk must be at least 1, not {chunk}")
    if seed is not None and seed < 0:
        raise ScenarioError(source, "--seed", f"seed must be non-negative, not {seed}")
    if seed is not None and seed > MAX_SEED:
        raise ScenarioError(source, "--seed", f"seed must be at most 2**63 - 1, not {seed}")
    if runs is not None and runs > MAX_RUNS:
        raise ScenarioError(
            source, "--runs", f"runs must be at most {MAX_RUNS:,} (2**40), not {runs:,}"
        )


def size_text(n: float) -> str:
    """A byte count for people: ``12.3 MiB``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.3g}"  # pragma: no cover


def _memory_available() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 62


def check_memory(source, runs, chunk, n_saved, n_out, n_params, sampler) -> None:
    """Refuse an ensemble whose working memory cannot fit, before anything is allocated:
    three chunks of outputs and parameters (computing, writing, sampling ahead) and a Latin
    hypercube design (built whole)."""
    need = 3 * chunk * (n_saved * n_out + 2 * n_params) * 8
    if sampler.kind == "lhs":
        need += runs * sampler.n_uncertain * 8 * 2
    have = _memory_available()
    if need > have:
        raise ScenarioError(
            source,
            "runs" if sampler.kind == "lhs" and runs * sampler.n_uncertain > chunk else "chunk",
            f"the run would need {size_text(need)} of memory ({runs:,} runs, {n_saved:,} saved "
            f"times, {n_out} outputs); this machine has {size_text(have)}",
            "use fewer runs, a smaller chunk, a coarser save_every or fewer outputs",
        )


def check_bounds(source, sc, model) -> None:
    """Overrides (constants and every value of a time table) must lie within the bounds the
    model declares, unless the scenario names them in ``allow_out_of_bounds``."""
    allowed = set(sc.allow_out_of_bounds)
    for name in allowed:
        if name not in sc.overrides:
            raise ScenarioError(
                source,
                "allow_out_of_bounds",
                f"'{name}' is not overridden",
                suggest(name, sc.overrides) if sc.overrides else "remove it",
            )
    params = model.ir.spec.parameters
    for name, value in sc.overrides.items():
        par = params.get(array_of(name))  # an array element: its array's bounds
        if name in allowed or par is None or par.bounds is None:
            continue
        lo, hi = par.bounds
        values = value.points()[1] if isinstance(value, TimeTable) else [value]
        for v in values:
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                raise ScenarioError(
                    source,
                    f"overrides.{name}",
                    f"{v:g} is outside the parameter's bounds [{lo}, {hi}] in the model",
                    f"use a value within them, or add it to allow_out_of_bounds: [{name}]",
                )


def check_names(source, sc, probe, tables) -> None:
    """Every overridden and uncertain name is a kernel parameter, given one way only."""
    params = list(probe.kernel_params)
    for section, names in (("overrides", sc.overrides), ("uncertain", sc.uncertain)):
        for name in names:
            if name not in params:
                raise ScenarioError(
                    source,
                    f"{section}.{name}",
                    f"unknown parameter '{name}'",
                    suggest(name, params),
                )
    for name in sc.uncertain:
        if name in tables:
            raise ScenarioError(
                source,
                f"uncertain.{name}",
                "is also given a time table in overrides",
                "make it either a time table or uncertain",
            )
        if name in sc.overrides:
            raise ScenarioError(
                source,
                f"uncertain.{name}",
                "is also overridden with a constant",
                "remove one of the two",
            )
    for name in tables:
        if name.endswith(".init"):
            raise ScenarioError(
                source,
                f"overrides.{name}",
                "an initial value cannot vary over time",
                "give a constant",
            )


def check_support(source, model, name, dist) -> None:
    """An uncertain parameter's distribution stays within the bounds the model declares."""
    lo, hi = dist.support()
    if name.endswith(".init"):
        return
    par = model.ir.spec.parameters[array_of(name)]  # an array element: its array's
    if par.bounds is None:
        return
    blo, bhi = par.bounds
    finite = [abs(v) for v in (lo, hi, blo, bhi) if v is not None and np.isfinite(v)]
    tol = 1e-9 * max([1.0, *finite])  # scipy's support of a truncated law rounds
    if (blo is not None and lo < blo - tol) or (bhi is not None and hi > bhi + tol):
        raise ScenarioError(
            source,
            f"uncertain.{name}",
            f"the distribution reaches [{lo:g}, {hi:g}], beyond the parameter's bounds "
            f"[{blo}, {bhi}] in the model",
            "use a truncated or bounded distribution (truncnormal, uniform, pert)",
        )


def saved_outputs(source, sc, model) -> list[str]:
    """The saved variables: the scenario's (default: the stocks), always with every output
    that carries a target; checks that each target's years are saved times."""
    from ..language.targets import missing_years

    measured = [t.element for t in model.ir.targets.values()]
    if sc.outputs is None:
        names = list(model.ir.stock_names)
    else:
        names = []
        for name in sc.outputs:
            if name not in model.output_names:
                raise ScenarioError(
                    source, "outputs", f"unknown output '{name}'", suggest(name, model.output_names)
                )
            if name not in names:
                names.append(name)
    names += [n for n in dict.fromkeys(measured) if n not in names]
    grid = model.grid_for(sc.dt, sc.save_every)
    times = grid.times()
    for tid, t in model.ir.targets.items():
        if missing := missing_years(t.spec, times):
            raise ScenarioError(
                source,
                "save_every",
                f"target {tid} ({t.spec.describe()}) needs time {missing[0]:g}, which is not "
                f"a saved time (every {grid.save_every:g} from {grid.start:g})",
                "choose save_every so that every whole year is saved (e.g. 1 or 0.25)",
            )
    for name in names:
        if name in RESERVED:
            raise ScenarioError(
                source,
                "outputs",
                f"'{name}' clashes with a dataset of the result file",
                "rename the variable in the model",
            )
    return names
