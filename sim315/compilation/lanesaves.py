"""How the block-of-runs kernel (:mod:`.lanes`) saves its outputs: at each saved step, into
``out`` by column or by rows of runs
(:meth:`sim315.ensembles.kernelcall.KernelCall.buffers`), with the finiteness test that stops
a lane."""

from __future__ import annotations

from .emitter import Writer
from .ir import ModelIR
from .lanerows import LaneRows

#: Saves ahead whose output lines the block-of-runs kernel prefetches for writing (see
#: :func:`save_outputs`).
PREFETCH_SAVES = 4

#: ``_run_lanes``'s lines before its time loop: ``out``'s pointer ``po``, its strides in
#: elements, its layout ``by_col``, and by column the first saves' lines prefetched.
OUTPUT_SETUP = (
    "# out: by column or by rows of runs, stored through its pointer (see lanesaves.py)",
    "po = _vptr(out)",
    "os0, os1 = out.strides[0] // 8, out.strides[1] // 8",
    "by_col = _by_column(out)",
    "for m in range(n_out if by_col else 0):  # the first saves' lines",
    "    for j in range(PREFETCH_SAVES):",
    "        o = j * os0 + m * os1 + r0",
    "        for l in range(0, nb, 8):",
    "            _pfw(po, o + l)",
    "        _pfw(po, o + nb - 1)",
)


def save_outputs(w: Writer, rows: LaneRows, ir: ModelIR) -> None:
    """At a saved step: the outputs, and the scalar kernel's finiteness test: ``0 * x`` is
    NaN exactly when ``x`` is NaN or infinite, so one sum per lane tests the state and the
    outputs. A lane that fails is NaN from this saved time on (``ends``,
    :func:`sim315.kernels.lanes_driver.end_lanes` at the end); when every lane has, the
    block stops.

    ``out`` (:meth:`sim315.ensembles.kernelcall.KernelCall.buffers`) is written through its
    pointer ``po`` and its strides ``os0``, ``os1`` (in elements). By column (``by_col``:
    saved times, outputs, runs), each output's lanes, a row of ``W``, go to ``nb``
    consecutive elements, and each (time, output) column of a chunk is contiguous for the
    summary that counts it (:func:`sim315.kernels.histograms.hist_add_columns`); the lines
    of the save :data:`PREFETCH_SAVES` ahead are prefetched for writing: a block writes to
    as many columns as it saves values, more streams than the hardware's prefetchers follow
    (plan315's chunks by column: 8 % slower than by rows without it, the same CPU time
    with it; teacup saving 4 values every step: 0.91 of the scalar kernel's time one save
    ahead, 0.79 four ahead). By rows of runs (runs, saved times, outputs: an output too
    large for columns, whose columns would lie megabytes apart), each lane's outputs in a
    row."""
    bad = rows.hoist("finiteness probe", None)
    probe = " + ".join(f"0.0 * {rows.ref(f's_{i}')}" for i in range(len(ir.state_names)))
    w(
        "for l in range(nl):",
        f"    {bad} = {probe or '0.0'}",
        "for m in range(n_out):",
        "    k = rec[m]",
        "    for l in range(nl):",
        f"        {bad} += 0.0 * _ldl(pW, k, l)",
        "if by_col:",
        "    for m in range(n_out):",
        "        k = rec[m]",
        "        o = j * os0 + m * os1 + r0",
        "        for l in range(nb):",
        "            _stl(po, o, l, _ldl(pW, k, l))",
        "        o += PREFETCH_SAVES * os0",
        "        for l in range(0, nb, 8):",
        "            _pfw(po, o + l)",
        "        _pfw(po, o + nb - 1)",
        "else:",
        "    for l in range(nb):",
        "        o = (r0 + l) * os0 + j * os1",
        "        for m in range(n_out):",
        "            _stl(po, o, m, _ldl(pW, rec[m], l))",
        "for l in range(nb):",
        f"    if ends[l] < 0 and not math.isfinite({bad}):",
        "        ends[l] = j",
        "        n_alive -= 1",
        "j += 1",
        "if n_alive == 0:",
        "    break",
    )
