"""A result file's data goes to the disk while the run goes on (results/files.py,
``BackgroundSync``): syncs happen during a run, on the file being written, one at a time;
a sync's error is never lost: the run ends in the one-line disk error, the partial file kept
for --resume and nothing under the final name."""

import errno
import os
import threading
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sim315.cli import main
from sim315.results import files
from sim315.results.files import BackgroundSync

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = {
    "model": str(ROOT / "tests" / "models" / "ladder" / "model.yaml"),
    "runs": 3000,
    "seed": 1,
    "chunk": 250,
    "uncertain": {"sme_promotion": {"dist": "uniform", "low": 0.04, "high": 0.08}},
}


def _run(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump(SCENARIO))
    out = tmp_path / "o.h5"
    return CliRunner().invoke(main, ["run", str(sc), "-o", str(out), "-q"]), out


def _synced_files(monkeypatch) -> list:
    """The paths ``os.fdatasync`` is called on from now on (each call still syncs)."""
    synced, real = [], os.fdatasync

    def counted(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fdatasync", counted)
    return synced


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names descriptors by /proc")
def test_a_run_syncs_its_file_as_it_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "SYNC_SECONDS", 0.0)
    synced = _synced_files(monkeypatch)
    result, out = _run(tmp_path)
    assert result.exit_code == 0, result.output
    assert out.exists()
    # the finish's fsync is os.fsync: each fdatasync was the background's, during the run
    # (how many depends on how fast each returns: one at a time)
    assert synced
    assert {Path(p).name for p in synced} == {"o.h5.partial"}
    assert not any(t.name.startswith("sim315-sync") for t in threading.enumerate())


def test_a_failed_sync_ends_the_run_with_the_disk_error(tmp_path, monkeypatch):
    def failing(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files, "SYNC_SECONDS", 0.0)
    monkeypatch.setattr(os, "fdatasync", failing)
    result, out = _run(tmp_path)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "o.h5" in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()
    assert (tmp_path / "o.h5.partial").exists()


def test_the_last_sync_is_waited_for_and_its_error_raised(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 4096)
    gate, calls = threading.Event(), []

    def slow_failing(fd):
        calls.append(fd)
        gate.wait(5)
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files, "SYNC_SECONDS", 0.0)
    monkeypatch.setattr(os, "fdatasync", slow_failing)
    sync = BackgroundSync(path)
    sync.poke()
    sync.poke()  # the first is still in flight: no second one
    gate.set()
    with pytest.raises(OSError, match="Input/output"):
        sync.close()
    assert len(calls) == 1
    with pytest.raises(OSError):  # its descriptor was let go
        os.fstat(sync.fd)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names descriptors by /proc")
def test_the_last_chunk_starts_a_sync_at_once(tmp_path, monkeypatch):
    # it runs while the summary is made, so that the closing fsync waits for little
    monkeypatch.setattr(files, "SYNC_SECONDS", 1e9)  # none on the clock
    synced = _synced_files(monkeypatch)
    result, out = _run(tmp_path)
    assert result.exit_code == 0, result.output
    assert out.exists()
    assert [Path(p).name for p in synced] == ["o.h5.partial"]


def test_poke_syncs_on_the_clock_or_after_the_last_chunk(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 4096)
    calls = []
    monkeypatch.setattr(os, "fdatasync", calls.append)
    sync = BackgroundSync(path)
    sync.poke()  # the clock: not yet
    assert sync.job is None
    sync.poke(last=True)
    sync.close()
    assert len(calls) == 1
