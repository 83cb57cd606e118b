"""Helpers shared by the benchmarks: the ladder model, its parameter matrices, timing."""

import time
from pathlib import Path

import numpy as np

from . import handwritten

ROOT = Path(__file__).resolve().parents[2]
LADDER = ROOT / "tests" / "models" / "ladder" / "model.yaml"

OUTPUTS = handwritten.OUTPUTS


def parameter_matrix(model, runs: int, seed: int = 0) -> np.ndarray:
    """Defaults scaled by +-10 % per run, so runs differ as in a Monte Carlo ensemble."""
    rng = np.random.default_rng(seed)
    return model.parameters(runs) * rng.uniform(0.9, 1.1, size=(runs, len(model.defaults)))


def best_of(fn, repeats: int = 7) -> float:
    """Least wall time of ``repeats`` calls (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def interleaved_ratio(fn_a, fn_b, repeats: int = 9) -> float:
    """best(a) / best(b), alternating a and b so both see the same machine load."""
    best_a = best_b = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn_a()
        best_a = min(best_a, time.perf_counter() - t0)
        t0 = time.perf_counter()
        fn_b()
        best_b = min(best_b, time.perf_counter() - t0)
    return best_a / best_b
