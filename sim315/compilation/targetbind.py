"""Targets of a model file bound to their elements: ids, kinds and years checked."""

from __future__ import annotations

from .ir import TimeGrid


def collect_targets(spec, grid: TimeGrid, fail, layout=None) -> dict:
    """The targets by id, each bound to its element; checks ids, kinds and years
    (``fail(loc, problem, fix)`` makes the error; a target on an array is refused)."""
    from ..language.targets import ModelTarget, missing_years

    targets: dict[str, ModelTarget] = {}
    times = grid.times()
    for section in ("stocks", "flows", "auxiliaries"):
        for name, el in getattr(spec, section).items():
            if el.target is None:
                continue
            if layout is not None and name in layout.dims:
                raise fail(
                    (section, name, "target"),
                    "a target on an array is not supported",
                    "put it on a scalar that sums or picks the elements, e.g. sum(x[region!])",
                )
            t = el.target.as_target()  # the one target value type from here on
            loc = (section, name, "target")
            tid = t.id or name
            if tid in targets:
                other = targets[tid].element
                raise fail(
                    (*loc, "id") if t.id else loc,
                    f"target id '{tid}' of {name} is also the id of {other}'s target",
                    "give each target its own id:",
                )
            if t.kind in ("every_year", "cumulative") and section == "flows":
                raise fail(
                    (*loc, "kind"),
                    f"a {t.kind} target measures the change of a level, and a flow's "
                    "change is not its addition",
                    "put the target on a stock that accumulates the flow",
                )
            fld = "year" if t.kind == "level" else "window"
            needed = t.years_needed()
            if not (grid.start - 1e-9 <= min(needed) and max(needed) <= grid.stop + 1e-9):
                raise fail(
                    (*loc, fld),
                    f"{t.describe()} needs times {min(needed):g}..{max(needed):g}, "
                    f"outside the simulated time {grid.start:g}..{grid.stop:g}",
                    f"fix the {fld} or the time range",
                )
            if missing := missing_years(t, times):
                raise fail(
                    (*loc, fld),
                    f"{t.describe()} needs time {missing[0]:g}, which is not a saved time "
                    f"(every {grid.save_every:g} from {grid.start:g})",
                    "choose time.save_every so that every whole year is saved (e.g. 1 or 0.25)",
                )
            targets[tid] = ModelTarget(tid, name, t)
    return targets
