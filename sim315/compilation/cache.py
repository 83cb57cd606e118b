"""The on-disk cache of generated kernels.

Each model's generated source is written once under its content hash (which covers the
engine version, since the source names it, and the Numba and Python versions below); Numba
caches the machine code beside it. A second run of the same model, in any process, loads
instead of compiling.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType

from ..core.interrupts import interrupts_held

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
    """Write (once) and import the generated module for ``source``. Thread-safe: a module
    is in ``sys.modules`` before its code has run, so a second thread asking for it then
    would get it half made (``sim315 run`` draws chunks, and runs their histories, in two
    threads at once); it waits instead.

    Returns
    -------
    module, digest, path
        The imported module, its content hash and its file.
    """
    digest = source_hash(source)
    name = f"sim315_model_{digest}"
    with _LOADING:
        if name in sys.modules:
            mod = sys.modules[name]
            return mod, digest, Path(mod.__file__)
        path = _writable_dir() / f"{name}.py"
        if not path.exists() or path.read_text() != source:
            # write under a temporary name, then rename: concurrent processes never see half
            # a file
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


#: Held while a generated module is written and imported (:func:`load_kernel_module`).
_LOADING = threading.RLock()


def compile_entry(dispatcher, args: tuple) -> None:
    """Compile (or load from the cache) ``dispatcher`` for the types of ``args``, as its
    first call would, with Python's cyclic garbage collector paused meanwhile: Numba's
    compiler makes millions of short-lived objects, and the collections they set off
    traverse every object of the process (numba's and numpy's included) again and again,
    about 6 % of plan315's first compile (0.12 s). Their garbage is collected once the
    collector runs again. Ctrl-C is held off until the compile ends
    (:func:`sim315.core.interrupts.interrupts_held`). Nothing is done for a dispatcher
    already compiled."""
    if dispatcher.overloads:  # (``signatures`` would build a list: 3 us a call)
        return
    from numba import typeof

    defer_blas_probe()
    paused = gc.isenabled()
    gc.disable()
    try:
        with interrupts_held():
            dispatcher.compile(tuple(typeof(a) for a in args))
    finally:
        if paused:
            gc.enable()


_BLAS = "scipy.linalg.cython_blas"


def defer_blas_probe() -> None:
    """Spare the first compile of a process numba's import-time BLAS probe.

    ``numba.np.arraymath``, imported by Numba's first compile, imports ``scipy.linalg`` to
    learn whether ``np.dot`` can use BLAS: 0.1 s, two OpenBLAS thread pools started, and
    scipy's modules to tear down at exit, about 0.15-0.2 s of a process that runs one model
    (sim315's kernels never call BLAS). The module is imported here with that probe failing,
    and its flag is then set to what the probe finds wherever scipy is installed (a
    dependency of sim315): BLAS there. A function that uses ``np.dot`` imports scipy's BLAS
    itself when it compiles, as it always does. Nothing is done once either module is
    imported, or if Numba no longer has the flag."""
    if "numba.np.arraymath" in sys.modules or _BLAS in sys.modules:
        return
    import importlib.util

    sys.modules[_BLAS] = None  # an import of it fails at once, its parents untouched
    try:
        import numba.np.arraymath as arraymath
    finally:
        del sys.modules[_BLAS]
    if hasattr(arraymath, "_HAVE_BLAS"):
        arraymath._HAVE_BLAS = importlib.util.find_spec("scipy") is not None
