"""The result file's layout: what each dataset and attribute holds, the percentiles, run
statuses, compression choices and the layout version, and :func:`lay_out`, which makes a
fresh file's datasets, empty.

Layout (readable with ``xarray.open_dataset(path, engine="h5netcdf")``)::

    /time              (time)                 saved times; dimension scale
    /run               (run)                  run numbers; dimension scale
    /parameter         (parameter)            parameter names; dimension scale
    /shared_values     (parameter)            the value every run shares; NaN for a varied
                                              parameter and a time-tabled lever
    /varied_parameter  (varied_parameter)     the parameters that vary from run to run (drawn,
                                              or a start state from history); dimension
                                              scale, attribute ``columns``: their indices
                                              into /parameter
    /varied_values     (run, varied_parameter) each run's values of them
                                              (:func:`parameter_matrix` puts the two together;
                                              layouts 0-2 stored the whole matrix as
                                              /parameter_values (run, parameter))
    /draw              (draw)                 rows of the posterior sample (layout 4 on, where
                                              runs draw calibrated parameters); scale
    /drawn_parameter   (drawn_parameter)      the varied parameters a run's posterior row
                                              decides (its calibrated draws, and the start
                                              states of that row's history run); scale,
                                              attribute ``columns``
    /drawn_values      (draw, drawn_parameter) their values per posterior row (NaN: no run
                                              drew it)
    /run_draw          (run)                  the posterior row each run drew
    /run_status        (run)                  0 ok, 1 NaN/inf (stopped), -1 not run yet
    /levers/<name>     (point, 2)             a time-tabled lever's table (time, value); its
                                              shared value is NaN
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
import os
from dataclasses import dataclass, field

import h5py
import numpy as np

PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
# The result file's layout version: raised when a dataset or attribute changes meaning.
# 1: first versioned layout (issue 14); files without the attribute are layout 0.
# 2: ``save`` and ``run_dtype`` attributes; per-run outputs may be absent (``--save targets``
# keeps /target_runs, ``summary`` neither); summary datasets carry the outputs' descriptions
# and ``error_bound`` (issue 15). A file without ``save`` keeps every run's outputs.
# 3: the parameter matrix as /shared_values and /varied_values: the plan's 96 of 175
# columns that no run changes took 0.77 GB of a 10^6-run file (issue 15).
# 4: the varied columns a run's posterior row decides stored once per row (/drawn_values,
# /run_draw): 53 of the plan's 79, 1,180 -> 765 MB at 10^6 runs (issue 15).
FORMAT_VERSION = 4
RESERVED = (
    "time",
    "run",
    "parameter",
    "parameter_values",
    "shared_values",
    "varied_parameter",
    "varied_values",
    "draw",
    "drawn_parameter",
    "drawn_values",
    "run_draw",
    "run_status",
    "summary",
    "target_runs",
)
STATUS_NOT_RUN = -1
#: Compression of the per-run datasets. ``none`` writes at memory speed (~1.5 GB/s here);
#: ``lzf`` is ~3x smaller at ~230 MB/s; ``gzip`` (level 1, shuffled) is ~3x smaller at
#: ~100 MB/s and readable by every netCDF/HDF5 tool (lzf needs h5py).
COMPRESSION = {
    "none": {},
    "lzf": {"compression": "lzf", "shuffle": True},
    "gzip": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
}
#: Whether the system reserves a file's disk blocks without writing them (``posix_fallocate``).
CAN_RESERVE = hasattr(os, "posix_fallocate")
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
    h5, runs, times, time_units, outputs, parameters, attrs, rows, comp, save="all", dtype=None
) -> None:
    """Make every dataset of a fresh file, empty, and its attributes: ``runs`` runs saved at
    ``times``, ``parameters`` a :class:`Parameters`, chunks of at most ``rows`` runs,
    ``comp`` a :data:`COMPRESSION` value, the runs' outputs kept as ``save`` says
    (:data:`SAVE_CHOICES`) in ``dtype`` (float64)."""
    dtype = np.dtype(dtype or np.float64)
    n_t = len(times)
    t, r, pn = _scales(h5, runs, times, time_units, parameters.names)
    chunk_rows = max(1, min(runs, rows, max(1, (1 << 20) // (8 * max(1, n_t)))))
    _parameters(h5, runs, parameters, r, pn, chunk_rows, comp)
    st = h5.create_dataset(
        "run_status",
        shape=(runs,),
        dtype=np.int8,
        fillvalue=STATUS_NOT_RUN,
        chunks=(max(1, min(runs, 1 << 16)),),
        **({} if comp else _storage(comp, filled=True)),  # -1 (not run) until written
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


@dataclass(frozen=True)
class Parameters:
    """The kernel's parameters as the file stores them: ``names``, the columns that vary
    from run to run (``varied``, increasing) and the value every run shares (``shared``,
    NaN in the varied columns and for time-tabled levers)."""

    names: list[str]
    varied: list[int]
    shared: np.ndarray
    drawn: list[int] = field(default_factory=list)
    """Columns a run's row of the posterior sample decides (not among ``varied``)."""
    draws: int = 0
    """Rows of that sample."""


