"""The GPU benchmark (issue 15): runs/s of the CUDA target against the CPU of the same machine.

Run once on a machine with an NVIDIA GPU (CI has none), with sim315 installed and numba-cuda:

    python benchmarks/gpu_benchmark.py --json gpu_benchmark.json

Figures, one table line each (and one record each in the ``--json`` file, written after every
figure so that a run cut short keeps what it measured):

``kernel``
    The ladder model (``tests/models/ladder``, Euler, 160 steps, 41 saved times, its five
    stocks saved) at each ``--runs`` (default 10^6 and 10^7): the CUDA kernel alone on
    device-resident parameters and outputs (``launch_cuda`` of the model's CUDA module on a
    ``KernelCall.on_device()``), timed with ``cuda.synchronize()`` after a warm-up launch,
    best of ``--repeat``.
``end-to-end``
    The same runs through ``model.simulate(target="cuda")``: host parameters in, host
    results out, sub-chunks streamed over CUDA streams with pinned staging buffers (in
    chunks of ``--chunk`` runs when given; one call otherwise).
``cpu``
    The same model through ``model.simulate`` on this machine's CPU, all Numba threads, at
    ``--cpu-runs`` (default 10^6).
``plan``
    The flagship plan scenario (``scenarios/plan.yaml``: each run's parameters drawn and its
    2015-2022 history simulated first, on the CPU, untimed) at ``--plan-runs`` (default
    10^6) through the CUDA target, its first ``--check`` runs (default 1,000) compared with
    the CPU kernel.
``e2e numpy copy``
    Last, for comparison: the largest end-to-end figure once more, results copied out of the
    pinned buffers by numpy on one thread rather than Numba's threads
    (``run_cuda(parallel_copy=False)``); ``--skip-numpy-copy`` leaves it out.

Each CUDA figure but the last checks its first ``--check`` runs against the CPU kernel:
``max_rel_diff`` is the largest difference relative to the CPU value (the CUDA target's
documented tolerance is 1e-12: float64 on both, the device's math library may differ in the
last bit), and ``status_equal`` whether every run's status agrees. Under
``NUMBA_ENABLE_CUDASIM=1`` it runs on Numba's simulator with small counts, to show that it
works end to end (its rates mean nothing):

    NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu_benchmark.py --runs 256 512 \\
        --cpu-runs 512 --plan-runs 32 --check 16 --repeat 1 --json /tmp/gpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np

import sim315

ROOT = Path(__file__).resolve().parents[1]
LADDER = ROOT / "tests" / "models" / "ladder" / "model.yaml"
PLAN = ROOT / "scenarios" / "plan.yaml"
#: The ladder's five stocks (its default outputs are all 30 recorded variables; the kernel
#: benchmarks in suite/bench_kernel.py save these five).
OUTPUTS = ("pool", "smes", "hightech", "giants", "leaders")
TOLERANCE = 1e-12


def device_name(cuda) -> str:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "Numba CUDA simulator"
    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


def compare(gpu_values, gpu_status, cpu) -> dict:
    """Largest relative difference and status agreement of the first rows against the CPU."""
    n = cpu.values.shape[0]
    a, b = cpu.values, np.asarray(gpu_values[:n])
    same_nan = bool(np.array_equal(np.isnan(a), np.isnan(b)))
    ok = ~np.isnan(a) & ~np.isnan(b)
    scale = np.maximum(np.abs(a[ok]), 1e-300)
    rel = float(np.max(np.abs(a[ok] - b[ok]) / scale)) if ok.any() else 0.0
    return {
        "checked_runs": int(n),
        "max_rel_diff": rel,
        "bit_identical": bool(same_nan and np.array_equal(a[ok], b[ok])),
        "status_equal": bool(np.array_equal(np.asarray(gpu_status[:n]), cpu.status)),
        "equal_within_tolerance": bool(same_nan and rel <= TOLERANCE),
    }


class Report:
    def __init__(self, path: str | None, header: dict):
        self.path = path
        self.data = {**header, "figures": []}
        self.failed = False
        self.write()

    def add(self, figure: str, runs: int, seconds: float | None, **extra) -> None:
        rate = runs / seconds if seconds else None
        self.data["figures"].append(
            {"figure": figure, "runs": runs, "seconds": seconds, "runs_per_s": rate, **extra}
        )
        if "error" in extra:
            self.failed = True
            print(f"{figure:<22s} {runs:>12,d} runs  FAILED: {extra['error']}", flush=True)
        else:
            check = ""
            if "max_rel_diff" in extra:
                ok = extra["equal_within_tolerance"] and extra["status_equal"]
                check = (
                    f"  first {extra['checked_runs']:,d} vs CPU: max rel diff "
                    f"{extra['max_rel_diff']:.1e} {'OK' if ok else 'MISMATCH'}"
                )
                self.failed |= not ok
            print(
                f"{figure:<22s} {runs:>12,d} runs  {seconds:10.4f} s  {rate:>16,.0f} runs/s{check}",
                flush=True,
            )
        self.write()

    def write(self) -> None:
        if self.path:
            Path(self.path).write_text(json.dumps(self.data, indent=2) + "\n")


def best_of(repeat: int, fn) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def figure(report: Report, name: str, runs: int, fn) -> None:
    """Run one measurement; a failure is recorded and the next figure still runs."""
    try:
        fn()
    except Exception as exc:  # a short GPU session: keep the other figures
        traceback.print_exc()
        report.add(name, runs, None, error=f"{type(exc).__name__}: {exc}")


def ladder_rows(model, runs: int) -> np.ndarray:
    """Defaults scaled by +-10 % per run (as suite/common.py's parameter_matrix)."""
    rng = np.random.default_rng(0)
    P = model.parameters(runs)
    P *= rng.uniform(0.9, 1.1, size=P.shape)
    return P


def kernel_only(report, cuda, model, P, runs, check, repeat) -> None:
    call = model.kernel_call(outputs=OUTPUTS, seed=1)
    mod = model.kernel_module("euler", "cuda")
    need = runs * (P[0].nbytes + np.prod(call.out_shape(1)) * 8 + 4)
    free, _total = cuda.current_context().get_memory_info()
    if need > 0.9 * free:
        raise MemoryError(f"needs {need / 2**30:.1f} GiB on the device, {free / 2**30:.1f} free")
    dcall = call.on_device()
    d_P = cuda.to_device(P[:runs])
    d_out = cuda.device_array(call.out_shape(runs))
    d_status = cuda.device_array(runs, np.int32)
    warm = min(runs, 1024)  # compiles (or loads) the kernel
    mod.launch_cuda(*dcall.args(d_P[:warm], d_out[:warm], d_status[:warm], 0))
    cuda.synchronize()

    def launch():
        mod.launch_cuda(*dcall.args(d_P, d_out, d_status, 0))
        cuda.synchronize()

    seconds = best_of(repeat, launch)
    n = min(check, runs)
    cpu = model.run_call(call, P[:n])
    checked = compare(d_out[:n].copy_to_host(), d_status[:n].copy_to_host(), cpu)
    steps = runs * model.grid.n_steps
    report.add("ladder kernel (cuda)", runs, seconds, run_steps_per_s=steps / seconds, **checked)


def end_to_end(report, model, P, runs, check, repeat, chunk) -> None:
    call = model.kernel_call(outputs=OUTPUTS, seed=1)
    model.run_call(call, P[: min(runs, 1024)], target="cuda")  # compiled already: warm
    chunk = chunk or runs
    first = {}

    def run():
        first.clear()
        for a in range(0, runs, chunk):
            rows = P[a : min(runs, a + chunk)]
            res = model.simulate(rows, outputs=OUTPUTS, seed=1, run_offset=a, target="cuda")
            if a == 0:
                first["values"] = res.values[:check].copy()
                first["status"] = res.status[:check].copy()
            del res

    seconds = best_of(repeat, run)
    cpu = model.run_call(call, P[: min(check, runs)])
    checked = compare(first["values"], first["status"], cpu)
    report.add("ladder end-to-end", runs, seconds, chunk=chunk, **checked)


def end_to_end_numpy_copy(report, runs) -> None:
    """As end_to_end in one call, the results copied out of the pinned buffers by numpy on
    one thread instead of Numba's threads (``run_cuda(parallel_copy=False)``)."""
    model = sim315.load_model(LADDER)
    P = ladder_rows(model, runs)
    call = model.kernel_call(outputs=OUTPUTS, seed=1)
    mod = model.kernel_module("euler", "cuda")

    def run():
        out, status = call.buffers(runs)
        mod.run_cuda(*call.args(P[:runs], out, status, 0), parallel_copy=False)

    report.add("ladder e2e numpy copy", runs, best_of(1, run))


def cpu_reference(report, model, P, runs, repeat) -> None:
    import numba

    call = model.kernel_call(outputs=OUTPUTS, seed=1)
    model.run_call(call, P[: min(runs, 1024)])  # compile or load
    seconds = best_of(repeat, lambda: model.run_call(call, P[:runs]))
    report.add("ladder cpu", runs, seconds, threads=numba.get_num_threads())


def plan_scenario(report, runs, check, repeat) -> None:
    from sim315.ensembles.executors import plan_call
    from sim315.ensembles.runner import plan_run

    plan = plan_run(PLAN, runs=runs)
    model = plan.model
    t0 = time.perf_counter()
    P = plan.sampler.rows(0, runs)
    if plan.start is not None:  # each run's own history, on all CPU threads (untimed)
        P = plan.start.apply(P, 0, plan.sampler)
    prepare = time.perf_counter() - t0
    call = plan_call(plan)
    t0 = time.perf_counter()
    model.run_call(call, P[: min(runs, 256)], target="cuda")  # compile or load
    compile_s = time.perf_counter() - t0
    first = {}

    def run():
        res = model.run_call(call, P, target="cuda")
        first["values"] = res.values[:check].copy()
        first["status"] = res.status[:check].copy()

    seconds = best_of(repeat, run)
    cpu = model.run_call(call, P[: min(check, runs)])
    checked = compare(first["values"], first["status"], cpu)
    report.add(
        "plan (cuda)",
        runs,
        seconds,
        outputs=len(call.names),
        saved_times=call.grid.n_saved,
        prepare_seconds=prepare,
        compile_seconds=compile_s,
        **checked,
    )


def ladder_figures(report, cuda, args) -> None:
    model = sim315.load_model(LADDER)
    P = ladder_rows(model, max([*args.runs, args.cpu_runs]))
    for runs in args.runs:
        figure(
            report,
            "ladder kernel (cuda)",
            runs,
            lambda r=runs: kernel_only(report, cuda, model, P, r, args.check, args.repeat),
        )
    for runs in args.runs:
        figure(
            report,
            "ladder end-to-end",
            runs,
            lambda r=runs: end_to_end(report, model, P, r, args.check, args.repeat, args.chunk),
        )
    figure(
        report,
        "ladder cpu",
        args.cpu_runs,
        lambda: cpu_reference(report, model, P, args.cpu_runs, args.repeat),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10**6, 10**7])
    parser.add_argument("--cpu-runs", type=int, default=10**6)
    parser.add_argument("--plan-runs", type=int, default=10**6)
    parser.add_argument("--check", type=int, default=1000, help="runs compared with the CPU")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many")
    parser.add_argument("--chunk", type=int, default=0, help="end-to-end in chunks of this")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument(
        "--skip-numpy-copy", action="store_true", help="leave out the last, comparison figure"
    )
    args = parser.parse_args(argv)

    import numba
    from numba import cuda

    if not cuda.is_available():
        print("no CUDA GPU (set NUMBA_ENABLE_CUDASIM=1 to try it on the simulator)")
        return 2
    report = Report(
        args.json,
        {
            "device": device_name(cuda),
            "host": platform.node(),
            "cpu_threads": numba.config.NUMBA_NUM_THREADS,
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "numba": numba.__version__,
            "sim315": sim315.__version__,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    print(
        f"device: {report.data['device']}; {report.data['cpu_threads']} CPU threads; numba "
        f"{numba.__version__}, numpy {np.__version__}",
        flush=True,
    )
    ladder_figures(report, cuda, args)  # its parameter rows are freed after
    figure(
        report,
        "plan (cuda)",
        args.plan_runs,
        lambda: plan_scenario(report, args.plan_runs, args.check, 1),
    )
    if not args.skip_numpy_copy:  # last: a comparison, not one of the figures asked for
        most = max(args.runs)
        figure(
            report,
            "ladder e2e numpy copy",
            most,
            lambda: end_to_end_numpy_copy(report, most),
        )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
