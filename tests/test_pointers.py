"""Constant-index array access through data pointers (kernels/pointers.py) and the code that
uses it (sim315/compilation/pointers.py): the same values as indexing, and the initialisation
computes only what start values need (sim315/compilation/ordering.py)."""

import numpy as np
import pytest
from conftest import write_model
from numba import njit
from numba.core.errors import TypingError
from sim315.kernels.pointers import (
    data_pointer,
    keep_alive,
    load,
    load_lane,
    load_n_or_nan,
    load_row,
    or_if_nan,
    prefetch_write,
    scratch,
    scratch_int64,
    select,
    store,
    store_lane,
    store_n,
    view_pointer,
)

import sim315
from sim315.compilation.pointers import (
    lanes_through_pointers,
    parameter_loads,
    record_store,
    record_stores,
    through_pointers,
)
from sim315.ensembles.threads import entry_args


@njit
def _copy_scaled(src, dst):
    ps, pd = data_pointer(src), data_pointer(dst)
    for i in range(src.shape[0]):
        store(pd, i, load(ps, i) * 2.0)
    return 0


@njit
def _store_int(dst, i, v):
    store(data_pointer(dst), i, v)
    return 0


@njit
def _load_int(a, i):
    return load(data_pointer(a), i)


def test_loads_and_stores_are_indexing():
    rng = np.random.default_rng(3)
    src = rng.normal(size=257)
    src[5], src[9] = np.nan, -np.inf
    dst = np.zeros_like(src)
    _copy_scaled(src, dst)
    np.testing.assert_array_equal(dst, src * 2.0)
    k = np.zeros((3, 4))  # row-major: K[s, i] is element s * 4 + i
    _store_int(k.reshape(-1), 2 * 4 + 1, 7)  # an integer stored in a float array: converted
    assert k[2, 1] == 7.0 and k.sum() == 7.0
    assert _load_int(np.array([4, 5, 6], dtype=np.int64), 2) == 6


def test_a_non_contiguous_array_is_refused_at_compile_time():
    with pytest.raises(TypingError):
        _load_int(np.arange(10.0)[::2], 1)


def test_block_lines_are_rewritten_through_pointers():
    loads = ["    s_0 = X[0]", "    p_3 = PP[3]", "    lo_0 = lo[0]"]
    body = ["    v_a = (s_0 * p_3)", "    V[7] = v_a", "    k_0 = v_a", "    K[1, 2] = k_0"]
    body.append("    for i in range(3):\n        V[10 + i] = 0.0")  # an array's loop: kept
    new_loads, new_body = through_pointers(loads, body, k_width=5)
    assert new_loads == [
        "    pK = _ptr(K)",
        "    pPP = _ptr(PP)",
        "    pV = _ptr(V)",
        "    pX = _ptr(X)",
        "    s_0 = _ld(pX, 0)",
        "    p_3 = _ld(pPP, 3)",
        "    lo_0 = lo[0]",  # the caller's array: indexed as before
    ]
    assert new_body[:4] == [
        "    v_a = (s_0 * p_3)",
        "    _st(pV, 7, v_a)",
        "    k_0 = v_a",
        "    _st(pK, 7, k_0)",  # stage 1, slot 2 of 5
    ]
    assert new_body[4] == body[4]
    assert record_store("cpu")(3, "v_x") == "_st(prec, 3, v_x)"
    assert record_store("cuda")(3, "v_x") == "rec[3] = v_x"


def _model(equation_b: str) -> dict:
    return {
        "name": "starts",
        "time": {"start": 0, "stop": 2, "dt": 0.5, "units": "year"},
        "parameters": {
            "k": {"value": 2.0, "units": "firm"},
            "r": {"value": 1.0, "units": "1/year"},
        },
        "stocks": {
            "s": {"initial": "a * 3", "units": "firm", "inflows": ["f"]},
        },
        "flows": {"f": {"equation": "b", "units": "firm/year"}},
        "auxiliaries": {
            "a": {"equation": "k + 1", "units": "firm"},
            "b": {"equation": equation_b, "units": "firm/year"},
            "c": {"equation": "b * 2", "units": "firm/year"},
        },
    }


@njit
def _load_five(a, start):
    return load_row(a, start, 5)


@njit
def _store_three(dst, start, x, k, y):
    store_n(data_pointer(dst), start, (x, k, y))
    return 0


@njit
def _load_count(a, n):
    return load_row(a, 0, n)


def test_tuple_loads_and_stores_are_indexing():
    a = np.array([1.5, np.nan, -np.inf, 4.0, 2.0**-1074, 6.0, 7.0])
    got = _load_five(a, 2)
    assert isinstance(got, tuple) and len(got) == 5
    np.testing.assert_array_equal(got, a[2:7])
    np.testing.assert_array_equal(_load_five(a, np.int32(0)), a[:5])
    dst = np.zeros(6)
    _store_three(dst, 2, 0.25, 3, np.nan)  # an integer converted as a[i] = k converts
    np.testing.assert_array_equal(dst, [0, 0, 0.25, 3.0, np.nan, 0])
    with pytest.raises(TypingError):  # the count must be a literal: the tuple's size
        _load_count(a, 3)


