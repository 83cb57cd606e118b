"""HDF5 result files: one per run command, streamed chunk by chunk, renamed when complete.

Layout (readable with ``xarray.open_dataset(path, engine="h5netcdf")``)::

    /time              (time)                 saved times; dimension scale
    /run               (run)                  run numbers; dimension scale
    /parameter         (parameter)            parameter names; dimension scale
    /parameter_values  (run, parameter)       the parameter matrix
    /run_status        (run)                  0 ok, 1 NaN/inf (stopped), -1 not run yet
    /<output>          (run, time)            one dataset per saved variable, chunked, gzip
    /summary/percentile (percentile)          5, 25, 50, 75, 95
    /summary/<output>  (percentile, time)     percentiles over the runs that finished
    /summary/target    (target)               target ids (default: the output's name)
    /summary/p_met     (target)               share of all runs meeting the target
    /summary/n_met     (target)               runs meeting the target
    /summary/target_element, _kind, _first, _last, _worst_year, _definition (target)
                                              the output measured, the kind, the year or
                                              window, every_year's worst year, the JSON
    /summary/target_value (target, percentile) the measured value over finished runs
    attributes: versions, model hash, scenario text, seed entropy, method, grid, ...

The file is written as ``<name>.partial`` and renamed to its final name only when complete,
so an interrupted run never leaves a half-written file under the final name; ``resume``
continues the partial file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .errors import Sim315Error
from .kernels.stats import row_percentiles, transpose_into

PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
RESERVED = ("time", "run", "parameter", "parameter_values", "run_status", "summary")
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
_SUMMARY_BLOCK = 65536


@dataclass(frozen=True)
class OutputInfo:
    """What the file records about a saved variable."""

    name: str
    units: str
    doc: str
    kind: str
    target: dict | None = None


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _disk_error(path: Path, exc: OSError) -> Sim315Error:
    text = str(exc)
    if getattr(exc, "errno", None) == errno.ENOSPC or "No space left" in text:
        return Sim315Error(
            str(path),
            "output",
            "no space left on the device",
            "free space, then continue with --resume",
        )
    return Sim315Error(str(path), "output", f"cannot write ({text.splitlines()[0]})")


class ResultWriter:
    """Writes one ensemble's results; see the module docstring for the layout.

    Use :meth:`create` or :meth:`resume`, then :meth:`write` chunks in run order, then
    :meth:`finish`. :meth:`close` (on errors or interruption) keeps the partial file.
    """

    def __init__(self, path: Path, h5: h5py.File, runs_done: int):
        self.path = path
        self.partial = partial_path(path)
        self.h5 = h5
        self.runs_done = runs_done
        #: Seconds spent in :meth:`write` (in the writer thread, overlapping the kernel).
        self.write_seconds = 0.0

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: Path,
        *,
        runs: int,
        times: np.ndarray,
        time_units: str,
        outputs: list[OutputInfo],
        parameter_names: list[str],
        attrs: dict,
        rows_per_chunk: int,
        compression: str = "none",
    ) -> ResultWriter:
        path = Path(path)
        partial = partial_path(path)
        folder = path.parent
        if not folder.is_dir():
            raise Sim315Error(str(path), "output", "its folder does not exist", "create it first")
        if path.is_dir():
            raise Sim315Error(str(path), "output", "is a folder", "name a file, e.g. out.h5")
        try:
            h5 = h5py.File(partial, "w")
        except OSError as exc:
            if not os.access(folder, os.W_OK):
                raise Sim315Error(
                    str(path), "output", "the folder is not writable", "choose another path"
                ) from None
            raise _disk_error(path, exc) from None
        try:
            cls._layout(
                h5,
                runs,
                times,
                time_units,
                outputs,
                parameter_names,
                attrs,
                rows_per_chunk,
                COMPRESSION[compression],
            )
            h5.attrs["compression"] = compression
            h5.flush()
        except OSError as exc:
            h5.close()
            raise _disk_error(path, exc) from None
        return cls(path, h5, 0)

    @staticmethod
    def _layout(h5, runs, times, time_units, outputs, parameter_names, attrs, rows, comp):
        n_t = len(times)
        t = h5.create_dataset("time", data=np.asarray(times, dtype=np.float64))
        t.attrs["units"] = time_units
        t.make_scale("time")
        r = h5.create_dataset("run", data=np.arange(runs, dtype=np.int64))
        r.attrs["long_name"] = "run number"
        r.make_scale("run")
        names = np.array(parameter_names, dtype=h5py.string_dtype())
        pn = h5.create_dataset("parameter", data=names)
        pn.make_scale("parameter")
        chunk_rows = max(1, min(runs, rows, max(1, (1 << 20) // (8 * max(1, n_t)))))
        pv = h5.create_dataset(
            "parameter_values",
            shape=(runs, len(parameter_names)),
            dtype=np.float64,
            chunks=(chunk_rows, max(1, len(parameter_names))),
            **comp,
        )
        pv.dims[0].attach_scale(r)
        pv.dims[1].attach_scale(pn)
        st = h5.create_dataset("run_status", shape=(runs,), dtype=np.int8, fillvalue=STATUS_NOT_RUN)
        st.attrs["flag_meanings"] = "not_run ok nonfinite"
        st.attrs["flag_values"] = np.array([-1, 0, 1], dtype=np.int8)
        st.dims[0].attach_scale(r)
        for info in outputs:
            ds = h5.create_dataset(
                info.name,
                shape=(runs, n_t),
                dtype=np.float64,
                chunks=(chunk_rows, n_t),
                fillvalue=np.nan,
                **comp,
            )
            ds.attrs["units"] = info.units
            ds.attrs["long_name"] = info.doc or info.name
            ds.attrs["kind"] = info.kind
            if info.target:
                ds.attrs["target"] = json.dumps(info.target)
            ds.dims[0].attach_scale(r)
            ds.dims[1].attach_scale(t)
        for k, v in attrs.items():
            h5.attrs[k] = v
        h5.attrs["outputs"] = json.dumps([o.name for o in outputs])
        h5.attrs["runs"] = runs
        h5.attrs["runs_done"] = 0
        h5.attrs["complete"] = False

    @classmethod
    def resume(cls, path: Path, fingerprint: str) -> ResultWriter:
        """Reopen the partial file of an interrupted run with the same settings."""
        path = Path(path)
        partial = partial_path(path)
        if not partial.is_file():
            raise Sim315Error(
                str(path),
                "--resume",
                f"no partial file {partial.name} to continue",
                "run without --resume",
            )
        try:
            h5 = h5py.File(partial, "r+")
        except OSError as exc:
            raise Sim315Error(
                str(partial),
                "--resume",
                f"cannot open the partial file ({exc})",
                "delete it and run again without --resume",
            ) from None
        if h5.attrs.get("fingerprint") != fingerprint:
            h5.close()
            raise Sim315Error(
                str(partial),
                "--resume",
                "the partial file was made with another scenario, model or settings",
                "delete it, or run the same command that made it",
            )
        return cls(path, h5, int(h5.attrs["runs_done"]))

    # -- writing -----------------------------------------------------------------------
    @property
    def output_names(self) -> list[str]:
        return json.loads(self.h5.attrs["outputs"])

    def write(self, a: int, P: np.ndarray, values: np.ndarray, status: np.ndarray) -> None:
        """Store runs ``[a, a + len(P))``: parameters, saved values, statuses."""
        b = a + P.shape[0]
        t0 = time.perf_counter()
        try:
            self.h5["parameter_values"][a:b] = P
            for m, name in enumerate(self.output_names):
                self.h5[name][a:b] = values[:, :, m]
            self.h5["run_status"][a:b] = status
            self.h5.attrs["runs_done"] = b
            self.h5.flush()
        except OSError as exc:
            raise _disk_error(self.path, exc) from None
        self.runs_done = b
        self.write_seconds += time.perf_counter() - t0

    def finish(self, summary_attrs: dict | None = None) -> Path:
        """Write the summary group, close, and rename to the final name."""
        try:
            write_summary(self.h5)
            for k, v in (summary_attrs or {}).items():
                self.h5.attrs[k] = v
            self.h5.attrs["complete"] = True
            self.h5.close()
        except OSError as exc:
            self.close()
            raise _disk_error(self.path, exc) from None
        os.replace(self.partial, self.path)
        return self.path

    def close(self) -> None:
        """Close, keeping the partial file for ``--resume``."""
        with contextlib.suppress(Exception):  # closing after a failure must not mask it
            self.h5.close()


def write_summary(h5: h5py.File) -> None:
    """Percentiles over finished runs per output and time; P(target met) per target."""
    if "summary" in h5:
        del h5["summary"]
    g = h5.create_group("summary")
    pct = g.create_dataset("percentile", data=np.array(PERCENTILES))
    pct.make_scale("percentile")
    times = h5["time"][:]
    tg = g.create_dataset("time", data=times)  # the group is readable on its own
    tg.attrs["units"] = h5["time"].attrs["units"]
    tg.make_scale("time")
    status = h5["run_status"][:]
    ok = status == 0
    runs = status.shape[0]
    rows: list[dict] = []
    n_ok = int(np.count_nonzero(ok))
    buf = np.empty((times.size, n_ok))  # (time, run): each row contiguous for selection
    quantiles = np.array(PERCENTILES) / 100.0
    for name in json.loads(h5.attrs["outputs"]):
        src = h5[name]
        filled = 0
        for a in range(0, runs, _SUMMARY_BLOCK):
            block = src[a : a + _SUMMARY_BLOCK]
            keep = ok[a : a + _SUMMARY_BLOCK]
            if not keep.all():
                block = block[keep]
            transpose_into(block, buf, filled)
            filled += block.shape[0]
        if n_ok:
            res = np.empty((times.size, len(PERCENTILES)))
            row_percentiles(buf, quantiles, res)
            q = res.T
        else:
            q = np.full((len(PERCENTILES), times.size), np.nan)
        ds = g.create_dataset(name, data=q)
        ds.attrs["units"] = h5[name].attrs["units"]
        ds.dims[0].attach_scale(pct)
        ds.dims[1].attach_scale(tg)
        raw = h5[name].attrs.get("target")
        if raw:
            rows.append(_target_summary(h5, name, raw, times, ok, runs))
    _write_target_summary(g, pct, rows)


def _target_summary(h5: h5py.File, name: str, raw, times, ok, runs: int) -> dict:
    """One target measured on every run of the output ``name``."""
    from . import targets as tg

    tgt = tg.load(raw)
    cols = sorted({tg.time_index(times, y) for y in tgt.years_needed()} - {None})
    x = h5[name][:, cols] if cols else np.empty((runs, 0))
    m = tg.measure(tgt, x, times[cols])
    met = int(np.count_nonzero(m.met & ok))
    finite = m.value[ok][np.isfinite(m.value[ok])]
    q = np.percentile(finite, PERCENTILES) if finite.size else np.full(len(PERCENTILES), np.nan)
    first, last = (tgt.year, tgt.year) if tgt.kind == "level" else tgt.window
    tid = tgt.id or name
    return {
        "id": tid,
        "element": name,
        "kind": tgt.kind,
        "first": first,
        "last": last,
        "worst": tg.worst_year(tgt, m, ok),
        "q": q,
        "n_met": met,
        "p_met": met / runs if runs else np.nan,
        "definition": json.dumps({**tgt.model_dump(mode="json"), "id": tid}),
    }


def _write_target_summary(g: h5py.Group, pct, rows: list[dict]) -> None:
    text = h5py.string_dtype()
    tn = g.create_dataset("target", data=np.array([r["id"] for r in rows], dtype=text))
    tn.make_scale("target")

    def put(key, data, long_name, dtype=None):
        ds = g.create_dataset(key, data=np.array(data, dtype=dtype))
        ds.attrs["long_name"] = long_name
        ds.dims[0].attach_scale(tn)
        return ds

    put(
        "p_met",
        [r["p_met"] for r in rows],
        "share of all runs that meet the target (failed runs do not)",
        np.float64,
    )
    put("n_met", [r["n_met"] for r in rows], "runs that meet the target", np.int64)
    put("target_element", [r["element"] for r in rows], "the output the target measures", text)
    put("target_kind", [r["kind"] for r in rows], "level, every_year, cumulative or growth", text)
    put(
        "target_first",
        [r["first"] for r in rows],
        "first year measured (level: the year)",
        np.float64,
    )
    put(
        "target_last", [r["last"] for r in rows], "last year measured (level: the year)", np.float64
    )
    put(
        "target_worst_year",
        [r["worst"] for r in rows],
        "every_year: the year with the worst median addition (else NaN)",
        np.float64,
    )
    put("target_definition", [r["definition"] for r in rows], "the target as JSON", text)
    q = np.array([r["q"] for r in rows], dtype=np.float64).reshape(len(rows), len(PERCENTILES))
    ds = g.create_dataset("target_value", data=q)
    ds.attrs["long_name"] = (
        "percentiles over finished runs of the measured value (level: the value; every_year: "
        "the run's worst addition; cumulative: the addition; growth: the average growth, a "
        "fraction a year); counts rounded"
    )
    ds.dims[0].attach_scale(tn)
    ds.dims[1].attach_scale(pct)
