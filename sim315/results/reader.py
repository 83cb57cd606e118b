"""A result file as an :class:`xarray.Dataset`, and as tidy pandas tables.

:func:`open_results` reads everything the HDF5 file holds into memory: the per-run datasets
``(run, time)``, ``parameter_values`` ``(run, parameter)`` (put together from the file's
``shared_values`` and ``varied_values`` where it stores them apart, layout 3 on) and
``run_status``, the summary group (each variable prefixed ``summary_``:
``summary_<output>`` ``(percentile, time)``, ``summary_p_met`` ``(target)``, ...) and the
file's attributes. Values are the file's, bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import h5py

from ..core.errors import Sim315Error

SUMMARY_PREFIX = "summary_"


def open_complete(path: str | Path) -> h5py.File:
    """The complete result file at ``path``, open for reading; one-line errors for a missing,
    foreign or incomplete file."""
    path = Path(path)
    if not path.is_file():
        hint = " (an interrupted run leaves <name>.partial; continue it with --resume)"
        raise Sim315Error(str(path), "", "no such result file" + hint, "check the path")
    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise Sim315Error(
            str(path), "", "is not an HDF5 result file", "give a file made by sim315 run"
        ) from None
    if "summary" not in h5 or not h5.attrs.get("complete", False):
        h5.close()
        raise Sim315Error(str(path), "", "is not a complete sim315 result file", "rerun it")
    return h5


def saved(h5: h5py.File) -> str:
    """What the file keeps of each run: ``all``, ``targets`` or ``summary``."""
    v = h5.attrs.get("save", "all")
    return v.decode() if isinstance(v, bytes) else str(v)


def output_attrs(h5: h5py.File, name: str):
    """An output's attributes (units, long_name, kind, target): from its runs' dataset,
    else from its summary (files saved without the runs)."""
    if name in h5 and isinstance(h5[name], h5py.Dataset):
        return h5[name].attrs
    return h5["summary"][name].attrs


def _no_runs(h5: h5py.File, name: str, need: str) -> Sim315Error:
    kept = saved(h5)
    return Sim315Error(
        str(h5.filename),
        name,
        f"holds no per-run values of '{name}' (written with --save {kept})",
        f"rerun with --save {need}",
    )


def has_target_runs(h5: h5py.File, name: str) -> bool:
    """Whether every run's values of output ``name`` at its target's times are kept."""
    if name in h5 and isinstance(h5[name], h5py.Dataset):
        return True
    return "target_runs" in h5 and name in h5["target_runs"]


def run_values(h5: h5py.File, name: str) -> h5py.Dataset:
    """The ``(run, time)`` dataset of output ``name``; one line naming the file and the fix
    when the file kept only summaries or targets."""
    if name in h5 and isinstance(h5[name], h5py.Dataset):
        return h5[name]
    raise _no_runs(h5, name, "all")


def target_runs(h5: h5py.File, name: str, years) -> tuple:
    """Every run's values of output ``name`` at the saved times ``years`` (a target's),
    and those times: ``(x (run, k), times (k,))``, from the full dataset or from
    ``/target_runs`` (``--save targets``)."""
    import numpy as np

    from ..language.targets import time_index

    times = h5["time"][:]
    cols = sorted({time_index(times, y) for y in years} - {None})
    if name in h5 and isinstance(h5[name], h5py.Dataset):
        return h5[name][:, cols], times[cols]
    g = h5.get("target_runs")
    if g is not None and name in g:
        ds = g[name]
        stored = [int(c) for c in ds.attrs["columns"]]
        if set(cols) <= set(stored):
            pick = [stored.index(c) for c in cols]
            x = ds[:]
            return np.asarray(x[:, pick], dtype=np.float64), times[cols]
    raise _no_runs(h5, name, "targets")


def texts(ds) -> list[str]:
    """A dataset of HDF5 strings as Python strings."""
    return [t.decode() if isinstance(t, bytes) else str(t) for t in ds[:]]


def open_results(path: str | Path):
    """The result file at ``path`` as an in-memory :class:`xarray.Dataset`."""
    import xarray as xr

    from .layout import parameter_matrix

    with open_complete(path) as h5:  # one-line errors for a missing, foreign or incomplete file
        whole = "parameter_values" in h5
        P = None if whole else parameter_matrix(h5)
    with xr.open_dataset(path, engine="h5netcdf") as root:
        ds = root.load()
    if P is not None:
        ds["parameter_values"] = (("run", "parameter"), P)
    with xr.open_dataset(path, engine="h5netcdf", group="summary") as group:
        summary = group.load()
    summary = summary.rename({n: SUMMARY_PREFIX + n for n in summary.data_vars})
    out = xr.merge([ds, summary], combine_attrs="override", join="exact")
    out.attrs = dict(ds.attrs)
    out.attrs["source_file"] = str(path)
    return out


def outputs(ds) -> list[str]:
    """The saved variables (``(run, time)`` datasets) of a results Dataset."""
    return [n for n, v in ds.data_vars.items() if v.dims == ("run", "time")]


def summarised(ds) -> list[str]:
    """The outputs with percentiles in the summary, in the file's order."""
    import json

    raw = ds.attrs.get("outputs")
    names = json.loads(raw) if raw else outputs(ds)
    return [n for n in names if SUMMARY_PREFIX + n in ds.data_vars]