def _parameters(h5, runs: int, p: Parameters, r, pn, chunk_rows: int, comp: dict) -> None:
    """``/shared_values``, ``/varied_parameter`` and ``/varied_values``, empty."""
    sv = h5.create_dataset("shared_values", data=np.asarray(p.shared, dtype=np.float64))
    sv.attrs["long_name"] = "the value every run shares (NaN: see varied_values, or levers)"
    sv.dims[0].attach_scale(pn)
    names = np.array([p.names[c] for c in p.varied], dtype=h5py.string_dtype())
    vn = h5.create_dataset("varied_parameter", data=names, shape=(len(p.varied),))
    vn.attrs["columns"] = np.array(p.varied, dtype=np.int64)
    vn.attrs["long_name"] = "the parameters that vary from run to run"
    vn.make_scale("varied_parameter")
    width = len(p.varied)
    layout = {"chunks": (chunk_rows, width), **_storage(comp)} if width else {}
    vv = h5.create_dataset("varied_values", shape=(runs, width), dtype=np.float64, **layout)
    vv.attrs["long_name"] = "each run's values of the varied parameters"
    vv.dims[0].attach_scale(r)
    vv.dims[1].attach_scale(vn)
    if p.drawn:
        _drawn(h5, runs, p, r, chunk_rows, comp)


def _drawn(h5, runs: int, p: Parameters, r, chunk_rows: int, comp: dict) -> None:
    """``/draw``, ``/drawn_parameter``, ``/drawn_values`` (NaN) and ``/run_draw`` (-1)."""
    d = h5.create_dataset("draw", data=np.arange(p.draws, dtype=np.int64))
    d.attrs["long_name"] = "row of the posterior sample"
    d.make_scale("draw")
    names = np.array([p.names[c] for c in p.drawn], dtype=h5py.string_dtype())
    dn = h5.create_dataset("drawn_parameter", data=names, shape=(len(p.drawn),))
    dn.attrs["columns"] = np.array(p.drawn, dtype=np.int64)
    dn.attrs["long_name"] = "the parameters a run's posterior row decides"
    dn.make_scale("drawn_parameter")
    dv = h5.create_dataset(
        "drawn_values", shape=(p.draws, len(p.drawn)), dtype=np.float64, fillvalue=np.nan
    )
    dv.attrs["long_name"] = "each posterior row's values of them (NaN: no run drew it)"
    dv.dims[0].attach_scale(d)
    dv.dims[1].attach_scale(dn)
    layout = {"chunks": (chunk_rows,), **_storage(comp, filled=True)}
    rd = h5.create_dataset("run_draw", shape=(runs,), dtype=np.int32, fillvalue=-1, **layout)
    rd.attrs["long_name"] = "the posterior row each run drew"
    rd.dims[0].attach_scale(r)


def parameter_matrix(h5, rows=None) -> np.ndarray:
    """The parameter matrix of a result file, ``(runs, parameters)`` in ``/parameter``'s
    order, or of the runs ``rows`` (increasing, distinct), from either layout."""
    if "parameter_values" in h5:  # layouts 0-2 stored it whole
        ds = h5["parameter_values"]
        return ds[:] if rows is None else ds[rows, :]
    shared = h5["shared_values"][:]
    n = int(h5["run"].shape[0]) if rows is None else len(rows)
    P = np.tile(shared, (n, 1))
    cols = [int(c) for c in h5["varied_parameter"].attrs["columns"]]
    if cols:
        vv = h5["varied_values"]
        P[:, cols] = vv[:] if rows is None else vv[rows, :]
    if "run_draw" in h5:  # layout 4: by the posterior row each run drew
        draw = h5["run_draw"][:] if rows is None else h5["run_draw"][rows]
        cols = [int(c) for c in h5["drawn_parameter"].attrs["columns"]]
        P[:, cols] = h5["drawn_values"][:][draw]
    return P


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


def _storage(comp: dict, filled: bool = False) -> dict:
    """Keyword arguments of a per-run dataset: its compression filters, or none.

    Uncompressed, every chunk is allocated now, so that no HDF5 metadata is written half-way
    through a run, and the file's disk blocks are then reserved whole without writing them
    (:func:`sim315.results.files.reserve_blocks`): a full disk shows up here, before any
    run. Where the system cannot reserve blocks, or the dataset is ``filled`` (``run_status``:
    its fill value means *not run*), the fill value is written now instead, which takes as
    long as writing the file (2 s for 1.2 GB). Otherwise it is not: the rows of runs not yet
    written (status -1, in a partial file only) hold no values."""
    if comp:
        return dict(comp)
    early = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    early.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    if not filled and CAN_RESERVE:
        early.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    return {"dcpl": early}
