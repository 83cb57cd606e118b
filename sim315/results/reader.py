"""A result file as an :class:`xarray.Dataset`, and as tidy pandas tables.

:func:`open_results` reads everything the HDF5 file holds into memory: the per-run datasets
``(run, time)``, ``parameter_values`` and ``run_status``, the summary group (each variable
prefixed ``summary_``: ``summary_<output>`` ``(percentile, time)``, ``summary_p_met``
``(target)``, ...) and the file's attributes. Values are the file's, bit for bit.
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


def texts(ds) -> list[str]:
    """A dataset of HDF5 strings as Python strings."""
    return [t.decode() if isinstance(t, bytes) else str(t) for t in ds[:]]


def open_results(path: str | Path):
    """The result file at ``path`` as an in-memory :class:`xarray.Dataset`."""
    import xarray as xr

    open_complete(path).close()  # one-line errors for a missing, foreign or incomplete file
    with xr.open_dataset(path, engine="h5netcdf") as root:
        ds = root.load()
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


def _pick(ds, variables, source: str) -> list[str]:
    names = outputs(ds)
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
    names = _pick(ds, variables, source)
    frames = []
    for n in names:
        var = ds[n] if what == "runs" else ds[SUMMARY_PREFIX + n]
        if what not in ("runs", "percentiles"):
            raise ValueError(f"what must be 'runs', 'percentiles' or 'targets', not {what!r}")
        f = var.to_dataframe(name="value").reset_index()
        f.insert(0, "units", str(ds[n].attrs.get("units", "")))
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
