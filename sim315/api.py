"""Running a scenario from Python: ``sim315.run("plan", runs=500)`` -> an xarray Dataset."""

from __future__ import annotations

import tempfile
from pathlib import Path


def run(
    scenario: str | Path,
    *,
    runs: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    threads: int | None = None,
    progress: bool = False,
):
    """Run a scenario's ensemble and return its results as an :class:`xarray.Dataset`.

    Parameters
    ----------
    scenario
        A scenario file, or a packaged scenario's name (``"plan"``, ``"baseline"``).
    runs, seed
        Override the scenario's run count and seed.
    out
        Keep the HDF5 result file there; by default it is written to a temporary folder and
        removed once read.
    threads
        CPU threads (the numbers do not depend on it).

    Returns
    -------
    xarray.Dataset
        The same content as the result file: see :func:`sim315.results.reader.open_results`.
    """
    from .ensembles.runner import execute, plan_run
    from .results.reader import open_results

    plan = plan_run(scenario, runs=runs, seed=seed)
    if out is not None:
        execute(plan, out, threads=threads, progress=progress)
        return open_results(out)
    with tempfile.TemporaryDirectory(prefix="sim315-") as tmp:
        path = Path(tmp) / "result.h5"
        execute(plan, path, threads=threads, progress=progress)
        ds = open_results(path)
    ds.attrs["source_file"] = ""
    return ds
