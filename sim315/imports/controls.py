"""The time settings of an imported model: its control variables (Vensim's INITIAL TIME,
FINAL TIME, TIME STEP and SAVEPER; XMILE's ``sim_specs``, which PySD gives the same names),
which must be numbers, as the model file's ``time`` section."""

from __future__ import annotations

from .equations import UnsupportedError
from .names import CONTROL


def read_time(m) -> dict:
    """The model file's ``time`` section from the control variables (INITIAL TIME, FINAL
    TIME, TIME STEP, SAVEPER) of the mapping ``m``, which keeps their values in ``m.time``
    for equations that read them."""
    m.time = {}
    found = {}
    for k, fld in CONTROL.items():
        el = m.elements.get(k)
        if el is not None:
            found[fld] = el
    for fld in ("start", "stop", "dt", "save"):
        el = found.get(fld)
        if el is None:
            if fld == "save":
                m.time["save"] = m.time["dt"]
                continue
            raise m.fail(
                {"start": "INITIAL TIME", "stop": "FINAL TIME", "dt": "TIME STEP"}[fld],
                "the control variable is missing",
                "define it as a number",
            )
        try:
            m.time[fld] = m.constant(m.component(el).ast)
        except UnsupportedError:
            raise m.fail(
                el.name,
                "a control variable that is not constant at the initial time is not supported",
                "give it a number (sim315 fixes the time grid before the run)",
            ) from None
    units = next((e.units for e in found.values() if e.units and e.units.strip()), None)
    spec = {
        "start": m.time["start"],
        "stop": m.time["stop"],
        "dt": m.time["dt"],
        "units": m.units(units) if units else "1",
    }
    if m.time["save"] != m.time["dt"]:
        spec["save_every"] = m.time["save"]
    if not m.with_units:
        spec["units"] = "1"
    return spec


def time_units(m) -> str | None:
    """The units of the model's time, from its control variables (None if none say)."""
    for k in ("time step", "final time", "initial time"):
        el = m.elements.get(k)
        if el is not None and el.units and el.units.strip():
            return el.units
    return None
