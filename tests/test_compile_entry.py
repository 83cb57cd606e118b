"""The first compile of a kernel (``sim315.compilation.cache.compile_entry``): once, before
threads call it, with the garbage collector paused and numba's BLAS probe deferred."""

import gc
import subprocess
import sys
import textwrap

import numpy as np
from conftest import MODELS
from numba import njit

import sim315
from sim315.compilation import cache


def test_a_fresh_process_compiles_without_importing_scipy_linalg(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import sim315
        sim315.load_model({str(MODELS / "ladder" / "model.yaml")!r}).simulate()
        import numba.np.arraymath as arraymath
        assert "scipy.linalg" not in sys.modules
        assert arraymath._HAVE_BLAS  # as numba's own probe finds it
        from numba import njit
        dot = njit(lambda a, b: np.dot(a, b))  # BLAS, imported when it compiles
        assert dot(np.ones(3), np.arange(3.0)) == 3.0
        assert "scipy.linalg" in sys.modules
        print("ok")
        """
    )
    env = {"SIM315_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_the_collector_is_left_as_it_was():
    for enabled in (True, False):

        @njit
        def f(x):
            return x + 1.0

        (gc.enable if enabled else gc.disable)()
        try:
            cache.compile_entry(f, (1.0,))
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
        assert f.signatures and f(1.0) == 2.0


def test_a_compile_error_restores_the_collector():
    @njit
    def bad(x):
        return x.no_such_attribute

    try:
        cache.compile_entry(bad, (1.0,))
    except Exception:
        pass
    else:
        raise AssertionError("expected a typing error")
    assert gc.isenabled()


def test_threads_find_the_kernel_compiled_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM315_CACHE_DIR", str(tmp_path))
    m = sim315.load_model(MODELS / "ladder" / "model.yaml")
    P = m.parameters(400)
    a = m.simulate(P, threads=2).values
    serial = m.kernel_module("euler").ensemble_serial
    assert len(serial.signatures) == 1
    np.testing.assert_array_equal(a, m.simulate(P, threads=1).values)


def test_the_command_line_freezes_the_objects_once_at_exit(monkeypatch):
    """``sim315`` commands leave the teardown's garbage collections out (``gc.freeze`` at
    exit), registered once however many commands one process runs."""
    import atexit

    from click.testing import CliRunner

    from sim315.cli import app, main

    registered = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(app, "_FREEZING", [])
    for _ in range(3):
        assert CliRunner().invoke(main, ["schema"]).exit_code == 0
    assert registered == [gc.freeze]


def test_threads_loading_one_module_at_once_each_get_it_whole():
    """Two sampler threads may run the same history model for the first time together: the
    second must wait for the first's import, not take the half-made module it put in
    sys.modules (its names not yet defined)."""
    import threading
    import time
    import uuid

    source = f"import time\ntime.sleep(0.5)\nREADY = {uuid.uuid4().int}\n"  # fresh each run
    got = []

    def load():
        mod = cache.load_kernel_module(source)[0]
        got.append(getattr(mod, "READY", None))

    threads = [threading.Thread(target=load) for _ in range(3)]
    threads[0].start()
    time.sleep(0.2)  # the first is importing: its module is in sys.modules, half made
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and None not in got and len(set(got)) == 1
