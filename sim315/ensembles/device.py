"""Whether this machine can run the CUDA target: one check, one one-line error."""

from __future__ import annotations

from ..core.errors import Sim315Error


def require_cuda() -> None:
    """A one-line error unless a CUDA device (or Numba's simulator) is usable."""
    try:
        from numba import cuda
    except ImportError as exc:  # numba built without CUDA support, or numba-cuda missing
        raise Sim315Error(
            "executor",
            "cuda",
            f"numba's CUDA support cannot be imported ({exc})",
            "pip install numba-cuda (with a numpy it supports), or use the local executor",
        ) from None
    if not cuda.is_available():
        raise Sim315Error(
            "executor",
            "cuda",
            "no CUDA GPU or driver found",
            "run on a machine with an NVIDIA GPU, or set NUMBA_ENABLE_CUDASIM=1 to simulate",
        )
