"""The ensemble driver is real Python: its entry points run here with the placeholder ``_run``
(jitted and as plain Python, CPU and Numba's CUDA simulator), and the code generator copies
them into model modules as written. The GPU's streamed copy-back gives the one-launch numbers
whatever the sub-chunks and streams."""

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sim315.kernels import driver

from sim315.ensembles.threads import entry_args

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ROOT / "kernels"


def _inputs(runs: int = 11):
    """Inputs of the placeholder, all exact in binary floating point."""
    P = np.arange(runs * 4, dtype=np.float64).reshape(runs, 4) * 0.25
    P[3, 0] = -1.0  # status 1
    lx, ly, lo = np.array([0.5, 2.0]), np.array([3.0, 1.0]), np.array([0, 2], dtype=np.int64)
    sel = np.array([2, 0, 3], dtype=np.int64)
    t0, dt, n_steps, stride = 1.0, 0.25, np.int64(8), np.int64(2)
    key, run0 = np.uint64(12), np.int64(40)
    return P, lx, ly, lo, t0, dt, n_steps, stride, sel, key, run0


def _expected(P, lx, ly, lo, t0, dt, n_steps, stride, sel, key, run0):
    n_saved = int(n_steps // stride) + 1
    t = t0 + np.arange(n_saved) * stride * dt
    extra = lx[0] * ly[0] + lo[0] + (run0 + np.arange(P.shape[0])) + float(key % 7)
    out = P[:, None, sel] + t[None, :, None] + extra[:, None, None]
    status = (P[:, 0] < 0).astype(np.int32)
    return out, status


@pytest.mark.parametrize("name", driver.ENTRY_POINTS)
@pytest.mark.parametrize("jitted", [True, False])
def test_cpu_entry_points_run_with_the_placeholder(name, jitted):
    P, lx, ly, lo, t0, dt, n_steps, stride, sel, key, run0 = _inputs()
    out = np.full((P.shape[0], int(n_steps // stride) + 1, sel.shape[0]), np.nan)
    status = np.full(P.shape[0], -1, dtype=np.int32)
    fn = getattr(driver, name)
    fn = fn if jitted else fn.py_func
    args = (P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0)
    fn(*(entry_args(args, 3) if name.endswith("_serial") else args))  # 3 claims, one caller
    want_out, want_status = _expected(P, lx, ly, lo, t0, dt, n_steps, stride, sel, key, run0)
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(status, want_status)


def _function_source(path: Path, name: str) -> str:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "\n".join(lines[first - 1 : node.end_lineno])
    raise AssertionError(name)


def test_generated_modules_hold_the_driver_as_written(ladder):
    """``ensemble`` copied; ``ensemble_serial`` written with ``_run`` in its loop
    (``tests/test_serial_entry.py``)."""
    source = ladder.source_code("rk4")
    assert _function_source(KERNELS / "driver.py", "ensemble") in source
    assert _function_source(KERNELS / "driver.py", "ensemble_serial") not in source
    assert source.count("def ensemble_serial(") == 1
    assert "Placeholder" not in source
    assert source.count("def _run(") == 1


CUDA_DRIVER_CHECK = textwrap.dedent(
    """
    import sys
    import numpy as np
    from numba import cuda
    sys.path.insert(0, "tests")
    from test_driver import _expected, _inputs
    from sim315.kernels import cuda_driver

    P, lx, ly, lo, t0, dt, n_steps, stride, sel, key, run0 = _inputs(11)
    want_out, want_status = _expected(P, lx, ly, lo, t0, dt, n_steps, stride, sel, key, run0)
    shape = want_out.shape
    cases = [(0, 3, 1), (3, 2, 0), (2, 3, 1), (1, 4, 0), (4, 1, 1), (11, 2, 0), (50, 3, 1)]
    for sub_runs, streams, parallel_copy in cases:
        out = np.full(shape, np.nan)
        status = np.full(shape[0], -1, dtype=np.int32)
        cuda_driver.run_cuda(P, lx, ly, lo, t0, dt, n_steps, stride, sel, out, status, key, run0,
                             sub_runs=sub_runs, streams=streams,
                             parallel_copy=bool(parallel_copy))
        assert (out == want_out).all(), (sub_runs, streams, parallel_copy)
        assert (status == want_status).all(), (sub_runs, streams, parallel_copy)
    # the kernel alone, on device-resident arrays
    d = [cuda.to_device(x) for x in (P, lx, ly, lo, sel)]
    d_out = cuda.device_array(shape)
    d_status = cuda.device_array(shape[0], np.int32)
    s = cuda.stream()
    cuda_driver.launch_cuda(d[0], d[1], d[2], d[3], t0, dt, n_steps, stride, d[4], d_out,
                            d_status, key, run0, s, 8)
    s.synchronize()
    assert (d_out.copy_to_host() == want_out).all()
    assert (d_status.copy_to_host() == want_status).all()
    cuda_driver.run_cuda(P[:0], lx, ly, lo, t0, dt, n_steps, stride, sel, want_out[:0],
                         want_status[:0], key, run0)
    status = np.full(shape[0], -1, dtype=np.int32)  # no outputs saved: statuses only
    cuda_driver.run_cuda(P, lx, ly, lo, t0, dt, n_steps, stride, sel[:0],
                         np.empty(shape[:2] + (0,)), status, key, run0, sub_runs=2)
    assert (status == want_status).all()
    print("OK")
    """
)


def _simulated(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_cuda_entry_points_run_with_the_placeholder_under_the_simulator():
    out = _simulated(CUDA_DRIVER_CHECK)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-1] == "OK"


STREAMED_CHECK = textwrap.dedent(
    """
    import warnings
    import numpy as np
    import sim315
    from sim315.kernels.cuda_driver import ENTRY_POINTS

    warnings.simplefilter("ignore")  # numpy warns on the generator's uint64 wrap-around
    m = sim315.load_model("tests/models/ladder/model.yaml")
    assert all(f"def {name}(" in m.source_code(target="cuda") for name in ENTRY_POINTS)
    P = m.parameters(13) * np.random.default_rng(1).uniform(0.9, 1.1, (13, len(m.defaults)))
    P[5, 0] = np.inf  # a run that stops: status 1, NaN after
    worst = 0.0
    for method in ("euler", "rk2"):
        cpu = m.simulate(P, method=method, seed=7, run_offset=100)
        call = m.kernel_call(method=method, seed=7, outputs=["smes", "leaders", "entry"])
        mod = m.kernel_module(method, "cuda")
        for sub_runs, streams, par in [(1, 3, True), (4, 2, False), (5, 3, True), (13, 2, True)]:
            out, status = call.buffers(13)
            mod.run_cuda(*call.args(P, out, status, 100), sub_runs=sub_runs, streams=streams,
                         parallel_copy=par)
            want = cpu.values[:, :, [m.output_names.index(n) for n in call.names]]
            assert (status == cpu.status).all(), (method, sub_runs)
            assert (np.isnan(out) == np.isnan(want)).all(), (method, sub_runs)
            ok = ~np.isnan(want)
            worst = max(worst, float(np.max(np.abs(out[ok] - want[ok]) / np.abs(want[ok]))))
        d = call.on_device()
        from numba import cuda
        d_out = cuda.device_array(call.out_shape(13))
        d_status = cuda.device_array(13, np.int32)
        mod.launch_cuda(*d.args(cuda.to_device(P), d_out, d_status, 100))
        cuda.synchronize()
        assert (d_status.copy_to_host() == cpu.status).all()
        assert np.allclose(d_out.copy_to_host(), want, rtol=1e-12, equal_nan=True)
    assert list(status) == [0] * 5 + [1] + [0] * 7
    print("WORST", worst)
    """
)


def test_streamed_sub_chunks_give_the_cpu_numbers_under_the_simulator():
    out = _simulated(STREAMED_CHECK)
    assert out.returncode == 0, out.stderr[-3000:]
    assert float(out.stdout.split("WORST")[1]) <= 1e-12


def test_kernels_import_only_numpy_and_numba():
    allowed = {"math", "typing", "numpy", "numba"}
    for path in sorted(KERNELS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {"." if node.level else (node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed | {"."}, f"{path.name} imports {roots - allowed}"


def test_importing_the_cuda_driver_needs_no_gpu():
    code = "import sim315.kernels.cuda_driver as c; print(sorted(c.ENTRY_POINTS))"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
