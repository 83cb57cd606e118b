"""Reading a result file back: what a partial file holds for sure (:func:`check_partial`,
before a resume) and whether a finished one is whole (:func:`verify`, before it gets its
final name)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..core.errors import Sim315Error
from .layout import STATUS_NOT_RUN, SUMMARY_BLOCK


def check_partial(h5: h5py.File, partial: Path, fingerprint: dict[str, str]) -> int:
    """The runs a partial file holds for sure; refuses another run's partial by name."""
    raw = h5.attrs.get("fingerprint_parts")
    stored = json.loads(raw) if raw is not None else {}
    changed = sorted(
        k for k in fingerprint.keys() | stored.keys() if stored.get(k) != fingerprint.get(k)
    )
    if changed:
        raise Sim315Error(
            str(partial),
            "--resume",
            f"the inputs changed since the partial file was made: {', '.join(changed)}",
            "undo the change, or delete the partial file and run without --resume",
        )
    try:
        runs = int(h5.attrs["runs"])
        claimed = int(h5.attrs["runs_done"])
        status = h5["run_status"][:]
    except (KeyError, OSError, ValueError, TypeError) as exc:
        raise Sim315Error(
            str(partial), "--resume", f"is not a sim315 partial file ({exc})", "delete it"
        ) from None
    if status.shape != (runs,) or not 0 <= claimed <= runs:
        raise Sim315Error(
            str(partial), "--resume", "its run count and status do not agree", "delete it"
        )
    not_run = np.flatnonzero(status == STATUS_NOT_RUN)
    written = int(not_run[0]) if not_run.size else runs
    # rows past runs_done may hold a torn chunk: they are computed again (same numbers)
    return min(claimed, written)


def verify(path: Path) -> None:
    """Read a finished file back: complete, every run with a status, every output whole."""
    try:
        with h5py.File(path, "r") as h5:
            runs = int(h5.attrs["runs"])
            ok = bool(h5.attrs["complete"]) and int(h5.attrs["runs_done"]) == runs
            status = h5["run_status"]
            for a in range(0, runs, SUMMARY_BLOCK):
                ok = ok and not np.any(status[a : a + SUMMARY_BLOCK] == STATUS_NOT_RUN)
            for name in json.loads(h5.attrs["outputs"]):
                ok = ok and name in h5["summary"]
                if name in h5:
                    ok = ok and h5[name].shape[0] == runs
    except (OSError, KeyError, ValueError) as exc:
        raise Sim315Error(
            str(path), "output", f"the file did not read back ({exc})", "check the disk"
        ) from None
    if not ok:
        raise Sim315Error(str(path), "output", "the file did not read back whole", "run again")
