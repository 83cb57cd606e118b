"""The summary group of a result file: percentiles over finished runs per output and time,
and each target's measure and P(met), computed a block of runs at a time."""

from __future__ import annotations

import json

import h5py
import numpy as np

from ..kernels.stats import row_percentiles, transpose_into
from .layout import PERCENTILES, SUMMARY_BLOCK


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
        for a in range(0, runs, SUMMARY_BLOCK):
            block = src[a : a + SUMMARY_BLOCK]
            keep = ok[a : a + SUMMARY_BLOCK]
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
    from ..language import targets as tg
    from ..schemas.target import Target

    tgt = Target.from_json(raw)
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
        "definition": tgt.to_json(tid),
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