@njit
def _row_three(row, start):
    return load_row(row, start, 3)


@njit
def _scratch(n):
    x = scratch(n)
    for i in range(n):
        x[i] = i + 0.5
    return x


def test_row_loads_read_contiguous_and_strided_rows_alike():
    a = np.array([1.5, np.nan, -np.inf, 4.0, 2.0**-1074, 6.0, 7.0, -0.0])
    np.testing.assert_array_equal(_row_three(a, 2), a[2:5])
    np.testing.assert_array_equal(_row_three(a[::2], 1), a[::2][1:4])  # strided
    np.testing.assert_array_equal(_row_three(a[1:], np.int32(0)), a[1:4])
    with pytest.raises(TypingError):
        njit(lambda r, k: load_row(r, 0, k))(a, 3)  # the count must be a literal


def test_scratch_is_a_new_float_array_each_call():
    x, y = _scratch(4), _scratch(4)
    assert x.dtype == np.float64 and x.shape == (4,) and x.flags.c_contiguous
    np.testing.assert_array_equal(x, [0.5, 1.5, 2.5, 3.5])
    x[0] = 9.0
    assert y[0] == 0.5  # not shared
    assert _scratch(0).shape == (0,)


@njit
def _starts(row):
    return load_n_or_nan(row, 2, 4)


@njit
def _start_or(x, value):
    return or_if_nan(x, value)


def test_start_columns_read_as_start_value_reads_them():
    """What ``start_value`` gives slot by slot (``kernels/builtins.py``): the column where the
    row has it and it is not NaN, else the model's own value; here NaN past the row's end,
    then a select."""
    row = np.array([9.0, 8.0, 1.5, np.nan, -0.0, 7.0])
    np.testing.assert_array_equal(_starts(row), [1.5, np.nan, -0.0, 7.0])
    np.testing.assert_array_equal(_starts(row[:4]), [1.5, np.nan, np.nan, np.nan])  # shorter
    np.testing.assert_array_equal(_starts(row[:1]), [np.nan] * 4)
    wide = np.repeat(row, 2)[::2]  # strided: not C-contiguous
    assert not wide.flags.c_contiguous
    np.testing.assert_array_equal(_starts(wide), [1.5, np.nan, -0.0, 7.0])
    assert _start_or(1.5, 3.0) == 1.5 and _start_or(np.nan, 3.0) == 3.0
    assert _start_or(np.nan, 4) == 4.0 and np.isnan(_start_or(np.nan, np.nan))
    assert _start_or(-np.inf, 3.0) == -np.inf  # only NaN means "no start value"
    assert np.signbit(_start_or(-0.0, 3.0))


def test_record_stores_group_consecutive_indices():
    items = [(0, "p_0", "a"), (1, "v_b", "b"), (2, "s_3", "c"), (5, "v_d", "d"), (7, "x", "e")]
    items += [(8, "min(s_1, v_e)", "f")]
    assert record_stores("cpu", items) == [
        "# rec[0:3]: a, b, c",
        "_stn(prec, 0, (p_0, v_b, s_3,))",
        "_st(prec, 5, v_d)  # d",
        "# rec[7:9]: e, f",
        "_stn(prec, 7, (x, min(s_1, v_e),))",
    ]
    assert record_stores("cuda", items[:2]) == ["rec[0] = p_0  # a", "rec[1] = v_b  # b"]
    assert record_stores("cpu", []) == []


def test_parameter_loads_take_every_parameter_in_one_statement():
    names = [f"name_{i}" for i in range(30)]
    lines = parameter_loads("cpu", names)
    assert lines[-1] == ("(" + ", ".join(f"p_{i}" for i in range(30)) + ",) = _ldrow(p, 0, 30)")
    comments = " ".join(lines[:-1])
    assert all(f"p_{i} name_{i}" in comments for i in range(30))
    assert all(ln.startswith("#") and len(ln) <= 88 for ln in lines[:-1])
    assert parameter_loads("cuda", names[:2]) == ["p_0 = p[0]  # name_0", "p_1 = p[1]  # name_1"]
    assert parameter_loads("cpu", []) == []


def test_a_non_contiguous_parameter_row_gives_the_same_numbers():
    """The generated kernel loads a strided parameter row as it loads a contiguous one."""
    model = sim315.load_model("plan315")
    P = model.parameters(3)
    wide = np.repeat(P, 2, axis=1)[:, ::2]  # the same values, not C-contiguous rows
    assert not wide.flags.c_contiguous
    call = model.kernel_call()
    got = []
    for rows in (P, wide):
        out, status = call.buffers(3)
        model.kernel_module().ensemble_serial(*entry_args(call.args(rows, out, status, 0)))
        got.append(out)
    np.testing.assert_array_equal(got[0], got[1])


