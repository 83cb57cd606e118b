"""A chunk held by column, as the block-of-runs kernel writes it (issue 15): its output is
(saved times, outputs, runs) and a chunk's values are the transposed view of it. The
histograms count such columns where they lie (``hist_add_columns``) exactly as ``hist_add``
counts rows; ``chunk_columns`` finds that layout and nothing else; a sketch and a whole
summary are the same fed either way; a held chunk's buffer is never handed out again; the
kernel is typed once for every chunk and thread slice."""

import dataclasses

import numpy as np
import pytest
from conftest import MODELS
from sim315.kernels.histograms import hist_add, hist_add_columns
from test_hist_speed_equivalence import _bits, _columns, _fresh
from test_streaming_summary import Q, _adversarial

import sim315
from sim315.compilation.lanes import LANES_FROM
from sim315.ensembles.executors import ChunkBuffers
from sim315.ensembles.kernelcall import by_column
from sim315.results.columns import chunk_columns
from sim315.results.sketch import ColumnSketch


def _by_column(X, room_extra=5):
    """``X`` (runs, times, outputs) copied into a kernel-like buffer; its transposed view."""
    runs, times, outputs = X.shape
    buf = np.full((times, outputs, runs + room_extra), -7.0)
    buf[:, :, :runs] = X.transpose(1, 2, 0)
    return buf[:, :, :runs].transpose(2, 0, 1)


@pytest.mark.parametrize("seed", range(4))
def test_columns_are_counted_as_rows_are(seed):
    """Counts, stats and the values taken between a floor and a cap, bit for bit, from any
    first row, with failed runs and non-finite values; the columns are never written."""
    rng = np.random.default_rng(seed)
    for rows in (1, 9, 1025, 4097):
        cols = int(rng.choice([1, 7, 16, 17, 40]))
        finite = bool(rng.random() < 0.5)
        X = _columns(rows, cols, rng, non_finite=not finite)
        ok = rng.random(rows) < (1.0 if rng.random() < 0.5 else 0.85)
        lo, scale = rng.normal(size=cols) - 2.0, rng.uniform(0.5, 3000.0, cols)
        r0 = int(rng.integers(0, 5))
        Z = np.full((cols, r0 + rows + 3), np.nan)
        Z[:, r0 : r0 + rows] = X.T
        before = Z.copy()
        at = np.where(np.arange(cols) % 3 == 0, np.arange(cols) // 3, -1)
        low, high = np.full(cols, 0.0), np.full(cols, 2.5)
        got, want = [], []
        for fn, src, into in ((hist_add, X, want), (hist_add_columns, Z, got)):
            counts, stats = _fresh(cols)
            out, size = np.full((cols, rows), np.nan), np.zeros(cols, np.int64)
            take = (at, low, high, out, size)
            if fn is hist_add:
                fn(src, ok, lo, scale, counts, stats, finite, take)
            else:
                fn(src, r0, ok, lo, scale, counts, stats, finite, take)
            into += [counts, _bits(stats), size, [out[t, : size[t]] for t in range(cols)]]
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[2], want[2])
        for a, b in zip(got[3], want[3], strict=True):
            np.testing.assert_array_equal(_bits(a), _bits(b))
        np.testing.assert_array_equal(_bits(Z), _bits(before))


def test_chunk_columns_finds_the_kernels_layout_and_nothing_else():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(11, 3, 4))
    values = _by_column(X)
    Z = chunk_columns(values)
    assert Z is not None and Z.flags.c_contiguous and Z.shape == (12, 16)
    for j in range(3):
        for m in range(4):
            np.testing.assert_array_equal(Z[j * 4 + m, :11], X[:, j, m])
    first = chunk_columns(values[:6])  # the runs a summary is fed: the same columns
    assert first is not None and np.shares_memory(first, Z) and first.shape == Z.shape
    # anything else is read as rows
    assert chunk_columns(values[1:]) is None  # another first run
    assert chunk_columns(X) is None  # rows of runs
    assert chunk_columns(np.asfortranarray(X)) is None
    assert chunk_columns(values.copy()) is None
    assert chunk_columns(values[:, ::-1]) is None
    assert chunk_columns(values[:, :, :2]) is None  # some outputs of each time
    assert chunk_columns(np.ascontiguousarray(X.transpose(1, 2, 0))[:, :, :5]) is None


def _stream(X, ok, chunk, by_column):
    s = ColumnSketch(X.shape[0], X.shape[1], Q, prefix=3000, threads=2)

    def feed():
        for a in range(0, X.shape[0], chunk):
            part, keep = X[a : a + chunk], ok[a : a + chunk]
            if by_column:
                values = _by_column(part[:, None, :])
                Z = chunk_columns(values)
                s.feed(a, Z[:, : part.shape[0]].T, keep, Z)
            else:
                s.feed(a, part, keep)

    feed()
    while (cols := s.pending()).size:
        s.exact_pass(cols[: s.pass_size()])
        feed()
        s.end_pass()
    return s.result()


