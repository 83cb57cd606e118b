"""Array outputs as labelled arrays: one HDF5 dimension per subscript.

Every saved element of an array is a dataset of its own (``firms[haining]``, shape ``(run,
time)``), which every reader of result files understands. Once a file is complete,
:func:`add_array_views` adds, for each array with saved elements, a *virtual* dataset named
after the array (``firms``, shape ``(run, time, county)``) that maps onto those element
datasets (no copy), and a dimension scale per subscript holding the element names, so that
``xarray.open_dataset(file, engine="h5netcdf")`` gives ``firms`` as a labelled array with a
``county`` coordinate. The summary group gets the same (``summary/firms``, ``(percentile,
time, county)``).

When only some elements of an array are saved, its subscript dimension is named
``<array>.<dimension>`` and lists those elements (other arrays over the same dimension may
have saved other ones).
"""

from __future__ import annotations

import itertools

import h5py
import numpy as np


def add_array_views(f: h5py.File, arrays: dict[str, list[tuple[str, list[str]]]]) -> None:
    """Add the labelled views of ``arrays`` (array name -> its dimensions as (name,
    elements) pairs, in order) to the open, complete file ``f``."""
    for group in (f, f.get("summary")):
        if group is None:
            continue
        for name, dims in arrays.items():
            _view(group, name, dims)


def _view(group: h5py.Group, name: str, dims: list[tuple[str, list[str]]]) -> None:
    combos = list(itertools.product(*(elements for _d, elements in dims)))
    present = [c for c in combos if f"{name}[{','.join(c)}]" in group]
    if not present or name in group:
        return
    axes = [
        [e for e in elements if any(c[k] == e for c in present)]
        for k, (_d, elements) in enumerate(dims)
    ]
    first = group[f"{name}[{','.join(present[0])}]"]
    shape = first.shape + tuple(len(a) for a in axes)
    layout = h5py.VirtualLayout(shape=shape, dtype=first.dtype)
    for combo in present:
        src = group[f"{name}[{','.join(combo)}]"]
        at = tuple(axes[k].index(e) for k, e in enumerate(combo))
        layout[(Ellipsis, *at)] = h5py.VirtualSource(".", src.name, shape=src.shape)
    view = group.create_virtual_dataset(name, layout, fillvalue=np.nan)
    for key in ("units", "kind"):
        if key in first.attrs:
            view.attrs[key] = first.attrs[key]
    view.attrs["long_name"] = name
    for k, scale in enumerate(first.dims):
        for ds in scale.values():
            view.dims[k].attach_scale(ds)
    for k, ((dim, elements), axis) in enumerate(zip(dims, axes, strict=True)):
        label = dim if axis == list(elements) else f"{name}.{dim}"
        view.dims[first.ndim + k].attach_scale(_scale(group, label, axis))


def _scale(group: h5py.Group, label: str, elements: list[str]) -> h5py.Dataset:
    """The dimension scale ``label`` of ``group`` listing ``elements`` (made once; named
    ``dim_<label>`` where an output has the name)."""
    if label in group and not group[label].is_scale:
        label = f"dim_{label}"
    if label not in group:
        ds = group.create_dataset(label, data=np.array(elements, dtype=h5py.string_dtype()))
        ds.make_scale(label)
    return group[label]


def arrays_of(ir) -> dict[str, list[tuple[str, list[str]]]]:
    """The arrays of a compiled model, in the form :func:`add_array_views` takes."""
    layout = ir.layout
    if layout is None:
        return {}
    return {
        name: [(d, list(layout.ranges[d].elements)) for d in dims]
        for name, dims in layout.dims.items()
        if not name.startswith("_") and "." not in name
    }