def test_the_initialisation_computes_only_what_start_values_read(tmp_path):
    model = sim315.load_model(write_model(tmp_path, _model("s * r")))
    assert model.ir.init_order == [("aux", "a"), ("stock", "s")]
    res = model.simulate(outputs=["s", "a", "b", "c"])
    # s(0) = 3(k + 1) = 9; ds/dt = s: Euler with dt = 0.5 multiplies by 1.5 each step
    s = 9.0 * 1.5 ** np.arange(5)
    np.testing.assert_allclose(res.values[0, :, 0], s, rtol=1e-15)
    np.testing.assert_allclose(res.values[0, :, 1], 3.0)
    np.testing.assert_allclose(res.values[0, :, 3], 2 * s, rtol=1e-15)  # saved, never a start


@njit
def _lanes_twice(rows, lanes):
    """Through a work array's pointer, lane by lane: row 0 the given values, row 1 twice
    them, row 2 one plus row 1 (the lane count read from an int64 scratch array)."""
    W = scratch(3 * lanes)
    pW = data_pointer(W)
    n = scratch_int64(1)
    n[0] = lanes
    for lane in range(n[0]):
        store_lane(pW, 0, lane, rows[lane])
        store_lane(pW, lanes, lane, 2 * load_lane(pW, 0, lane))
        store_lane(pW, 2 * lanes, lane, 1)  # an integer: converted
        x = load_lane(pW, 2 * lanes, lane) + load_lane(pW, lanes, lane)
        store_lane(pW, 2 * lanes, lane, x)
    keep_alive(W)
    return W


def test_lane_loads_and_stores_are_indexing():
    rows = np.array([1.5, -0.0, np.nan, np.inf, 7.0])
    W = _lanes_twice(rows, rows.size)
    np.testing.assert_array_equal(W[:5], rows)
    np.testing.assert_array_equal(W[5:10], 2 * rows)
    np.testing.assert_array_equal(W[10:], 1.0 + 2 * rows)
    assert njit(lambda k: scratch_int64(k))(3).dtype == np.int64


@njit
def _store_through_view(out, value):
    """out[j, m, r] = value + 100 j + 10 m + r through the view's first element and
    strides, each line prefetched first (inside the view and far outside it)."""
    p = view_pointer(out)
    s0, s1, s2 = out.strides[0] // 8, out.strides[1] // 8, out.strides[2] // 8
    for j in range(out.shape[0]):
        for m in range(out.shape[1]):
            prefetch_write(p, j * s0 + m * s1)
            prefetch_write(p, -(1 << 40))  # an address nothing maps: a hint never faults
            for r in range(out.shape[2]):
                store_lane(p, j * s0 + m * s1, r * s2, value + 100.0 * j + 10.0 * m + r)
    return 0


def test_a_view_pointer_addresses_a_strided_view_and_prefetches_change_nothing():
    buf = np.zeros((3, 4, 9))
    view = buf[:, 1:3, 2:7]  # strided: neither C- nor F-contiguous
    _store_through_view(view, 0.5)
    j, m, r = np.meshgrid(range(3), range(2), range(5), indexing="ij")
    np.testing.assert_array_equal(view, 0.5 + 100.0 * j + 10.0 * m + r)
    outside = np.ones(buf.shape, bool)
    outside[:, 1:3, 2:7] = False
    assert not buf[outside].any()  # nothing written outside the view
    asm = _store_through_view.inspect_asm(_store_through_view.signatures[0])
    assert "prefetch" in asm


@njit
def _select_all(c, a, b, ia):
    return select(c, a, b), select(c, ia, b), select(c, ia, 2)


def test_select_is_the_conditional_expression():
    for c in (True, False):
        for a, b in ((1.5, -0.0), (np.nan, 2.0), (-np.inf, np.inf), (-0.0, 0.0)):
            got = _select_all(c, a, b, 3)
            want = (a if c else b, 3 if c else b, 3 if c else 2)
            for g, w in zip(got, want, strict=True):
                assert np.array_equal(np.float64(g), np.float64(w), equal_nan=True)
                assert np.signbit(g) == np.signbit(w)
            assert isinstance(got[2], int)  # two integers: an integer, as ``a if c else b``
    with pytest.raises(TypingError):
        njit(lambda x: select(x, 1.0, 2.0))(1.0)  # the condition must be a boolean


def test_lane_lines_are_rewritten_through_pointers():
    lines = [
        "    W = _scratch(N_LANE_ROWS * LANES)  # row k of lane l: W[k * LANES + l]",
        "        for l in range(nl):",
        "            W[16 + l] = (W[0 + l] * _sel(W[32 + l] >= t1x1, t1y1, t1y0))",
        "            W[48 + l] += 0.0 * W[k + l]  # a probe",
        "            v = W[rec[m] + l]",
        "            k0_3 = W[64 + l] - W[80 + l]",
    ]
    assert lanes_through_pointers(lines) == [
        lines[0],  # a comment's W[...]: kept
        lines[1],
        "            _stl(pW, 16, l, (_ldl(pW, 0, l) * _sel(_ldl(pW, 32, l) >= t1x1, t1y1, t1y0)))",
        "            _stl(pW, 48, l, _ldl(pW, 48, l) + (0.0 * W[k + l]))  # a probe",
        "            v = W[rec[m] + l]",  # an index computed at run time: kept
        "            k0_3 = _ldl(pW, 64, l) - _ldl(pW, 80, l)",
    ]
