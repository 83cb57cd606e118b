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
