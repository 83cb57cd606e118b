"""A run's output buffers are reused from chunk to chunk once nothing else holds them
(sim315/ensembles/executors.py ``ChunkBuffers``): never one still referenced, and the
numbers are those of fresh buffers."""

import time
from pathlib import Path

import yaml

from sim315.ensembles.executors import ChunkBuffers, LocalExecutor, plan_call
from sim315.ensembles.runner import execute, plan_run
from sim315.results import sketch
from sim315.results.summary import StreamingSummary

ROOT = Path(__file__).resolve().parents[1]


def _plan(tmp_path, runs=4000, chunk=500):
    sc = yaml.safe_load((ROOT / "benchmarks" / "scenarios" / "ladder-e2e.yaml").read_text())
    sc["model"] = str(ROOT / "tests" / "models" / "ladder" / "model.yaml")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(sc))
    return plan_run(tmp_path / "s.yaml", runs=runs, chunk=chunk)


def _fresh(plan, a):
    P = plan.rows(a, min(plan.runs, a + plan.chunk))
    return plan.model.run_call(plan_call(plan), P, run_offset=a)


def test_released_buffers_are_reused_with_the_numbers_of_fresh_ones(tmp_path):
    plan = _plan(tmp_path)
    seen = set()
    for a, _, values, status in LocalExecutor().compute(plan, list(range(0, 4000, 500))):
        ref = _fresh(plan, a)
        assert values.tobytes() == ref.values.tobytes()
        assert status.tobytes() == ref.status.tobytes()
        seen.add(id(values))
        del values, status
    assert len(seen) < 8  # reused


def test_a_buffer_still_held_is_never_handed_out(tmp_path):
    plan = _plan(tmp_path)
    held, views = [], []
    for a, _, values, _ in LocalExecutor().compute(plan, list(range(0, 4000, 500))):
        held.append((a, values.copy()))
        views.append(values[:1])  # a view keeps its buffer
    assert len({id(v.base) for v in views}) == 8
    for (a, copy), view in zip(held, views, strict=True):
        assert view.tobytes() == copy[:1].tobytes()  # not overwritten by a later chunk
        assert copy.tobytes() == _fresh(plan, a).values.tobytes()


def test_a_new_shape_gets_a_new_buffer(tmp_path):
    call = plan_call(_plan(tmp_path))
    pool = ChunkBuffers(call)
    first = pool.take(500)
    first_id = id(first[0])
    del first
    assert id(pool.take(500)[0]) == first_id
    assert pool.take(300)[0].shape[0] == 300


def test_a_run_reuses_its_buffers_while_the_summary_lags(tmp_path, monkeypatch):
    """With the summary slow (every chunk it counts waits), the kernel runs up to
    ``WRITE_AHEAD`` chunks ahead of it: ``KEEP`` buffers cover those, so once the summary's
    first runs are calibrated no chunk takes a fresh buffer (33 MB of first touches a chunk
    of the plan)."""
    monkeypatch.setattr(sketch, "PREFIX_BYTES", 0)  # streamed after its first 2,048 runs
    fed = StreamingSummary.feed_values

    def slow(self, *args):
        time.sleep(0.02)
        return fed(self, *args)

    monkeypatch.setattr(StreamingSummary, "feed_values", slow)
    fresh = []
    take = ChunkBuffers.take

    def counted(self, runs):
        before = len(self.kept)
        pair = take(self, runs)
        fresh.append(all(pair[0] is not out for _, out, _ in self.kept[:before]))
        return pair

    monkeypatch.setattr(ChunkBuffers, "take", counted)
    plan = _plan(tmp_path, runs=12000, chunk=500)
    execute(plan, tmp_path / "out.h5", progress=False)
    assert len(fresh) == 24
    assert not any(fresh[8:]), fresh
