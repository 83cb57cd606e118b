"""The result file on disk: its partial name, the advisory lock on the final name, the disk
space reserved before writing, fsync, and one-line errors for a full or failing disk."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..core.errors import Sim315Error


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def reserve_blocks(path: Path, size: int) -> None:
    """Reserve the disk blocks of the first ``size`` bytes of the file at ``path`` without
    writing them (``posix_fallocate``: unwritten extents, a millisecond for a gigabyte on
    ext4), so that writing them later cannot meet a full disk; ``OSError`` (``ENOSPC``)
    when the disk cannot hold them. The C library emulates it by writing where the file
    system cannot reserve."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)


#: What h5py raises when the disk fails under it: OSError, or RuntimeError from a flush.
H5_IO_ERRORS = (OSError, RuntimeError)
#: Partial files whose HDF5 handle could not be closed after an I/O error (see
#: :func:`unclosed_files`).
_UNCLOSED: list[str] = []


def mark_unclosed(path: Path) -> None:
    """Record a file that a disk failure left open (see :func:`unclosed_files`)."""
    _UNCLOSED.append(str(path))


def unclosed_files() -> list[str]:
    """Partial files left open after an I/O error. The HDF5 library flushes them again when
    the interpreter exits, on a full disk even crashing it: a command line that sees any
    should end the process at once (``os._exit``) after saying what happened."""
    return list(_UNCLOSED)


def quiet_h5py_dealloc() -> None:
    """h5py reports a failed flush of an object being freed as an "Exception ignored"
    traceback per object (hundreds on a full disk); the error that matters is raised where
    the write failed. Only those reports are dropped."""
    previous = sys.unraisablehook
    if getattr(previous, "_sim315", False):
        return

    def hook(unraisable):
        text = f"{unraisable.object!r} {unraisable.exc_value!r}"
        if "h5py" in text or "ObjectID" in text or "decrement id ref count" in text:
            return
        previous(unraisable)

    hook._sim315 = True
    sys.unraisablehook = hook


def disk_error(path: Path, exc: OSError) -> Sim315Error:
    text = str(exc)
    if (
        getattr(exc, "errno", None) == errno.ENOSPC
        or "No space left" in text
        or "errno = 28" in text
    ):
        return Sim315Error(
            str(path),
            "output",
            "no space left on the device",
            "free space, then continue with --resume",
        )
    first = (text.splitlines() or ["I/O error"])[0][:200]
    return Sim315Error(
        str(path),
        "output",
        f"cannot write ({first})",
        "check the disk, then continue with --resume",
    )


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_output(path: str | Path) -> Path:
    """Refuse an output that cannot be written safely, before anything is created: a missing
    or unwritable folder, a final name or partial that is not a regular file (a folder, a
    device such as /dev/null, a pipe, a symbolic link at the partial name)."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise Sim315Error(str(path), "output", "its folder does not exist", "create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise Sim315Error(str(path), "output", "the folder is not writable", "choose another path")
    try:
        st = os.stat(path)  # a link to a regular file is replaced, never written through
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise Sim315Error(str(path), "output", f"cannot be checked ({exc.strerror})") from None
    if st is not None and (what := file_kind(st.st_mode)):
        fix = "name a file, e.g. out.h5" if what == "a folder" else "name a regular file"
        raise Sim315Error(str(path), "output", f"is {what}", fix)
    for extra in (partial_path(path), lock_path(path)):
        try:
            st = os.lstat(extra)
        except FileNotFoundError:
            continue
        if what := file_kind(st.st_mode):
            raise Sim315Error(
                str(extra), "output", f"is {what}, not a file sim315 made", "remove it first"
            )
    return path


class OutputLock:
    """An advisory lock on a result file's final name (``.<name>.lock`` beside it), held by
    the one process that writes it; a second writer is refused before it touches anything."""

    def __init__(self, path: Path):
        self.path = path
        self.file = lock_path(path)
        self.fd: int | None = None
        #: Space held for closing the partial file whole on a full disk (see Reserve).
        self.reserve: Reserve | None = None

    def acquire(self) -> OutputLock:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        for _ in range(5):
            try:
                fd = os.open(self.file, flags, 0o644)
            except OSError as exc:
                raise Sim315Error(
                    str(self.path), "output", f"cannot lock ({exc.strerror})", "check the folder"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise Sim315Error(
                    str(self.path),
                    "output",
                    "another sim315 command is writing this file now",
                    "wait for it to finish, or choose another -o",
                ) from None
            try:  # the file locked must still be the one under the name (see release)
                same = os.path.samestat(os.fstat(fd), os.lstat(self.file))
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return self
            os.close(fd)
        raise Sim315Error(str(self.path), "output", "cannot lock (the lock keeps changing)")

    def release(self) -> None:
        if self.reserve is not None:
            self.reserve.release()
            self.reserve = None
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.file)  # while locked: a waiter then finds a fresh file
        os.close(self.fd)
        self.fd = None


#: Bytes held in reserve beside a partial file while it is written: on a full disk they are
#: given back so that the HDF5 library can still write its metadata and close the partial
#: file whole (resumable), instead of leaving it torn.
RESERVE_BYTES = 4 << 20


def reserve_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.reserve")


class Reserve:
    """A file of :data:`RESERVE_BYTES` allocated on the output's disk (exclusive create)."""

    def __init__(self, path: Path):
        self.file = reserve_path(path)
        self.file.unlink(missing_ok=True)  # a crashed writer's; we hold the lock
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.file, flags, 0o600)
        try:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, RESERVE_BYTES)
            else:  # pragma: no cover - macOS: blocks are only held once written
                os.write(fd, bytes(RESERVE_BYTES))
        except OSError:
            os.close(fd)
            self.file.unlink(missing_ok=True)
            raise
        os.close(fd)

    def release(self) -> None:
        self.file.unlink(missing_ok=True)


