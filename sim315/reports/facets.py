"""Arrays in reports: one panel per element (small multiples, one scale), so that counties
or kinds are compared side by side rather than overlaid.

An array's saved elements are the outputs named ``<array>[<element>]`` (``firms[haining]``,
``m[a1,b2]``); an array with at least two saved elements gets a figure of its own, each
panel its element's median and 50 % and 90 % bands over the runs (from the file's summary).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.elementnames import split_element
from . import labels

#: Most panels in one figure; an array with more elements shows its first ones.
MAX_PANELS = 24


def arrays_saved(outputs: list[str]) -> dict[str, list[str]]:
    """Array name -> its saved element outputs (two or more), in the file's order."""
    found: dict[str, list[str]] = {}
    for name in outputs:
        parts = split_element(name)
        if parts:
            found.setdefault(parts[0], []).append(name)
    return {a: els for a, els in found.items() if len(els) >= 2}


def element_figure(h5, array: str, members: list[str], about: str, units: str):
    """One array's elements on a grid of panels sharing the y axis."""
    import matplotlib.pyplot as plt

    shown = members[:MAX_PANELS]
    cols = min(4, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.6 * cols + 0.8, 2.1 * rows + 1.0), sharex=True, sharey=True,
        squeeze=False, layout="constrained",
    )  # fmt: skip
    times = h5["time"][:]
    for ax, name in zip(axes.flat, shown, strict=False):
        q = h5["summary"][name][:]  # percentiles 5, 25, 50, 75, 95
        ax.fill_between(times, q[0], q[4], alpha=0.15, color="C0", lw=0)
        ax.fill_between(times, q[1], q[3], alpha=0.3, color="C0", lw=0)
        ax.plot(times, q[2], color="C0", lw=1.8)
        ax.set_title(",".join(split_element(name)[1]), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(shown) :]:
        ax.set_visible(False)
    low = min(0.0, float(np.nanmin([h5["summary"][n][0] for n in shown])))
    axes[0, 0].set_ylim(bottom=low)
    for ax in axes[:, 0]:
        ax.set_ylabel(labels.units(units))
        from matplotlib.ticker import FuncFormatter

        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: labels.number(v)))
    more = f" (first {MAX_PANELS} of {len(members)})" if len(members) > MAX_PANELS else ""
    fig.suptitle(f"{array} by element{more}: median, 50% and 90% of runs", fontsize=12)
    fig.supxlabel(f"year  ·  {about}", fontsize=8.5, color="#444")
    return fig
