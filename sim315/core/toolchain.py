"""The toolchain a run's numbers come from: library versions and the machine.

On one machine and toolchain sim315's numbers are the same bit for bit whatever the threads,
chunks or executor. Another CPU or library build may round a last bit differently: Numba
compiles for the host CPU, numpy and BLAS pick vectorised code per CPU, libm has per-CPU
variants. A result file records what its numbers came from (``result_attrs``), and
``sim315 replay`` names what differs when a run does not come out the same.
"""

from __future__ import annotations

import functools
import platform
import sys

#: What may change the last bit of a number: compared by ``sim315 replay``.
DECIDING = ("cpu", "numba_version", "numpy_version", "scipy_version", "python_version", "libc")


def toolchain() -> dict[str, str]:
    """This process's library versions and machine (imports numba, scipy and h5py)."""
    return dict(_toolchain())  # a copy: the cached one stays as it is


@functools.cache  # a process's toolchain does not change; libc_ver reads the interpreter
def _toolchain() -> dict[str, str]:
    import h5py
    import llvmlite.binding as llvm
    import numba
    import numpy as np
    import scipy

    libc = " ".join(platform.libc_ver()).strip()
    return {
        "numba_version": numba.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "h5py_version": h5py.__version__,
        "python_version": sys.version.split()[0],
        "cpu": llvm.get_host_cpu_name(),  # the CPU Numba compiles the kernels for
        "libc": libc or "unknown",
        "platform": platform.platform(),
    }


def differences(recorded: dict) -> list[str]:
    """What of :data:`DECIDING` ``recorded`` (a result file's attributes) has otherwise than
    this process, as ``"name: recorded -> here"``; a file older than a field says nothing
    about it."""
    here = toolchain()
    return [
        f"{k}: {recorded[k]} -> {here[k]}"
        for k in DECIDING
        if k in recorded and str(recorded[k]) != here[k]
    ]
