"""The result file's layout: what each dataset and attribute holds, the percentiles, run
statuses, compression choices and the layout version, and :func:`lay_out`, which makes a
fresh file's datasets, empty.

Layout (readable with ``xarray.open_dataset(path, engine="h5netcdf")``)::

    /time              (time)                 saved times; dimension scale
    /run               (run)                  run numbers; dimension scale
    /parameter         (parameter)            parameter names; dimension scale
    /parameter_values  (run, parameter)       the parameter matrix
    /run_status        (run)                  0 ok, 1 NaN/inf (stopped), -1 not run yet
    /levers/<name>     (point, 2)             a time-tabled lever's table (time, value); its
                                              parameter_values column is NaN
    /<output>          (run, time)            one dataset per saved variable (--save all),
                                              float64, or float32 with --float32
    /target_runs/<output> (run, target_time)  --save targets: each target's output at the
                                              times its target reads (attribute ``columns``:
                                              their indices into /time)
    /summary/percentile (percentile)          5, 25, 50, 75, 95
    /summary/<output>  (percentile, time)     percentiles over the runs that finished, with
                                              the output's units, long_name, kind, target
                                              and error_bound (per time; 0: exact)
    /summary/target    (target)               target ids (default: the output's name)
    /summary/p_met     (target)               share of all runs meeting the target
    /summary/n_met     (target)               runs meeting the target
    /summary/target_element, _kind, _first, _last, _worst_year, _definition (target)
                                              the output measured, the kind, the year or
                                              window, every_year's worst year, the JSON
    /summary/target_value (target, percentile) the measured value over finished runs
    attributes: versions, model hash, scenario text, seed entropy, method, grid, save
                (all, targets or summary), run_dtype (float64 or float32), ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import h5py
import numpy as np

PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
# The result file's layout version: raised when a dataset or attribute changes meaning.
# 1: first versioned layout (issue 14); files without the attribute are layout 0.
# 2: ``save`` and ``run_dtype`` attributes; per-run outputs may be absent (``--save targets``
# keeps /target_runs, ``summary`` neither); summary datasets carry the outputs' descriptions
# and ``error_bound`` (issue 15). A file without ``save`` keeps every run's outputs.
FORMAT_VERSION = 2
RESERVED = ("time", "run", "parameter", "parameter_values", "run_status", "summary", "target_runs")
STATUS_NOT_RUN = -1
#: Compression of the per-run datasets. ``none`` writes at memory speed (~1.5 GB/s here);
#: ``lzf`` is ~3x smaller at ~230 MB/s; ``gzip`` (level 1, shuffled) is ~3x smaller at
#: ~100 MB/s and readable by every netCDF/HDF5 tool (lzf needs h5py).
COMPRESSION = {
    "none": {},
    "lzf": {"compression": "lzf", "shuffle": True},
    "gzip": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
}
#: Rows read at a time when summarising (bounds the extra memory of the summary).
SUMMARY_BLOCK = 65536
#: What ``--save`` keeps of each run besides its parameters and status: every output
#: (``all``), the values targets read (``targets``), or nothing (``summary``); ``auto`` (the
#: default) is ``all`` while the runs' outputs take at most :data:`AUTO_ALL_BYTES`, else
#: ``targets``.
SAVE_CHOICES = ("auto", "all", "targets", "summary")
DEFAULT_SAVE = "auto"
AUTO_ALL_BYTES = 256 << 20
TARGET_RUNS = "target_runs"


@dataclass(frozen=True)
class OutputInfo:
    """What the file records about a saved variable."""

    name: str
    units: str
    doc: str
    kind: str
    target: dict | None = None


def lay_out(
    h5, runs, times, time_units, outputs, parameter_names, attrs, rows, comp, save="all", dtype=None
) -> None:
    """Make every dataset of a fresh file, empty, and its attributes: ``runs`` runs saved at
    ``times``, chunks of at most ``rows`` runs, ``comp`` a :data:`COMPRESSION` value, the
    runs' outputs kept as ``save`` says (:data:`SAVE_CHOICES`) in ``dtype`` (float64)."""
    dtype = np.dtype(dtype or np.float64)
    n_t = len(times)
    t, r, pn = _scales(h5, runs, times, time_units, parameter_names)
    chunk_rows = max(1, min(runs, rows, max(1, (1 << 20) // (8 * max(1, n_t)))))
    pv = h5.create_dataset(
        "parameter_values",
        shape=(runs, len(parameter_names)),
        dtype=np.float64,
        chunks=(chunk_rows, max(1, len(parameter_names))),
        **_storage(comp),
    )
    pv.dims[0].attach_scale(r)
    pv.dims[1].attach_scale(pn)
    st = h5.create_dataset(
        "run_status",
        shape=(runs,),
        dtype=np.int8,
        fillvalue=STATUS_NOT_RUN,
        chunks=(max(1, min(runs, 1 << 16)),),
        **({} if comp else _storage(comp)),
    )
    st.attrs["flag_meanings"] = "not_run ok nonfinite"
    st.attrs["flag_values"] = np.array([-1, 0, 1], dtype=np.int8)
    st.dims[0].attach_scale(r)
    for info in outputs if save == "all" else []:
        ds = h5.create_dataset(
            info.name,
            shape=(runs, n_t),
            dtype=dtype,
            chunks=(chunk_rows, n_t),
            fillvalue=np.nan,
            **_storage(comp),
        )
        _describe(ds, info)
        ds.dims[0].attach_scale(r)
        ds.dims[1].attach_scale(t)
    if save == "targets":
        _target_runs(h5, runs, times, outputs, r, chunk_rows, comp, dtype)
    for k, v in attrs.items():
        h5.attrs[k] = v
    h5.attrs["save"] = save
    h5.attrs["run_dtype"] = dtype.name
    h5.attrs["format_version"] = FORMAT_VERSION
    h5.attrs["outputs"] = json.dumps([o.name for o in outputs])
    h5.attrs["runs"] = runs
    h5.attrs["runs_done"] = 0
    h5.attrs["complete"] = False


def _describe(ds, info: OutputInfo) -> None:
    ds.attrs["units"] = info.units
    ds.attrs["long_name"] = info.doc or info.name
    ds.attrs["kind"] = info.kind
    if info.target:
        ds.attrs["target"] = json.dumps(info.target)


def target_columns(times, target: dict) -> list[int]:
    """The indices of the saved times a target reads."""
    from ..language.targets import time_index
    from ..schemas.target import Target

    years = Target.from_json(target).years_needed()
    return sorted({time_index(times, y) for y in years} - {None})


def _target_runs(h5, runs, times, outputs, r, chunk_rows, comp, dtype) -> None:
    """``/target_runs/<output>``: each target's output at the times its target reads."""
    g = h5.create_group(TARGET_RUNS)
    g.attrs["long_name"] = "each target's output, every run, at the times its target reads"
    for info in outputs:
        if not info.target:
            continue
        cols = target_columns(np.asarray(times), info.target)
        ds = g.create_dataset(
            info.name,
            shape=(runs, len(cols)),
            dtype=dtype,
            chunks=(chunk_rows, max(1, len(cols))),  # one chunk of runs: written whole
            fillvalue=np.nan,
            **_storage(comp),
        )
        _describe(ds, info)
        ds.attrs["columns"] = np.array(cols, dtype=np.int64)
        ds.attrs["time"] = np.asarray(times, dtype=np.float64)[cols]
        ds.dims[0].attach_scale(r)


def _scales(h5, runs: int, times, time_units: str, parameter_names: list[str]):
    """The dimension scales: time, run and parameter."""
    t = h5.create_dataset("time", data=np.asarray(times, dtype=np.float64))
    t.attrs["units"] = time_units
    t.make_scale("time")
    r = h5.create_dataset("run", shape=(runs,), dtype=np.int64)
    for a in range(0, runs, SUMMARY_BLOCK):  # never the whole range in memory
        b = min(runs, a + SUMMARY_BLOCK)
        r[a:b] = np.arange(a, b, dtype=np.int64)
    r.attrs["long_name"] = "run number"
    r.make_scale("run")
    names = np.array(parameter_names, dtype=h5py.string_dtype())
    pn = h5.create_dataset("parameter", data=names)
    pn.make_scale("parameter")
    return t, r, pn


def _storage(comp: dict) -> dict:
    """Keyword arguments of a per-run dataset: its compression filters, or none."""
    if comp:
        return dict(comp)
    # uncompressed: every chunk is allocated (and filled) now, so a full disk shows
    # up here, before any run, and never leaves half-written HDF5 metadata behind
    early = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    early.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    return {"dcpl": early}