def _pick(ds, variables, source: str, what: str = "runs") -> list[str]:
    names = outputs(ds) if what == "runs" else summarised(ds)
    if what == "runs" and not names and summarised(ds):
        kept = ds.attrs.get("save", "all")
        raise Sim315Error(
            source,
            "runs",
            f"holds no per-run values of the outputs (written with --save {kept})",
            "use --percentiles, or rerun with --save all",
        )
    if variables is None:
        return names
    chosen = [variables] if isinstance(variables, str) else list(variables)
    for v in chosen:
        if v not in names:
            from ..core.errors import suggest

            raise Sim315Error(source, "--vars", f"no output '{v}' in the file", suggest(v, names))
    return chosen


def to_dataframe(ds, variables=None, *, what: str = "runs", wide: bool = False):
    """A tidy :class:`pandas.DataFrame` of a results Dataset (or a result file's path).

    ``what="runs"``: one row per (variable, run, time), columns ``variable, units, run,
    time, value``; ``wide=True``: one row per (run, time), one column per variable.
    ``what="percentiles"``: one row per (variable, percentile, time); ``wide=True``: one row
    per (variable, time), one column per percentile (``p5`` ... ``p95``).
    ``what="targets"``: one row per target (id, element, kind, years, percentiles of the
    measured value, P(met)).
    """
    import pandas as pd

    if isinstance(ds, str | Path):
        ds = open_results(ds)
    source = str(ds.attrs.get("source_file", "dataset"))
    if what == "targets":
        return _targets(ds)
    if what not in ("runs", "percentiles"):
        raise ValueError(f"what must be 'runs', 'percentiles' or 'targets', not {what!r}")
    names = _pick(ds, variables, source, what)
    frames = []
    for n in names:
        var = ds[n] if what == "runs" else ds[SUMMARY_PREFIX + n]
        f = var.to_dataframe(name="value").reset_index()
        about = ds[n] if n in ds.data_vars else ds[SUMMARY_PREFIX + n]
        f.insert(0, "units", str(about.attrs.get("units", "")))
        f.insert(0, "variable", n)
        frames.append(f)
    long = pd.concat(frames, ignore_index=True)
    if not wide:
        return long
    if what == "runs":
        out = long.pivot(index=["run", "time"], columns="variable", values="value")
        return out[names].reset_index().rename_axis(columns=None)
    long["percentile"] = "p" + long["percentile"].map(lambda p: f"{p:g}")
    out = long.pivot(index=["variable", "units", "time"], columns="percentile", values="value")
    cols = sorted(out.columns, key=lambda c: float(c[1:]))
    out = out[cols].reset_index().rename_axis(columns=None)
    order = {n: i for i, n in enumerate(names)}
    return out.sort_values(
        ["variable", "time"], key=lambda c: c.map(order) if c.name == "variable" else c
    ).reset_index(drop=True)


def _targets(ds):
    import pandas as pd

    p = SUMMARY_PREFIX
    if "target" not in ds.dims or ds.sizes["target"] == 0:
        return pd.DataFrame(columns=["target", "element", "kind", "first", "last", "p_met"])
    f = pd.DataFrame(
        {
            "target": ds["target"].values.astype(str),
            "element": ds[p + "target_element"].values.astype(str),
            "kind": ds[p + "target_kind"].values.astype(str),
            "first": ds[p + "target_first"].values,
            "last": ds[p + "target_last"].values,
        }
    )
    q = ds[p + "target_value"]
    for k, pct in enumerate(ds["percentile"].values):
        f[f"p{pct:g}"] = q.values[:, k]
    f["n_met"] = ds[p + "n_met"].values
    f["p_met"] = ds[p + "p_met"].values
    return f
