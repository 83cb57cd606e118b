"""The one seed policy: a seed becomes a 64-bit key for the counter-based generator.

``seed`` may be an int, a :class:`numpy.random.SeedSequence` or None (fresh entropy from the
operating system, as numpy does). The key is derived through ``SeedSequence``, so nearby
seeds give unrelated streams; the entropy is returned so that outputs can record it and a run
can be repeated exactly. Run *i*'s numbers are a function of (key, i, step, call site) only.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=256)
def _int_seed_key(seed: int) -> tuple[np.uint64, int]:
    """:func:`seed_key` of an integer seed, remembered (deriving it costs 5 us)."""
    seq = np.random.SeedSequence(seed)
    return np.uint64(seq.generate_state(1, dtype=np.uint64)[0]), int(seq.entropy)


def seed_key(seed: int | np.random.SeedSequence | None) -> tuple[np.uint64, int]:
    """The generator key and the entropy it came from."""
    if isinstance(seed, np.random.SeedSequence):
        seq = seed
    elif seed is None:
        seq = np.random.SeedSequence()
    elif isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0:
        return _int_seed_key(int(seed))
    else:
        raise TypeError(f"seed must be a non-negative int, a SeedSequence or None, not {seed!r}")
    key = seq.generate_state(1, dtype=np.uint64)[0]
    return np.uint64(key), int(seq.entropy)
