"""The summary group of a result file, computed while the chunks stream: percentiles over
finished runs per output and time, and each target's measure and P(met).

:class:`StreamingSummary` is fed every chunk of runs (in run order) as it is computed; it
never reads runs back from the file. Its percentiles are exact up to a few thousand runs
and otherwise carry an error bound of at most 1e-3 of the 5-95 % band (see
:mod:`.sketch`); the bound is stored with each summary dataset. P(met) and run counts are
exact integers. The result depends on the runs only, not on chunks or threads.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

from .columns import chunk_columns
from .layout import PERCENTILES, OutputInfo
from .measures import TargetMeasures
from .sketch import BINS, MAX_ERROR, ColumnSketch

QUANTILES = np.array(PERCENTILES) / 100.0


class StreamingSummary:
    """Percentiles of ``outputs`` at ``times`` and each output's target, over ``runs`` runs
    fed chunk by chunk (:meth:`feed`); :meth:`write` makes the summary group."""

    def __init__(self, runs: int, times: np.ndarray, outputs: list[OutputInfo]):
        from ..language import targets as tg
        from ..schemas.target import Target

        self.runs = int(runs)
        self.times = np.asarray(times, dtype=np.float64)
        self.outputs = list(outputs)
        self.targets = []  # (output index, Target, time columns, first extra column)
        extra = 0
        for m, info in enumerate(self.outputs):
            if info.target:
                tgt = Target.from_json(info.target)
                cols = sorted({tg.time_index(self.times, y) for y in tgt.years_needed()} - {None})
                self.targets.append((m, tgt, cols, extra))
                extra += 1 + (len(cols) - 1 if tgt.kind == "every_year" else 0)
        cols = self.times.size * len(self.outputs)
        self.values = ColumnSketch(runs, cols, QUANTILES, finite=True)  # finished runs
        # the targets' few columns on the calling thread (the writer's): split, half of them
        # queued on the summary's pool behind the outputs' half, and the writer waited
        self.extra = ColumnSketch(runs, extra, QUANTILES, threads=1)
        self.measures = TargetMeasures(self.targets, extra)
        self.n_met = np.zeros(len(self.targets), np.int64)
        self.n_failed = 0

    def feed(self, a: int, values: np.ndarray, status: np.ndarray, *, count=True) -> None:
        """Runs ``a .. a + len(values)``: ``values`` (runs, times, outputs), ``status``."""
        self.feed_values(a, values, status)
        self.feed_targets(a, values, status, count=count)

    def feed_values(self, a: int, values: np.ndarray, status: np.ndarray) -> None:
        """The outputs' percentiles' part of :meth:`feed`. It and :meth:`feed_targets` touch
        nothing in common: two threads may run them at once (each in run order)."""
        ok = np.asarray(status) == 0
        Z = chunk_columns(values)
        if Z is None:
            self.values.feed(a, values.reshape(values.shape[0], -1), ok)
        else:  # the block-of-runs kernel's layout: counted by column, where it lies
            self.values.feed(a, Z[:, : values.shape[0]].T, ok, Z)

    def feed_targets(self, a: int, values: np.ndarray, status: np.ndarray, *, count=True):
        """The targets' part of :meth:`feed`: each run's measures, P(met), failed runs."""
        ok = np.asarray(status) == 0
        if self.targets:
            E, met = self.measures.of(values)
            if count:
                self.n_met += np.count_nonzero(met & ok[:, None], axis=0)
            self.extra.feed(a, E, ok)
        if count:
            self.n_failed += int(np.count_nonzero(status > 0))

    @property
    def collecting(self) -> bool:
        """Whether an exact pass is under way (runs fed now are not counted again)."""
        return self.values.collecting

    def pending(self) -> bool:
        """Whether some percentile needs an exact pass (see :meth:`exact_pass`)."""
        return bool(self.values.pending().size or self.extra.pending().size)

    def exact_pass(self) -> None:
        """Start a pass over the runs again (feed them with ``count=False``) that makes
        pending percentiles exact, as many columns as fit the pass's memory."""
        for sk in (self.values, self.extra):
            cols = sk.pending()[: sk.pass_size()]
            sk.exact_pass(cols)

    def end_pass(self) -> None:
        for sk in (self.values, self.extra):
            sk.end_pass()

    def method(self) -> str:
        if not self.values.streaming:
            return "exact"
        return (
            f"streamed: {BINS} bins per output and time, calibrated on runs 0-"
            f"{self.values.prefix - 1}; error bound per dataset (attribute error_bound), at "
            f"most {MAX_ERROR:g} of the 5-95 % band"
        )

    def write(self, h5: h5py.File) -> None:
        """The summary group (replaced if there)."""
        if "summary" in h5:
            del h5["summary"]
        g = h5.create_group("summary")
        g.attrs["percentile_method"] = self.method()
        pct = g.create_dataset("percentile", data=np.array(PERCENTILES))
        pct.make_scale("percentile")
        tg = g.create_dataset("time", data=self.times)  # the group is readable on its own
        tg.attrs["units"] = h5["time"].attrs["units"]
        tg.make_scale("time")
        v, e = self.values.result()
        n_t, n_out = self.times.size, len(self.outputs)
        v = v.reshape(n_t, n_out, -1)
        e = e.reshape(n_t, n_out, -1)
        for m, info in enumerate(self.outputs):
            ds = g.create_dataset(info.name, data=np.ascontiguousarray(v[:, m, :].T))
            ds.attrs["units"] = info.units
            ds.attrs["long_name"] = info.doc or info.name
            ds.attrs["kind"] = info.kind
            if info.target:
                ds.attrs["target"] = json.dumps(info.target)
            ds.attrs["error_bound"] = e[:, m, :].max(axis=1)
            ds.dims[0].attach_scale(pct)
            ds.dims[1].attach_scale(tg)
        _write_target_summary(g, pct, self._target_rows())

    def _target_rows(self) -> list[dict]:
        from ..language import targets as tg

        v, e = self.extra.result()
        rows = []
        for k, (m, tgt, cols, j) in enumerate(self.targets):
            name = self.outputs[m].name
            worst = float("nan")
            if tgt.kind == "every_year" and self.runs - self.n_failed > 0:
                med = v[j + 1 : j + len(cols), 2]
                years = np.arange(int(tgt.window[0]), int(tgt.window[1]) + 1, dtype=float)
                worst = float(years[int(np.argmax(tg.badness(tgt, med)))])
            first, last = (tgt.year, tgt.year) if tgt.kind == "level" else tgt.window
            tid = tgt.id or name
            rows.append(
                {
                    "id": tid,
                    "element": name,
                    "kind": tgt.kind,
                    "first": first,
                    "last": last,
                    "worst": worst,
                    "q": v[j],
                    "bound": float(e[j].max()),
                    "n_met": int(self.n_met[k]),
                    "p_met": self.n_met[k] / self.runs if self.runs else np.nan,
                    "definition": tgt.to_json(tid),
                }
            )
        return rows


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
    ds.attrs["error_bound"] = np.array([r["bound"] for r in rows], dtype=np.float64)
    ds.dims[0].attach_scale(tn)
    ds.dims[1].attach_scale(pct)
