"""Compile time, cold (empty cache) and cached (a second process), as users feel it:
a fresh interpreter that loads the ladder model and runs it once."""

import os
import subprocess
import sys
import tempfile
import time

from .common import LADDER

_CODE = f"import sim315\nm = sim315.load_model({str(LADDER)!r})\nm.warm_up()\n"


def _process_seconds(cache_dir: str) -> float:
    env = dict(os.environ, SIM315_CACHE_DIR=cache_dir)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CODE], env=env, check=True)
    return time.perf_counter() - t0


class Compile:
    timeout = 300
    number = 1
    repeat = 1

    def track_cold_seconds(self):
        """Load and run with an empty kernel cache: code generation plus Numba compilation."""
        with tempfile.TemporaryDirectory() as d:
            return _process_seconds(d)

    track_cold_seconds.unit = "s"

    def track_cached_seconds(self):
        """The same in a second process: the kernel loads from the cache."""
        with tempfile.TemporaryDirectory() as d:
            _process_seconds(d)
            return _process_seconds(d)

    track_cached_seconds.unit = "s"

    def track_import_only_seconds(self):
        """Reference for the two above: a process that imports sim315 and numba only."""
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sim315, numba"], check=True)
        return time.perf_counter() - t0

    track_import_only_seconds.unit = "s"
