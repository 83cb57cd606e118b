"""The on-disk cache of generated kernels.

Each model's generated source is written once under its content hash (which covers the
engine version, since the source names it, and the Numba and Python versions below); Numba
caches the machine code beside it. A second run of the same model, in any process, loads
instead of compiling.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ENV_VAR = "SIM315_CACHE_DIR"


def cache_dir() -> Path:
    """Where kernels are cached: ``$SIM315_CACHE_DIR``, else the user cache folder."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sim315"


def source_hash(source: str) -> str:
    """Content hash of generated source plus the toolchain that compiles it."""
    import numba

    h = hashlib.sha256()
    h.update(source.encode())
    h.update(f"|numba {numba.__version__}|python {sys.version_info[:3]}".encode())
    return h.hexdigest()[:20]


def _writable_dir() -> Path:
    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = d / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
        return d
    except OSError:
        fallback = Path(tempfile.gettempdir()) / f"sim315-cache-{os.getuid()}"
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def load_kernel_module(source: str) -> tuple[ModuleType, str, Path]:
    """Write (once) and import the generated module for ``source``.

    Returns
    -------
    module, digest, path
        The imported module, its content hash and its file.
    """
    digest = source_hash(source)
    name = f"sim315_model_{digest}"
    if name in sys.modules:
        mod = sys.modules[name]
        return mod, digest, Path(mod.__file__)
    path = _writable_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        # write under a temporary name, then rename: concurrent processes never see half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return mod, digest, path