#: Seconds between the syncs of :class:`BackgroundSync`.
SYNC_SECONDS = 1.0


class BackgroundSync:
    """A file's written data sent to the disk while the run goes on: :meth:`poke`, called
    after each chunk, starts an ``fdatasync`` of the file in a thread of its own at most
    every :data:`SYNC_SECONDS` (one at a time), so that the ``fsync`` that finishes a run
    waits for the last second's data, not for the whole file (10^6 plan runs: 1.2 GB, 0.5
    s). The thread holds its own descriptor of the file. A sync's error (a failing or full
    disk: the kernel reports a failed write-back once) is raised by the next :meth:`poke`
    or by :meth:`close`, never lost."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim315-sync")
        self.job: Future | None = None
        self.started = time.monotonic()

    def poke(self, last: bool = False) -> None:
        """After a chunk: a sync started if none is under way and the last began
        :data:`SYNC_SECONDS` ago, or, after the ``last`` chunk, at once (it runs while the
        summary is made: the run's closing ``fsync`` then waits for the summary alone, 62-82
        -> 1 ms at 10^6 plan runs)."""
        if self.job is not None and self.job.done():
            job, self.job = self.job, None
            job.result()
        if self.job is None and (last or time.monotonic() - self.started >= SYNC_SECONDS):
            self.started = time.monotonic()
            self.job = self.pool.submit(getattr(os, "fdatasync", os.fsync), self.fd)

    def close(self, check: bool = True) -> None:
        """Wait for the sync in flight (raising its error when ``check``) and let go."""
        try:
            if self.job is not None:
                job, self.job = self.job, None
                if check:
                    job.result()
        finally:
            self.pool.shutdown(wait=True)
            os.close(self.fd)


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_room(partial: Path, nbytes: int) -> None:
    """Refuse a chunk of a compressed file (which grows as chunks arrive) that the disk
    cannot take, before the HDF5 library is half-way through it."""
    st = os.statvfs(partial.parent)
    if st.f_bavail * st.f_frsize < nbytes + (1 << 20):
        raise OSError(errno.ENOSPC, "No space left on device")
