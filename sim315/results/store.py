"""HDF5 result files: one per run command, streamed chunk by chunk, renamed when complete.

The datasets and attributes (readable with xarray) are drawn in :mod:`.layout`. The file is
written as ``<name>.partial`` (made exclusively, under an advisory lock on the final name)
and renamed to its final name only when complete, flushed and read back, so an interrupted
run never leaves a half-written file under the final name; ``resume`` continues the partial
file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from pathlib import Path

import h5py
import numpy as np

from ..core.errors import Sim315Error
from ..kernels.columns import first_mismatch
from . import rows
from .drawn import DrawnTable
from .files import (
    H5_IO_ERRORS,
    BackgroundSync,
    OutputLock,
    Reserve,
    check_output,
    check_room,
    disk_error,
    file_kind,
    fsync_path,
    mark_unclosed,
    partial_path,
    quiet_h5py_dealloc,
    reserve_blocks,
)
from .layout import (
    CAN_RESERVE,
    COMPRESSION,
    STATUS_NOT_RUN,
    TARGET_RUNS,
    OutputInfo,
    Parameters,
    lay_out,
)
from .readback import check_partial, verify
from .reader import texts

#: The partial file is flushed, with its count of the runs written (``runs_done``), at most
#: this often: an interrupted run resumes from the last flush (a process killed outright;
#: one interrupted or failing closes the file with every written run counted). A flush per
#: chunk cost about 1 ms each, 0.4 s of CPU at 10^6 plan runs.
FLUSH_SECONDS = 1.0


class ResultWriter:
    """Writes one ensemble's results; see the module docstring for the layout.

    Use :meth:`create` or :meth:`resume`, then :meth:`write` chunks in run order, then
    :meth:`finish`. :meth:`close` (on errors or interruption) keeps the partial file.

    The writer holds :class:`OutputLock` from opening to closing. The partial file is made
    under a fresh unique name (HDF5's exclusive create: ``O_CREAT | O_EXCL``, which never
    follows a symbolic link) and renamed to ``<name>.partial`` once laid out; the final name
    is given only to a file that is complete, flushed to the disk and read back.
    """

    def __init__(self, path: Path, h5: h5py.File, runs_done: int, lock: OutputLock):
        self.path = path
        self.partial = partial_path(path)
        self.h5 = h5
        self.runs_done = runs_done
        self.lock = lock
        quiet_h5py_dealloc()
        self._open: dict | None = None
        #: Seconds spent in :meth:`write` (in the writer thread, overlapping the kernel).
        self.write_seconds = 0.0
        #: When the file was last flushed (:data:`FLUSH_SECONDS`).
        self._flushed = time.monotonic()
        #: The file's data sent to the disk as it is written (made on the first chunk).
        self._sync: BackgroundSync | None = None
        #: Parameter columns the kernel does not read (time-tabled levers): stored as NaN.
        self.unused_columns: list[int] = []
        #: Whether this writer laid the file out (no run in it yet), not a resume.
        self.new = False

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: Path,
        *,
        runs: int,
        times: np.ndarray,
        time_units: str,
        outputs: list[OutputInfo],
        parameters: Parameters,
        attrs: dict,
        rows_per_chunk: int,
        compression: str = "none",
        save: str = "all",
        dtype=None,
    ) -> ResultWriter:
        path = check_output(path)
        lock = OutputLock(path).acquire()
        fresh = path.with_name(f".{path.name}.{secrets.token_hex(8)}.new")
        try:
            lock.reserve = Reserve(path)
            h5 = h5py.File(fresh, "x", **NO_CHUNK_CACHE)  # exclusive: fails on anything there
        except OSError as exc:
            lock.release()
            if not os.access(path.parent, os.W_OK):
                raise Sim315Error(
                    str(path), "output", "the folder is not writable", "choose another path"
                ) from None
            raise disk_error(path, exc) from None
        try:
            lay_out(
                h5,
                runs,
                times,
                time_units,
                outputs,
                parameters,
                attrs,
                rows_per_chunk,
                COMPRESSION[compression],
                save,
                dtype,
            )
            h5.attrs["compression"] = compression
            h5.flush()
            if compression == "none" and CAN_RESERVE:  # its chunks allocated, not filled
                reserve_blocks(fresh, h5.id.get_filesize())
            check_output(path)  # nothing planted at the partial name meanwhile
            os.replace(fresh, partial_path(path))
        except BaseException as exc:
            with contextlib.suppress(Exception):
                h5.close()
            fresh.unlink(missing_ok=True)
            lock.release()
            if isinstance(exc, H5_IO_ERRORS):
                raise disk_error(path, exc) from None
            raise
        writer = cls(path, h5, 0, lock)
        writer.new = True
        return writer

    @classmethod
    def resume(cls, path: Path, fingerprint: dict[str, str]) -> ResultWriter:
        """Reopen the partial file of an interrupted run made from the same inputs.

        ``fingerprint`` maps each input that decides the numbers to its digest; any that
        differs from the partial file's is named in the refusal. The runs taken as done are
        those whose status rows were written (``runs_done`` is checked against
        ``run_status``), so a torn or forged partial is never finished with unrun runs.
        """
        path = Path(path)
        partial = partial_path(path)
        try:
            st = os.lstat(partial)
        except FileNotFoundError:
            raise Sim315Error(
                str(path),
                "--resume",
                f"no partial file {partial.name} to continue",
                "run without --resume",
            ) from None
        if what := file_kind(st.st_mode):
            raise Sim315Error(str(partial), "--resume", f"is {what}", "remove it first")
        check_output(path)
        lock = OutputLock(path).acquire()
        try:
            lock.reserve = Reserve(path)
        except OSError as exc:
            lock.release()
            raise disk_error(path, exc) from None
        try:
            h5 = h5py.File(partial, "r+", **NO_CHUNK_CACHE)
        except OSError as exc:
            lock.release()
            raise Sim315Error(
                str(partial),
                "--resume",
                f"cannot open the partial file ({str(exc).splitlines()[0][:120]})",
                "delete it and run again without --resume",
            ) from None
        try:
            done = check_partial(h5, partial, fingerprint)
        except BaseException:
            with contextlib.suppress(Exception):
                h5.close()
            lock.release()
            raise
        return cls(path, h5, done, lock)

    def write_levers(self, levers: dict, columns: list[int]) -> None:
        """Store each time-tabled lever as its table, ``/levers/<name>`` (rows of time and
        value; attribute ``interpolate``), and mark its parameter column as unused."""
        self.unused_columns = list(columns)
        try:
            g = self.h5.require_group("levers")
            g.attrs["long_name"] = "time-tabled levers: the tables the kernel read"
            for name, (interpolate, (xs, ys)) in levers.items():
                if name in g:
                    continue
                ds = g.create_dataset(name, data=np.column_stack([xs, ys]).astype(np.float64))
                ds.attrs["columns"] = "time, value"
                ds.attrs["interpolate"] = interpolate
            pv = self.h5["parameter_values" if "parameter_values" in self.h5 else "shared_values"]
            pv.attrs["time_tabled"] = json.dumps(sorted(levers))
            pv.attrs["note"] = "time-tabled levers are NaN here: see /levers/<name>"
            self.h5.flush()
        except H5_IO_ERRORS as exc:
            raise disk_error(self.path, exc) from None

    # -- writing -----------------------------------------------------------------------
    @property
    def output_names(self) -> list[str]:
        return json.loads(self.h5.attrs["outputs"])

    def write(self, a: int, P: np.ndarray, values: np.ndarray, status: np.ndarray, draws=None):
        """Store runs ``[a, a + len(P))``: parameters, saved values, statuses; ``draws``:
        the posterior row each run drew, where the file keeps their parameters by row."""
        b = a + P.shape[0]
        t0 = time.perf_counter()
        try:
            if self._open is None:  # one handle each for the writer's life: no object is
                # freed (and flushed) per chunk, where a failure could only be reported late
                self._open = self._stores()
            ds = self._open
            full, P = P, self._parameter_rows(P, ds)
            if ds["compressed"]:  # it grows as chunks arrive (else allocated whole)
                check_room(self.partial, P.nbytes + status.nbytes + ds["bytes_per_run"] * len(P))
            rows.put(ds["parameters"], a, P)
            if ds["drawn"] is not None:
                ds["drawn"].add(a, full, draws)
            for sink, m, cols in ds["runs"]:
                rows.put(sink, a, rows.output_rows(values, m, cols, ds["gathered"]))
            rows.put(ds["run_status"], a, status)
            now = time.monotonic()
            if now - self._flushed >= FLUSH_SECONDS:
                self._mark_done(b)
                self._flushed = now
            if self._sync is None:
                self._sync = BackgroundSync(self.partial)
            self._sync.poke(last=b == ds["runs_total"])
        except H5_IO_ERRORS as exc:
            raise disk_error(self.path, exc) from None
        self.runs_done = b
        self.write_seconds += time.perf_counter() - t0

    def _parameter_rows(self, P: np.ndarray, ds: dict) -> np.ndarray:
        """What the file keeps of a chunk's parameter rows: the varied columns (after
        checking that the others hold the shared values: a sampler that changed a column it
        did not declare would otherwise lose its values unseen), or, in a partial file of
        layout 2 being resumed, every column with the levers' NaN."""
        if ds["varied"] is None:
            if self.unused_columns:
                P = P.copy()
                P[:, self.unused_columns] = np.nan  # never shown as the value a run used
            return P
        P = np.ascontiguousarray(P, dtype=np.float64)
        at = first_mismatch(P, ds["check"], ds["shared"])
        if at >= 0:
            name = texts(self.h5["parameter"])[ds["check"][at]]
            raise Sim315Error(  # not an I/O error: the file is not to blame
                str(self.path),
                "parameters",
                f"parameter {name!r} varies between runs, but the run plan did not say so "
                "(a bug in sim315's sampler)",
                "please report it",
            )
        return rows.taken(P, ds["varied"], ds)  # into a buffer of the writer's

    def _mark_done(self, b: int) -> None:
        """Record runs ``[0, b)`` as written and flush the file: its metadata on the disk then
        says no more than its data holds (an attribute set between flushes could reach the
        disk before the rows it counts, if the HDF5 cache evicted it)."""
        if self._open is not None and self._open["drawn"] is not None:
            self._open["drawn"].save()  # the rows the runs counted drew
        self.h5.attrs["runs_done"] = b
        self.h5.flush()

    def _stores(self) -> dict:
        """Where a chunk is written: the :class:`~.rows.Sink` of its parameters, status,
        and each kept output with its index and time columns."""
        h5 = self.h5
        kept = []
        for m, name in enumerate(self.output_names):
            if name in h5:
                kept.append((h5[name], m, np.arange(h5[name].shape[1])))
            elif TARGET_RUNS in h5 and name in h5[TARGET_RUNS]:
                d = h5[TARGET_RUNS][name]
                kept.append((d, m, np.asarray(d.attrs["columns"], dtype=np.int64)))
        per_run = sum(d.dtype.itemsize * d.shape[1] for d, _, _ in kept)
        stores = {
            "run_status": rows.Sink(h5["run_status"]),
            "runs_total": h5["run_status"].shape[0],
            "runs": [(rows.Sink(d), m, cols) for d, m, cols in kept],
            "bytes_per_run": per_run,
            "gathered": {},  # each kept output's buffer (rows.output_rows)
            "compressed": h5.attrs.get("compression", "none") != "none",
        }
        if "parameter_values" in h5:  # layout 2
            params = rows.Sink(h5["parameter_values"])
            return {**stores, "parameters": params, "varied": None, "drawn": None}
        varied = np.asarray(h5["varied_parameter"].attrs["columns"], dtype=np.int64)
        shared = h5["shared_values"][:]
        by_row = "run_draw" in h5  # layout 4: the posterior rows' values kept once
        stores["drawn"] = DrawnTable(h5, self.path, self.new) if by_row else None
        drawn = [] if stores["drawn"] is None else stores["drawn"].columns.tolist()
        # the columns to check: every one not varied but the levers' (NaN, not the rows')
        skip = set(varied.tolist()) | set(self.unused_columns) | set(drawn)
        check = np.array([c for c in range(shared.size) if c not in skip], dtype=np.int64)
        return {
            **stores,
            "parameters": rows.Sink(h5["varied_values"]),
            "varied": varied,
            "check": check,
            "shared": shared,
        }

    def finish(self, summary=None, summary_attrs: dict | None = None, arrays=None) -> Path:
        """Write the summary group (``summary.write(h5)``: the streamed
        :class:`~.summary.StreamingSummary`) and the labelled views of the model's
        ``arrays`` (:func:`.arrays.add_array_views`), flush to the disk, read the file back,
        and only then rename it to the final name."""
        try:
            status = self.h5["run_status"][:]
            if self.runs_done != status.size or np.any(status == STATUS_NOT_RUN):
                raise Sim315Error(
                    str(self.partial),
                    "run_status",
                    f"{int(np.count_nonzero(status == STATUS_NOT_RUN)):,} runs were not run",
                    "continue with --resume",
                )
            if self.lock.reserve is not None:  # the summary may use the space held back
                self.lock.reserve.release()
                self.lock.reserve = None
            if summary is None:
                raise ValueError("finish needs the run's streamed summary")
            summary.write(self.h5)
            if arrays:
                from .arrays import add_array_views

                add_array_views(self.h5, arrays)
            for k, v in (summary_attrs or {}).items():
                self.h5.attrs[k] = v
            self._mark_done(self.runs_done)
            self.h5.attrs["complete"] = True
            self.h5.flush()
            self.h5.close()
            self._end_sync()
            fsync_path(self.partial)
            verify(self.partial)
            check_output(self.path)
            os.replace(self.partial, self.path)
            with contextlib.suppress(OSError):
                fsync_path(self.path.parent)
        except H5_IO_ERRORS as exc:
            self.close()
            raise disk_error(self.path, exc) from None
        except BaseException:
            self.close()
            raise
        self.lock.release()
        return self.path

    def _end_sync(self, check: bool = True) -> None:
        if self._sync is not None:
            sync, self._sync = self._sync, None
            sync.close(check)

    def close(self) -> None:
        """Close, keeping the partial file for ``--resume`` (with every run written counted
        in it: between flushes the count on the disk lags behind)."""
        with contextlib.suppress(OSError):  # closing after a failure must not mask it
            self._end_sync(check=False)
        if self.lock.reserve is not None:  # give the space back first: the close needs it
            self.lock.reserve.release()
            self.lock.reserve = None
        try:
            with contextlib.suppress(Exception):  # a closed or broken file: the close says
                if self.h5.mode == "r+" and int(self.h5.attrs["runs_done"]) < self.runs_done:
                    self._mark_done(self.runs_done)
            self.h5.close()
        except Exception:  # closing after a failure must not mask it
            mark_unclosed(self.partial)
        self.lock.release()


#: The writer's files have no chunk cache: every chunk is written whole, once, and HDF5's
#: cache kept the small ones (the 34 ``target_runs`` datasets' 100 KB chunks) in memory,
#: 490 bytes a run, 0.5 GB at 10^6 plan runs.
NO_CHUNK_CACHE = {"rdcc_nbytes": 0}