@pytest.mark.parametrize("chunk", [997, 4096])
def test_a_sketch_fed_by_column_gives_the_numbers_fed_by_row(chunk):
    rng = np.random.default_rng(3)
    X = _adversarial(40_000, rng)
    ok = rng.random(X.shape[0]) < 0.97
    (v0, e0), (v1, e1) = (_stream(X, ok, chunk, by) for by in (False, True))
    np.testing.assert_array_equal(_bits(v1), _bits(v0))
    np.testing.assert_array_equal(_bits(e1), _bits(e0))


@pytest.fixture(scope="module")
def ladder():
    return sim315.load_model(MODELS / "ladder" / "model.yaml")


def test_a_held_chunk_by_column_is_never_handed_out(ladder):
    """A chunk's values hold its buffer (a transposed view refers to the buffer that owns
    the memory): the pool hands out another until it is released."""
    call = ladder.kernel_call(runs=LANES_FROM, seed=2)
    assert call.lanes
    pool = ChunkBuffers(call)
    P = ladder.parameters(300)
    first = pool.take(300)
    res = ladder.run_call(call, P, buffers=first)
    held, copy = res.values, res.values.copy()
    del res, first
    second = pool.take(300)
    assert second[0].base is not held.base
    ladder.run_call(call, P * 1.01, buffers=second)
    np.testing.assert_array_equal(held, copy)  # not overwritten
    owner = id(held.base)
    del second, held
    assert id(pool.take(300)[0].base) == owner  # released: reused


def test_the_lanes_kernel_is_typed_once_for_every_chunk_and_slice(ladder):
    """Its output view is never contiguous (each column has room past its runs), so a
    whole chunk, a thread's slice and a last short chunk have one Numba type."""
    from numba import typeof

    call = ladder.kernel_call(runs=LANES_FROM, seed=2)
    types = set()
    for runs in (1, 8, 300, 2492):
        out, _ = call.buffers(runs)
        assert by_column(out)
        types |= {typeof(out), typeof(out[:, :, : runs // 2 + 1]), typeof(out[:, :, runs // 3 :])}
    assert len(types) == 1, types
    assert not call.buffers(5)[0].flags.c_contiguous
    one = dataclasses.replace(call, sel=call.sel[:1], names=call.names[:1])
    out = np.empty((1, 1, 13))[:, :, :5]  # one saved value: still told from rows
    assert by_column(out) and not by_column(np.empty((5, 1, 1)))
    assert one.out_shape(5) == (call.grid.n_saved, 1, 5)


def test_an_output_too_large_for_columns_is_written_by_rows_of_runs(ladder, monkeypatch):
    """Past COLUMN_BYTES, the columns of one call would lie megabytes apart: the lanes
    write rows of runs, with the same numbers, and the chunk is read as rows."""
    from sim315.ensembles import kernelcall

    call = ladder.kernel_call(runs=LANES_FROM, seed=2)
    P = ladder.parameters(300) * np.random.default_rng(6).uniform(0.9, 1.1, (300, 1))
    cols = ladder.run_call(call, P, threads=2).values
    monkeypatch.setattr(kernelcall, "COLUMN_BYTES", 20_000)
    assert not call.writes_by_column(300) and call.writes_by_column(1)
    rows = ladder.run_call(call, P, threads=2).values
    assert rows.flags.c_contiguous and chunk_columns(rows) is None
    np.testing.assert_array_equal(rows, cols)
    ok = np.ones(300, bool)
    ok[[3, 299]] = False
    for threads in (1, 2):  # a run that blows up: NaN from then on, in either layout
        Q = P.copy()
        Q[7, 0] = np.nan
        a = ladder.run_call(call, Q, threads=threads)
        monkeypatch.setattr(kernelcall, "COLUMN_BYTES", 64 << 20)
        b = ladder.run_call(call, Q, threads=threads)
        monkeypatch.setattr(kernelcall, "COLUMN_BYTES", 20_000)
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.status, b.status)
        assert a.status[7] != 0 and np.isnan(a.values[7, -1]).all()


def test_lanes_results_are_the_scalar_kernels_in_the_same_order(ladder):
    """``values`` is (runs, times, outputs) whatever the kernel's layout."""
    P = ladder.parameters(50) * np.random.default_rng(4).uniform(0.9, 1.1, (50, 1))
    lanes = ladder.kernel_call(runs=LANES_FROM, seed=3)
    scalar = dataclasses.replace(lanes, lanes=False)
    a = ladder.run_call(lanes, P, threads=2).values
    b = ladder.run_call(scalar, P, threads=2).values
    assert a.shape == b.shape and chunk_columns(a) is not None and chunk_columns(b) is None
    np.testing.assert_array_equal(a, b)


def test_a_dask_chunk_is_sent_as_runs_times_outputs(ladder):
    """A worker's chunk (``chunk_task``) comes back as (runs, times, outputs), the local
    run's numbers, whatever layout the kernel wrote."""
    from sim315.ensembles.executors import chunk_task

    call = ladder.kernel_call(runs=LANES_FROM, seed=4)
    P = ladder.parameters(40) * np.random.default_rng(8).uniform(0.9, 1.1, (40, 1))
    got, status = chunk_task(ladder.source_code("euler"), call, P, 100)
    want = ladder.run_call(call, P, run_offset=100)
    assert got.shape == want.values.shape
    np.testing.assert_array_equal(got, want.values)
    np.testing.assert_array_equal(status, want.status)
