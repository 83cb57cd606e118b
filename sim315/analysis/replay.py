"""Runs of a result file computed again from the file alone (``sim315 replay``).

A result file keeps everything that decides a run's numbers: the model's text, each run's
parameter row (its start state too, when runs start from their history), the seed entropy,
the method and the time grid, and the tables of time-tabled levers. :func:`replay` compiles
the model from that text and runs the chosen rows with the same run numbers, so the numbers
are the stored ones bit for bit (random draws depend on the seed and the run number only)
with the toolchain that wrote the file; on another CPU or library build a last bit may
differ, and the replay names what differs (:mod:`sim315.core.toolchain`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..core.errors import Sim315Error
from ..core.toolchain import differences
from ..ensembles.model import CompiledModel, load_model
from ..results.layout import parameter_matrix
from ..results.reader import open_complete, texts


@dataclass(frozen=True)
class Replayed:
    """Runs computed again: ``values[i, t, k]`` of run ``runs[i]``, output ``names[k]``;
    ``stored`` is what the file holds for the same runs: ``(k, time columns or None, values
    (runs, columns))`` per output it kept (all of them, those targets read, or none)."""

    runs: tuple[int, ...]
    names: tuple[str, ...]
    time: np.ndarray
    values: np.ndarray
    status: np.ndarray
    stored: tuple = ()
    elsewhere: tuple[str, ...] = ()
    """What of the toolchain that decides last bits differs from the file's
    (:func:`sim315.core.toolchain.differences`)."""

    def same(self) -> np.ndarray | None:
        """Per run: whether it equals what the file stored (in the file's precision); None
        when the file kept no per-run outputs."""
        if not self.stored:
            return None
        out = np.ones(len(self.runs), dtype=bool)
        for k, cols, kept in self.stored:
            mine = self.values[:, :, k] if cols is None else self.values[:, cols, k]
            mine = mine.astype(kept.dtype)
            for i in range(len(self.runs)):
                out[i] &= np.array_equal(mine[i], kept[i], equal_nan=True)
        return out

    @property
    def identical(self) -> bool | None:
        same = self.same()
        return None if same is None else bool(same.all())


def _stored(h5, names, unique: list[int], order: list[int]) -> tuple:
    """What the file kept of runs ``unique`` (in the order ``order``), per output."""
    kept = []
    for k, name in enumerate(names):
        if name in h5 and isinstance(h5[name], h5py.Dataset):
            kept.append((k, None, np.asarray(h5[name][unique, :])[order]))
        elif "target_runs" in h5 and name in h5["target_runs"]:
            ds = h5["target_runs"][name]
            cols = [int(c) for c in ds.attrs["columns"]]
            kept.append((k, cols, np.asarray(ds[unique, :])[order]))
    return tuple(kept)


def replay(path: str | Path, runs) -> Replayed:
    """Compute runs ``runs`` (run numbers) of the result file ``path`` again."""
    source = str(path)
    with open_complete(path) as h5:
        attrs = dict(h5.attrs)
        n = int(attrs["runs"])
        bad = [r for r in runs if not 0 <= r < n]
        if bad or not runs:
            raise Sim315Error(
                source,
                "--runs",
                f"no run {bad[0] if bad else ''} in a file of {n} runs".replace("  ", " "),
                f"give run numbers from 0 to {n - 1}",
            )
        names = tuple(json.loads(attrs["outputs"]))
        columns = texts(h5["parameter"])
        unique = sorted(set(runs))  # h5py reads increasing, distinct indices
        order = [unique.index(r) for r in runs]
        rows = parameter_matrix(h5, unique)[order]
        levers = {
            name: (ds.attrs["interpolate"], (ds[:, 0], ds[:, 1]))
            for name, ds in (h5["levers"].items() if "levers" in h5 else [])
        }
        stored = _stored(h5, names, unique, order)
    model = _model(source, attrs, columns, levers)
    P = np.empty((len(runs), len(model.parameter_names)))
    index = {c: i for i, c in enumerate(columns)}
    for j, name in enumerate(model.parameter_names):
        P[:, j] = rows[:, index[name]]
    call = model.kernel_call(
        method=str(attrs["method"]),
        outputs=names,
        dt=float(attrs["dt"]),
        save_every=float(attrs["save_every"]),
        seed=int(attrs["seed_entropy"]),
    )
    values, status = [], []
    for i, r in enumerate(runs):  # each with its own run number: its own random draws
        res = model.run_call(call, P[i : i + 1], run_offset=int(r), threads=1)
        values.append(res.values[0])
        status.append(res.status[0])
    return Replayed(
        tuple(int(r) for r in runs),
        names,
        res.time,
        np.stack(values),
        np.array(status, dtype=np.int32),
        stored,
        tuple(differences(attrs)),
    )


def _model(source: str, attrs: dict, columns: list[str], levers: dict) -> CompiledModel:
    """The file's model compiled from its stored text, warm-started when the rows carry
    start columns, with its lever tables; refused when it is not the kernel that wrote the
    file (another sim315 version generates other code)."""
    suffix = Path(str(attrs["model_file"])).suffix or ".yaml"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"model{suffix}"
        path.write_text(str(attrs["model_text"]), encoding="utf-8")
        model = load_model(path)
    ours = model.hash_of(str(attrs["method"]))
    # files written before the hash of the run's method recorded that of every method
    if attrs["model_hash"] != ours and attrs["model_hash"] != model.hash:
        raise Sim315Error(
            source,
            "model_hash",
            f"this sim315 ({ours}) generates another kernel than the one that wrote the "
            f"file ({attrs['model_hash']}), so its numbers could differ",
            f"replay with sim315 {attrs.get('sim315_version', 'of the file')}",
        )
    if any(c.endswith(".start") for c in columns):
        model = CompiledModel(model.ir.warm_started())
    return model.with_levers(levers) if levers else model


def write_replayed(done: Replayed, out: str | Path, source: str | Path) -> Path:
    """The replayed runs as an HDF5 file (``time``, ``run``, ``run_status`` and one
    ``(run, time)`` dataset per output), written under a temporary name and renamed."""
    import os

    import h5py

    from ..results.files import check_output

    out = check_output(out)
    partial = out.with_name(out.name + ".partial")
    with h5py.File(partial, "w") as h5:
        h5.attrs["replayed_from"] = str(source)
        h5.attrs["identical_to_file"] = bool(done.identical)
        h5.create_dataset("time", data=done.time)
        h5.create_dataset("run", data=np.array(done.runs, dtype=np.int64))
        h5.create_dataset("run_status", data=done.status)
        for k, name in enumerate(done.names):
            h5.create_dataset(name, data=done.values[:, :, k])
    os.replace(partial, out)
    return out
