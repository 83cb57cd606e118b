"""Comparing result files: paired policy - baseline differences per target, as text and Markdown."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import Sim315Error
from ..results.reader import has_target_runs, open_complete, target_runs, texts
from .report import Row, _fmt, target_rows


def _diff_text(r: Row, d: float | None) -> str:
    if d is None:
        return "-"
    return f"{100 * d:+.2g} pts/yr" if r.kind == "growth" else f"{d:+.4g}"


def compare_text(a: str | Path, b: str | Path, markdown: bool = False, force: bool = False) -> str:
    """Two result files' tables side by side, with differences A - B (A the policy, B the
    baseline).

    Files made from different model files, or whose targets are defined differently, are
    refused unless ``force``. When both share the seed and sampler (and run count), run *i*
    of A and run *i* of B drew the same uncertain inputs, and the differences are also given
    run by run: the median and 5-95 % of the paired difference, and the share of runs where
    A meets a target that B misses.
    """
    check_comparable(a, b, force)
    ra = {r.output: r for r in target_rows(a)}
    rb = {r.output: r for r in target_rows(b)}
    names = [n for n in ra if n in rb] + [n for n in rb if n not in ra]
    paired = paired_differences(a, b)
    if markdown:
        return _compare_markdown(a, b, ra, rb, names, paired)
    head = ["output", "target", "median A", "median B", "A-B", "P(met) A", "P(met) B", "A-B"]
    if paired:
        head += ["paired A-B: median [5-95 %]", "A met, B not"]
    body = []
    for n in names:
        x, y = ra.get(n), rb.get(n)
        med_a = x.median if x else None
        med_b = y.median if y else None
        pa = x.p_met if x else None
        pb = y.p_met if y else None
        d_med = med_a - med_b if med_a is not None and med_b is not None else None
        d_p = pa - pb if pa is not None and pb is not None else None
        row = [
            n,
            (x or y).target,
            (x or y).value_text(med_a),
            (x or y).value_text(med_b),
            _diff_text(x or y, d_med),
            _fmt(pa, True),
            _fmt(pb, True),
            "-" if d_p is None else f"{100 * d_p:+.0f} pts",
        ]
        if paired:
            row += _paired_cells(x or y, paired.get(n))
        body.append(row)
    widths = [max(len(c) for c in col) for col in zip(head, *body, strict=True)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    note = (
        ["paired: both files share seed, sampler and run count, so run i of A is run i of B"]
        if paired
        else []
    )
    return "\n".join(
        [
            f"A: {a}",
            f"B: {b}",
            *note,
            line(head),
            line(["-" * w for w in widths]),
            *map(line, body),
        ]
    )


def _paired_cells(r: Row, d: dict | None) -> list[str]:
    if d is None:
        return ["-", "-"]
    band = f"{_diff_text(r, d['median'])} [{_diff_text(r, d['p5'])}, {_diff_text(r, d['p95'])}]"
    return [band, _fmt(d["a_only"], True)]


def _identity(path: str | Path) -> dict:
    """What must agree for two files to be compared: the model file and the targets."""
    import hashlib

    with open_complete(path) as h5:
        text = str(h5.attrs.get("model_text", ""))
        s = h5["summary"]
        defs = {}
        if "target_definition" in s:
            defs = dict(zip(texts(s["target"]), texts(s["target_definition"]), strict=True))
        return {
            "model": hashlib.sha256(text.encode()).hexdigest()[:12],
            "model_name": str(h5.attrs.get("model_name", "")),
            "targets": defs,
            "pairing": (
                str(h5.attrs.get("seed_entropy", "")),
                str(h5.attrs.get("sampler", "")),
                int(h5.attrs.get("runs", -1)),
            ),
        }


def check_comparable(a: str | Path, b: str | Path, force: bool = False) -> None:
    """Refuse two files of different models or target definitions, unless ``force``."""
    ia, ib = _identity(a), _identity(b)
    if force:
        return
    if ia["model"] != ib["model"]:
        raise Sim315Error(
            str(b),
            "model",
            f"was made from another model file than {a} ('{ib['model_name']}' "
            f"{ib['model']} vs '{ia['model_name']}' {ia['model']})",
            "compare runs of one model, or pass --force",
        )
    for tid in sorted(ia["targets"].keys() | ib["targets"].keys()):
        if ia["targets"].get(tid) != ib["targets"].get(tid):
            state = "is missing" if tid not in ib["targets"] else "is defined differently"
            raise Sim315Error(
                str(b),
                f"target {tid}",
                f"{state} than in {a}",
                "compare runs with the same targets, or pass --force",
            )


def paired_differences(a: str | Path, b: str | Path) -> dict[str, dict]:
    """Per target, the run-by-run difference A - B of the measured value, when the files
    share seed, sampler and run count (else empty); runs that failed in either are left out.
    """
    from ..language import targets as tg
    from ..schemas.target import Target

    if _identity(a)["pairing"] != _identity(b)["pairing"]:
        return {}
    out: dict[str, dict] = {}
    with open_complete(a) as ha, open_complete(b) as hb:
        sa, sb = ha["summary"], hb["summary"]
        if "target_definition" not in sa or "target_definition" not in sb:
            return {}
        ok = (ha["run_status"][:] == 0) & (hb["run_status"][:] == 0)
        ids_b = set(texts(sb["target"]))
        for tid, el, raw in zip(
            texts(sa["target"]),
            texts(sa["target_element"]),
            texts(sa["target_definition"]),
            strict=True,
        ):
            if tid not in ids_b or not (has_target_runs(ha, el) and has_target_runs(hb, el)):
                continue  # a file saved with --save summary: no run-by-run differences
            tgt = Target.from_json(raw)
            values = []
            for h5 in (ha, hb):
                x, t = target_runs(h5, el, tgt.years_needed())
                values.append(tg.measure(tgt, x, t))
            ma, mb = values
            d = (ma.value - mb.value)[ok]
            d = d[np.isfinite(d)]
            if not d.size:
                continue
            p5, med, p95 = np.percentile(d, [5.0, 50.0, 95.0])
            a_only = np.count_nonzero(ma.met[ok] & ~mb.met[ok]) / max(1, ok.size)
            out[tid] = {
                "median": float(med),
                "p5": float(p5),
                "p95": float(p95),
                "a_only": float(a_only),
            }
    return out


_KINDS = ("level", "every_year", "cumulative", "growth")
_KIND_NAMES = {
    "level": "level in a year",
    "every_year": "every year",
    "cumulative": "cumulative",
    "growth": "realised growth",
}


def _compare_markdown(a, b, ra: dict, rb: dict, names: list[str], paired=None) -> str:
    """Rows grouped by target kind (median, 90 % interval, P(met) of each file), then
    P(met) by kind: the mean over the kind's targets and how many are met in most runs."""
    head = ["output", "kind", "target", "A: median", "A: 5-95 %", "A: P(met)"]
    head += ["B: median", "B: 5-95 %", "B: P(met)"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = {k: i for i, k in enumerate(_KINDS)}
    names = sorted(names, key=lambda n: order.get((ra.get(n) or rb.get(n)).kind, len(_KINDS)))
    for n in names:
        x, y = ra.get(n), rb.get(n)
        first = x or y
        cells = [n, _KIND_NAMES.get(first.kind, first.kind), first.target]
        for r in (x, y):
            cells += (
                ["-", "-", "-"]
                if r is None
                else [
                    r.value_text(r.median),
                    f"{r.value_text(r.p5)} – {r.value_text(r.p95)}",
                    _fmt(r.p_met, True),
                ]
            )
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "| kind | targets | A: mean P(met) | A: met in ≥ 50 % of runs | "
        "B: mean P(met) | B: met in ≥ 50 % of runs |",
        "|---|---|---|---|---|---|",
    ]
    for kind in _KINDS:
        cells = [_KIND_NAMES[kind]]
        groups = [[r for r in rows.values() if r.kind == kind] for rows in (ra, rb)]
        if not any(groups):
            continue
        cells.append(str(max(len(g) for g in groups)))
        for g in groups:
            p = [r.p_met for r in g if r.p_met is not None]
            cells += [
                _fmt(float(np.mean(p)), True) if p else "-",
                f"{sum(v >= 0.5 for v in p)} of {len(p)}",
            ]
        out.append("| " + " | ".join(cells) + " |")
    if paired:
        out += [
            "",
            "Paired differences A - B (run i of A and of B drew the same inputs):",
            "",
            "| output | A - B: median | A - B: 5-95 % | A met, B not |",
            "|---|---|---|---|",
        ]
        for n in names:
            r, d = ra.get(n) or rb.get(n), paired.get(n)
            if d is None:
                continue
            band = f"{_diff_text(r, d['p5'])} – {_diff_text(r, d['p95'])}"
            out.append(
                f"| {n} | {_diff_text(r, d['median'])} | {band} | {_fmt(d['a_only'], True)} |"
            )
    return "\n".join([f"A: {a}, B: {b}", "", *out]) + "\n"
