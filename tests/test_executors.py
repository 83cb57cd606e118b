"""Scale-out executors give the same numbers: Dask on a LocalCluster (bit-identical, even when
a worker dies mid-run) and CUDA under Numba's simulator (within 1e-12 relative)."""

import contextlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import datasets

from sim315.cli import main
from sim315.ensembles.runner import execute, plan_run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "examples" / "ladder.yaml"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "local.h5"
    execute(plan_run(EXAMPLE, runs=600, chunk=40), out, progress=False)
    return datasets(out)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        scheduler_port=0,  # a free port: never the fixed 8786/8787 another process holds
        dashboard_address=":0",  # a free port: another process may hold 8787
        timeout="120s",  # worker processes import numba: slow on a loaded 2-core machine
    )
    client = distributed.Client(cluster, timeout="120s")
    yield client
    client.close()
    cluster.close()


def test_dask_gives_the_local_datasets(client, reference, tmp_path):
    from sim315.ensembles.executors import DaskExecutor

    out = tmp_path / "dask.h5"
    execute(
        plan_run(EXAMPLE, runs=600, chunk=40),
        out,
        progress=False,
        executor=DaskExecutor(client=client),
    )
    got = datasets(out)
    for name, arr in reference.items():
        np.testing.assert_array_equal(got[name], arr, err_msg=name)


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(client, reference, tmp_path):
    from sim315.ensembles.executors import DaskExecutor

    killed = []

    def on_result(a):
        if not killed and a >= 120:
            worker = sorted(client.scheduler_info()["workers"])[0]
            killed.append(worker)
            # the worker exits at once; its chunks are computed again elsewhere (the
            # connection may drop with it)
            with contextlib.suppress(Exception):
                client.run(os._exit, 1, workers=[worker], wait=False)

    out = tmp_path / "killed.h5"
    execute(
        plan_run(EXAMPLE, runs=600, chunk=40),
        out,
        progress=False,
        executor=DaskExecutor(client=client, on_result=on_result, window=6),
    )
    assert killed
    got = datasets(out)
    for name, arr in reference.items():
        np.testing.assert_array_equal(got[name], arr, err_msg=name)


CUDA_CHECK = textwrap.dedent(
    """
    import warnings
    import numpy as np
    import sim315
    from sim315.ensembles.runner import plan_run

    warnings.simplefilter("ignore")  # numpy warns on the generator's uint64 wrap-around
    worst = 0.0
    m = sim315.load_model("tests/models/ladder/model.yaml")
    P = m.parameters(24) * np.random.default_rng(0).uniform(0.9, 1.1, (24, len(m.defaults)))
    for method in ("euler", "rk4"):
        a = m.simulate(P, method=method)
        b = m.simulate(P, method=method, target="cuda")
        assert (a.status == b.status).all()
        worst = max(worst, float(np.max(np.abs(a.values - b.values) / np.abs(a.values))))
    plan = plan_run("scenarios/plan.yaml", runs=16)
    P = plan.sampler.rows(0, 16)
    a = plan.model.simulate(P, seed=1)
    b = plan.model.simulate(P, seed=1, target="cuda")
    assert (a.status == b.status).all()
    scale = np.maximum(np.abs(a.values), 1e-300)
    worst = max(worst, float(np.max(np.abs(a.values - b.values) / scale)))
    print("WORST", worst)
    """
)


def test_cuda_simulator_matches_the_cpu():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    out = subprocess.run(
        [sys.executable, "-c", CUDA_CHECK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    worst = float(out.stdout.split("WORST")[1])
    assert worst <= 1e-12


def test_cuda_run_through_the_cli_under_the_simulator(tmp_path):
    code = textwrap.dedent(
        f"""
        from click.testing import CliRunner
        from sim315.cli import main
        r = CliRunner().invoke(main, ["run", {str(EXAMPLE)!r}, "--runs", "40", "-q",
                                      "--executor", "cuda", "-o", {str(tmp_path / "c.h5")!r}])
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(main, ["run", {str(EXAMPLE)!r}, "--runs", "40", "-q",
                                      "-o", {str(tmp_path / "l.h5")!r}])
        assert r.exit_code == 0, r.output
        """
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    a, b = datasets(tmp_path / "c.h5"), datasets(tmp_path / "l.h5")
    for name, arr in b.items():
        np.testing.assert_allclose(a[name], arr, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--executor", "dask"], "the dask executor needs a scheduler address; pass --scheduler"),
        (
            ["--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"],
            "cannot reach the Dask scheduler",
        ),
    ],
)
def test_executor_errors_are_one_line(tmp_path, args, pattern):
    result = CliRunner().invoke(
        main, ["run", str(EXAMPLE), "-q", "-o", str(tmp_path / "o.h5"), *args]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert pattern in lines[0]
    assert not (tmp_path / "o.h5").exists()


def test_cuda_without_a_gpu_says_what_to_do(tmp_path):
    code = textwrap.dedent(
        f"""
        from click.testing import CliRunner
        from sim315.cli import main
        r = CliRunner().invoke(main, ["run", {str(EXAMPLE)!r}, "-q", "--executor", "cuda",
                                      "-o", {str(tmp_path / "o.h5")!r}])
        print(r.exit_code, r.output)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if "no CUDA GPU" not in out.stdout:
        pytest.skip("a CUDA GPU is present here")
    assert out.stdout.startswith("2 error: executor: cuda: no CUDA GPU or driver found")
    assert "NUMBA_ENABLE_CUDASIM=1" in out.stdout


def test_missing_dask_says_what_to_install(monkeypatch):
    import builtins

    from sim315.core.errors import Sim315Error
    from sim315.ensembles.executors import DaskExecutor

    real = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed":
            raise ImportError("No module named 'distributed'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(Sim315Error, match=r"pip install -e '\.\[dask\]'"):
        DaskExecutor()
