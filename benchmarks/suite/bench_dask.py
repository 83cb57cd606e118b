"""Chunks per second through the Dask executor on a LocalCluster (2 worker processes, one
thread each) against the local executor: the overhead a chunk pays to travel."""

import tempfile
import time
from pathlib import Path

from sim315.ensembles.executors import DaskExecutor, LocalExecutor
from sim315.ensembles.runner import execute, plan_run

from .common import ROOT

SCENARIO = ROOT / "benchmarks" / "scenarios" / "ladder-e2e.yaml"
RUNS, CHUNK = 20_000, 500  # 40 chunks


class DaskOverhead:
    timeout = 600
    number = 1
    repeat = 1

    def setup(self):
        import distributed

        self.cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        self.client = distributed.Client(self.cluster)
        self.tmp = tempfile.TemporaryDirectory()
        self._run(DaskExecutor(client=self.client))  # workers load the kernel once

    def teardown(self):
        self.client.close()
        self.cluster.close()
        self.tmp.cleanup()

    def _run(self, executor) -> float:
        plan = plan_run(SCENARIO, runs=RUNS, chunk=CHUNK)
        plan.model.warm_up()
        out = Path(self.tmp.name) / f"o{time.perf_counter_ns()}.h5"
        t0 = time.perf_counter()
        execute(plan, out, progress=False, executor=executor)
        seconds = time.perf_counter() - t0
        out.unlink()
        return (RUNS // CHUNK) / seconds

    def track_chunks_per_second_dask(self):
        return self._run(DaskExecutor(client=self.client))

    track_chunks_per_second_dask.unit = "chunks/s"

    def track_chunks_per_second_local(self):
        return self._run(LocalExecutor())

    track_chunks_per_second_local.unit = "chunks/s"
