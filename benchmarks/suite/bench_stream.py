"""The work beside the kernel, per chunk of the plan scenario (issue 15), each against the
path it replaced, in the same process: the chunk's targets measured in one Numba pass
(``results/measures.py``) against ``measure()`` target by target; and a chunk's rows written
straight to their HDF5 chunks (``results/rows.py``, ``H5Dwrite_chunk``) against the ordinary
low-level write, into the same datasets (the plan's 79 varied parameter columns and its 34
``target_runs`` datasets, uncompressed, as ``sim315 run`` makes them at 10^6 runs).

Also: a chunk counted into the summary's histograms by column, where the block-of-runs kernel
writes it, against gathered from rows of runs (``ColumnCounting``); and one call of 10^5
plan runs written by rows of runs against by column (``LargeCallLayout``).

``python -m suite.bench_stream`` prints every ratio (below 1: the new path is faster).
"""

import tempfile
from pathlib import Path

import h5py
import numpy as np

from .common import ROOT, best_of, interleaved_ratio

PLAN = ROOT / "scenarios" / "plan.yaml"
#: The plan's target_runs widths (time columns per target) at 10^6 runs, and its varied
#: parameter columns.
WIDTHS = [2, 2, 6, 6, 6, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 2, 1, 2, 2, 1, 1, 2, 6]
WIDTHS += [1, 1, 1, 2, 1, 2, 2, 2, 79]
CHUNK = 2492  # the plan's runs a chunk at 10^6 runs
CHUNKS = 16


class _Versus:
    """A new path (``new``) timed against the one it replaced (``old``) on the same data,
    and their ratio, interleaved (below 1: the new path is faster)."""

    timeout = 300

    def time_new(self):
        self.new()

    def time_old(self):
        self.old()

    def track_ratio(self):
        return interleaved_ratio(self.new, self.old)

    track_ratio.unit = "ratio"


class TargetMeasuring(_Versus):
    """One chunk of the plan's runs (2,492): its 34 targets measured in one pass (new)
    against ``measure()`` target by target (old)."""

    def setup(self):
        from sim315.ensembles.executors import plan_call
        from sim315.ensembles.runner import output_infos, plan_run
        from sim315.results.summary import StreamingSummary

        plan = plan_run(PLAN, runs=10**6)
        plan.model.warm_up()
        plan.start.model.warm_up()
        self.values = plan.model.run_call(plan_call(plan), plan.rows(0, CHUNK)).values
        self.summary = StreamingSummary(plan.runs, plan.grid.times(), output_infos(plan))
        self.new()  # compiled

    def new(self):
        self.summary.measures.of(self.values)

    def old(self):
        from sim315.language import targets as tg

        times = self.summary.times
        for m, target, cols, _ in self.summary.targets:
            tg.measure(target, self.values[:, cols, m], times[cols])


class ChunkWriting(_Versus):
    """16 chunks of 2,492 runs into the plan's 35 per-run datasets, uncompressed: straight
    to their HDF5 chunks (new) against the ordinary low-level write (old)."""

    def setup(self):
        from sim315.results import rows

        self.dir = tempfile.TemporaryDirectory()
        self.h5 = h5py.File(Path(self.dir.name) / "w.h5", "w", rdcc_nbytes=0)
        rng = np.random.default_rng(5)
        self.sets = []
        for i, w in enumerate(WIDTHS):
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)  # as results/layout.py makes them
            dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
            dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
            shape = (CHUNK * CHUNKS, w)
            ds = self.h5.create_dataset(f"d{i}", shape, np.float64, chunks=(CHUNK, w), dcpl=dcpl)
            self.sets.append((ds, rng.random((CHUNK, w))))
        self.direct = [(rows.Sink(ds), x) for ds, x in self.sets]
        self.plain = [(rows.Sink(ds), x) for ds, x in self.sets]
        for sink, _ in self.plain:
            sink.rows = 0  # the ordinary low-level write
        self.put = rows.put

    def teardown(self):
        self.h5.close()
        self.dir.cleanup()

    def _write(self, pairs):
        for k in range(CHUNKS):
            for sink, x in pairs:
                self.put(sink, k * CHUNK, x)

    def new(self):
        self._write(self.direct)

    def old(self):
        self._write(self.plain)


class ColumnCounting(_Versus):
    """One chunk of the plan's runs (2,492 x 1,683 values), counted into the streaming
    summary's histograms on one thread where the block-of-runs kernel writes it, by column
    (``hist_add_columns``, new), against gathered column by column from rows of runs
    (``hist_add``, old). The 16-bit counts wrap over the repeats, as they never do in a run
    (which adds them to the totals first): the work is the same."""

    def setup(self):
        from sim315.kernels.histograms import hist_add, hist_add_columns

        from sim315.ensembles.executors import plan_call
        from sim315.ensembles.runner import plan_run
        from sim315.results.columns import chunk_columns

        plan = plan_run(PLAN, runs=10**6)
        plan.model.warm_up()
        plan.start.model.warm_up()
        P = plan.start.apply(plan.rows(0, CHUNK), 0, plan.sampler)
        values = plan.model.run_call(plan_call(plan), P).values
        Z = chunk_columns(values)
        assert Z is not None  # the kernel's layout
        X = np.ascontiguousarray(values).reshape(CHUNK, -1)
        lo, hi = X.min(axis=0), X.max(axis=0)
        scale = 4096 / np.where(hi > lo, hi - lo, 1.0)
        ok = np.ones(CHUNK, np.bool_)
        counts = np.zeros((X.shape[1], 4098), np.uint16)
        stats = np.tile(np.array([0.0, np.inf, -np.inf, 0.0, 0.0, 1.0]), (X.shape[1], 1))
        args = (lo, scale, counts, stats, True)
        self.new = lambda: hist_add_columns(Z, 0, ok, *args)
        self.old = lambda: hist_add(X, ok, *args)
        self.new(), self.old()  # compiled


class LargeCallLayout(_Versus):
    """The plan's block-of-runs kernel on 10^5 runs in one call (1.3 GB of outputs, as one
    ``simulate`` of that many runs): by rows of runs (new: what a call past
    ``COLUMN_BYTES`` writes) against by column (old), each into a fresh array."""

    timeout = 600

    def setup(self):
        from sim315.ensembles import kernelcall
        from sim315.ensembles.executors import plan_call
        from sim315.ensembles.runner import plan_run

        plan = plan_run(PLAN, runs=10**6)
        call = plan_call(plan)
        P = plan.start.apply(plan.rows(0, 10**5), 0, plan.sampler)
        model = plan.model
        limit = kernelcall.COLUMN_BYTES

        def by_column():
            kernelcall.COLUMN_BYTES = 1 << 62
            try:
                model.run_call(call, P)
            finally:
                kernelcall.COLUMN_BYTES = limit

        assert not call.writes_by_column(10**5)
        self.new = lambda: model.run_call(call, P)
        self.old = by_column
        self.new(), self.old()  # both layouts compiled


if __name__ == "__main__":  # pragma: no cover
    for bench, what in (
        (TargetMeasuring(), "targets measured"),
        (ChunkWriting(), "writes"),
        (ColumnCounting(), "a chunk counted by column"),
        (LargeCallLayout(), "10^5 runs in one call by rows"),
    ):
        bench.setup()
        ratio = bench.track_ratio()
        new, old = best_of(bench.new), best_of(bench.old)
        print(f"{what}: new {new * 1e3:.2f} ms, old {old * 1e3:.2f} ms, ratio {ratio:.2f}")
        if hasattr(bench, "teardown"):
            bench.teardown()
