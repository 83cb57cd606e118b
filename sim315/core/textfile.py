"""Reading input files safely: only regular files, never more than a size cap, UTF-8 only.

A FIFO, ``/dev/zero`` or a terminal named as a scenario would otherwise hang the reader or
fill the memory; here each is refused in one line before a byte is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import Sim315Error

#: Largest YAML file read (scenarios, models, fits, sweeps, fitted parameters).
YAML_LIMIT = 16 << 20
#: Largest CSV file read (history data, posterior samples).
CSV_LIMIT = 256 << 20


def read_bytes(path: str | Path, what: str = "file", limit: int = YAML_LIMIT) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else a one-line error."""
    path = Path(path)
    src = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise Sim315Error(src, "", f"no such {what}", "check the path") from None
    except IsADirectoryError:
        raise Sim315Error(src, "", "is a folder, not a file", f"name the {what}") from None
    except PermissionError:
        raise Sim315Error(src, "", "cannot be read (permission denied)") from None
    except OSError as exc:
        raise Sim315Error(src, "", f"cannot be opened ({exc.strerror})", "check the path") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise Sim315Error(src, "", "is a folder, not a file", f"name the {what}")
        if not stat.S_ISREG(st.st_mode):
            raise Sim315Error(
                src, "", "is not a regular file (a pipe, device or socket)", f"name the {what}"
            )
        if st.st_size > limit:
            raise Sim315Error(
                src,
                "",
                f"is {st.st_size:,} bytes, more than the {limit:,} a {what} may have",
                "check that this is the right file",
            )
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while True:
            block = os.read(fd, 1 << 20)
            if not block:
                break
            total += len(block)
            if total > limit:  # the file grew while it was read
                raise Sim315Error(src, "", f"holds more than the {limit:,} bytes a {what} may have")
            chunks.append(block)
    except OSError as exc:
        raise Sim315Error(src, "", f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_text(path: str | Path, what: str = "file", limit: int = YAML_LIMIT) -> str:
    """The UTF-8 text of a regular file; a decoding error names the line."""
    data = read_bytes(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Sim315Error(
            str(path),
            "",
            f"is not UTF-8 text (byte {exc.start + 1}: {exc.reason})",
            f"save the {what} as UTF-8",
            line=line,
        ) from None


def check_writable(path: str | Path, where: str = "--out") -> Path:
    """Refuse an output path before any work: a missing or unwritable folder, a folder or a
    non-regular file (device, pipe) under the name."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise Sim315Error(str(path), where, "its folder does not exist", "create it first")
    if path.is_dir():
        raise Sim315Error(str(path), where, "is a folder", "name a file")
    if path.exists() and not path.is_file():
        raise Sim315Error(str(path), where, "is not a regular file", "name a regular file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise Sim315Error(str(path), where, "the folder is not writable", "choose another path")
    return path


def write_atomic(path: str | Path, text: str, where: str = "--out") -> Path:
    """Write ``text`` to a fresh temporary file beside ``path`` (exclusive, private until
    complete), flush it to the disk and rename it; on any failure no temporary file stays."""
    import tempfile

    path = check_writable(path, where)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise Sim315Error(str(path), where, f"cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a result is for readers
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise Sim315Error(
            str(path), where, f"cannot write ({exc.strerror})", "free space or choose another path"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def make_folder(path: str | Path, where: str = "--out") -> Path:
    """Create an output folder (and its parents), or a one-line error naming it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Sim315Error(str(path), where, f"cannot create the folder ({exc.strerror})") from None
    return path
