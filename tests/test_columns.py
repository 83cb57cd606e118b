"""The column kernels on parameter matrices (kernels/columns.py) against numpy's indexing,
bit for bit: start states put into a chunk's rows, the writer's varied columns taken out,
and the writer's check that the other columns hold the shared values."""

import numpy as np
import pytest
from sim315.kernels.columns import first_mismatch, put_rows, take_columns


@pytest.mark.parametrize(("rows", "width", "k"), [(0, 5, 2), (1, 1, 1), (2492, 175, 47), (7, 9, 9)])
def test_put_rows_and_take_columns_are_numpys_fancy_indexing(rows, width, k):
    """``put_rows``: each run's row of a table (a posterior sample: rows drawn again and
    again, in any order) into its columns, as ``P[:, cols] = table[rows]``."""
    rng = np.random.default_rng(rows + width)
    P = rng.normal(size=(rows, width))
    P[rng.random(P.shape) < 0.05] = np.nan
    cols = rng.choice(width, k, replace=False).astype(np.int64)  # in any order
    table = rng.normal(size=(13, k))
    table[:, 0] = -0.0
    table[3, -1] = np.nan
    drawn = rng.integers(0, 13, rows)
    want = P.copy()
    want[:, cols] = table[drawn]
    put_rows(P, cols, table, drawn)
    np.testing.assert_array_equal(P.view(np.int64), want.view(np.int64))
    out = np.full((rows, k), 7.0)
    take_columns(P, cols, out)
    np.testing.assert_array_equal(out.view(np.int64), P[:, cols].view(np.int64))


def test_first_mismatch_compares_bits():
    shared = np.array([1.0, np.nan, 0.0, 3.0])
    P = np.tile(shared, (5, 1))
    cols = np.array([0, 1, 2], dtype=np.int64)
    assert first_mismatch(P, cols, shared) == -1  # NaN matches NaN
    P[3, 2] = -0.0
    assert first_mismatch(P, cols, shared) == 2  # -0.0 is not 0.0
    P[2, 1] = 2.0  # an earlier row
    assert first_mismatch(P, cols, shared) == 1


def test_rows_are_kept_once_and_each_later_run_compared_with_them():
    """``keep_by_row`` (the result file's values by posterior row): a row's values kept
    from the first run that draws it, later runs compared as numbers (NaN equals NaN, -0.0
    equals 0.0, as ``np.array_equal(..., equal_nan=True)`` compared them), the first that
    differs named, within one chunk too."""
    from sim315.kernels.columns import keep_by_row

    cols = np.array([3, 0], dtype=np.int64)
    table, seen = np.full((4, 2), np.nan), np.zeros(4, dtype=np.bool_)
    P = np.array([[1.0, 9, 9, np.nan], [2.0, 8, 8, 5.0], [1.0, 7, 7, np.nan], [-0.0, 1, 1, 5.0]])
    P[3, 0] = 2.0
    draws = np.array([1, 2, 1, 2], dtype=np.int64)
    assert keep_by_row(P, cols, draws, table, seen) == (-1, True)
    assert table[1].tolist()[1] == 1.0 and np.isnan(table[1, 0]) and table[2].tolist() == [5.0, 2.0]
    assert seen.tolist() == [False, True, True, False]
    zeros = np.array([[0.0, 0, 0, -0.0]])
    assert keep_by_row(zeros, cols, np.array([3]), table, seen) == (-1, True)
    assert keep_by_row(-zeros, cols, np.array([3]), table, seen) == (-1, False)
    other = P.copy()
    other[2, 3] = 4.0  # run 2 drew row 1 with another value
    assert keep_by_row(other, cols, draws, table, seen) == (2, False)
    again = P[[0]].copy()
    again[0, 0] = np.nan  # NaN where the row kept 1.0
    assert keep_by_row(again, cols, draws[:1], table, seen) == (0, False)


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_output_rows_are_numpys_indexing_and_reuse_their_buffer(layout):
    """The writer's gather of a kept output's times (``rows.output_rows``): a chunk's
    ``values[:, cols, m]`` in either layout the kernels write (runs first, or by column:
    times, outputs, runs), bit for bit, into one buffer per output, reused by the next
    chunk (a shorter last chunk takes its first rows)."""
    from sim315.results.rows import output_rows

    rng = np.random.default_rng(41)
    shape = (50, 9, 4)
    V = rng.normal(size=shape)
    V[rng.random(shape) < 0.05] = np.nan
    V[0, 3, 2] = -0.0
    if layout == "columns":
        V = np.ascontiguousarray(V.transpose(1, 2, 0)).transpose(2, 0, 1)
    keep: dict = {}
    cols = np.array([8, 0, 3], dtype=np.int64)
    x = output_rows(V, 2, cols, keep)
    np.testing.assert_array_equal(x.view(np.int64), V[:, cols, 2].view(np.int64))
    assert x.flags.c_contiguous
    y = output_rows(V[:20], 2, cols, keep)  # the last chunk: shorter
    assert np.shares_memory(x, y)
    np.testing.assert_array_equal(y.view(np.int64), V[:20, cols, 2].view(np.int64))
    z = output_rows(V, 1, np.arange(9), keep)  # every time ("--save all")
    np.testing.assert_array_equal(z.view(np.int64), V[:, :, 1].view(np.int64))
