"""The benchmarks compare the generated kernel with a hand-written one; this keeps that
comparison honest: both must give the same numbers for the same inputs."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from suite import handwritten


def test_handwritten_kernel_matches_generated(ladder):
    handwritten.check_layout(ladder)
    rng = np.random.default_rng(1)
    P = ladder.parameters(50) * rng.uniform(0.8, 1.2, size=(50, len(ladder.defaults)))
    ours = ladder.simulate(P, outputs=handwritten.OUTPUTS, threads=1).values
    theirs = handwritten.simulate(ladder, P, serial=True)
    np.testing.assert_array_equal(ours, theirs)


def test_block_kernel_experiment_is_bit_identical(ladder):
    rng = np.random.default_rng(2)
    P = ladder.parameters(37) * rng.uniform(0.8, 1.2, size=(37, len(ladder.defaults)))
    np.testing.assert_array_equal(
        handwritten.simulate_block(ladder, P), handwritten.simulate(ladder, P, serial=True)
    )


def test_the_per_thread_breakdown_names_the_runs_threads():
    """``python -m suite.bench_run ... --per-thread``: one run's CPU by kind of thread, the
    figure benchmarks/README.md quotes for where the end to end's time goes."""
    from suite.bench_run import SCENARIO, per_thread

    wall, kinds = per_thread(200_000, SCENARIO)
    assert wall > 0
    assert {"MainThread", "sim315-writer", "sim315-feed"} <= set(kinds)
    assert "poller" not in kinds and all(c >= 0 for c in kinds.values())
    assert sum(kinds.values()) > 0.5 * wall  # the kernel alone keeps a core busy


def test_the_breakdown_gives_each_repeats_ratio_and_their_median():
    """Each repeat's end to end over its own kernel alone, measured back to back: the
    figure that a machine whose speed drifts leaves least disturbed."""
    from suite.bench_run import SCENARIO, breakdown

    res = breakdown(20_000, SCENARIO, 3)
    each = res["ratio_each"]
    assert len(each) == 3 and all(r > 0 for r in each)
    assert abs(res["ratio_median"] - np.median(each)) <= 1e-3  # each rounded to 3 places
    assert min(each) <= res["ratio_median"] <= max(each)
    busy = res["busy_each"]  # the process's CPU over cores x wall: a share of the cores
    assert len(busy) == 3 and all(0.0 < b <= 1.2 for b in busy)  # 10 ms CPU ticks
    assert min(busy) <= res["busy_median"] <= max(busy)
