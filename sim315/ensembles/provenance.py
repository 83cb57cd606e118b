"""What a result file records about its run besides the numbers: the versions, the model
and scenario texts, the sampler's provenance, the fingerprint, and each output's
description (units, doc, kind, target)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ..core.elementnames import array_of
from ..core.toolchain import toolchain
from ..core.version import __version__
from ..results.layout import OutputInfo
from .plan import RunPlan


def result_attrs(plan: RunPlan) -> dict:
    """The result file's attributes: enough to say where its numbers came from and to
    replay any run."""
    g = plan.grid
    sampled = plan.sampler.provenance()
    return {
        "sim315_version": __version__,
        **toolchain(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_name": plan.model.name,
        "model_file": str(plan.loaded.model_path),
        "model_hash": plan.model.hash_of(plan.method),
        "kernel_variant": "lanes" if plan.kernel_call().lanes else "scalar",
        "model_text": plan.loaded.model_path.read_text(encoding="utf-8"),
        "scenario_file": str(plan.loaded.path),
        "scenario": plan.loaded.resolved_yaml(),
        "scenario_files": "\n".join(
            f"# --- {name}\n{text}" for name, text in plan.loaded.texts.items()
        ),
        "seed": -1 if plan.seed_setting is None else plan.seed_setting,
        **sampled,
        "method": plan.method,
        "dt": g.dt,
        "save_every": g.save_every,
        "time_units": g.units,
        "groups": json.dumps(plan.model.ir.groups),
        "history_start": "" if plan.start is None else plan.start.record,
        "fingerprint": plan.fingerprint(),
        "fingerprint_parts": json.dumps(plan.fingerprint_parts(), sort_keys=True),
    }


def output_infos(plan: RunPlan) -> list[OutputInfo]:
    """Units, description, kind and target of each saved output."""
    ir = plan.model.ir
    spec = ir.spec
    infos = []
    for name in plan.outputs:
        kind = ir.kinds[name]
        section = {
            "stock": spec.stocks,
            "flow": spec.flows,
            "auxiliary": spec.auxiliaries,
            "parameter": spec.parameters,
        }[kind]
        el = section[array_of(name)]  # an array element: its array's units and doc
        target = next((t for t in ir.targets.values() if t.element == name), None)
        infos.append(
            OutputInfo(
                name,
                el.units,
                el.doc.strip(),
                kind,
                None if target is None else target.info(),
            )
        )
    return infos
