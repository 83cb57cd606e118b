"""Does the CUDA executor give the CPU kernel's numbers on a real GPU? (Issue 15.)

CI tests the CUDA path under Numba's simulator, which runs the device code as Python on the
CPU, so it cannot show what the device's own arithmetic does. This script, run once on a
machine with an NVIDIA GPU, simulates the same parameter rows on both targets and prints,
per model, the largest difference relative to the output's scale and whether any run's
status differs:

    python benchmarks/gpu_check.py [--runs 2000] [--json OUT.json]

The models: the three reference models in ``tests/models`` with their scenarios' spread of
parameters, and the flagship plan scenario (``scenarios/plan.yaml``, each run starting from its
own calibrated history). Float64 everywhere; the device's ``exp``/``log``/``pow`` come from
libdevice and may differ from the CPU's libm in the last bit, so "identical" is not expected
in general, and the figure says by how much they differ.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import sim315
from sim315.ensembles.runner import plan_run

ROOT = Path(__file__).resolve().parents[1]


def compare(model, P, outputs=None, **kw) -> dict:
    cpu = model.simulate(P, outputs=outputs, seed=7, target="cpu", **kw)
    gpu = model.simulate(P, outputs=outputs, seed=7, target="cuda", **kw)
    a, b = cpu.values, gpu.values
    scale = np.nanmax(np.abs(a), axis=(0, 1))
    scale[~(scale > 0)] = 1.0
    both = np.isfinite(a) & np.isfinite(b)
    rel = float(np.max(np.abs(a - b)[both] / np.broadcast_to(scale, a.shape)[both], initial=0.0))
    return {
        "runs": int(P.shape[0]),
        "outputs": len(cpu.names),
        "identical": bool(np.array_equal(a, b, equal_nan=True)),
        "max_rel_diff": rel,
        "nan_mismatch": int(np.count_nonzero(np.isfinite(a) != np.isfinite(b))),
        "status_mismatch": int(np.count_nonzero(cpu.status != gpu.status)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = {}
    rng = np.random.default_rng(1)
    for name in ("ladder", "sir", "teacup"):
        model = sim315.load_model(ROOT / "tests" / "models" / name / "model.yaml")
        P = model.parameters(args.runs)
        P *= rng.uniform(0.8, 1.2, size=P.shape)  # a spread around the defaults
        for method in ("euler", "rk4"):
            rows[f"{name}/{method}"] = compare(model, P, method=method)
    plan = plan_run(ROOT / "scenarios" / "plan.yaml", runs=args.runs)
    rows["plan315 (plan.yaml)"] = compare(
        plan.model, plan.rows(0, args.runs), outputs=plan.outputs, method=plan.method
    )
    for key, row in rows.items():
        print(
            f"{key:22s} identical={row['identical']!s:5s} max rel diff={row['max_rel_diff']:.2e}"
            f"  NaN mismatches={row['nan_mismatch']}  status mismatches={row['status_mismatch']}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
