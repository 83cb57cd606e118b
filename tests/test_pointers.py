"""Constant-index array access through data pointers (kernels/pointers.py) and the code that
uses it (sim315/compilation/pointers.py): the same values as indexing, and the initialisation
computes only what start values need (sim315/compilation/ordering.py)."""

import numpy as np
import pytest
from conftest import write_model
from numba import njit
from numba.core.errors import TypingError
from sim315.kernels.pointers import data_pointer, load, store

import sim315
from sim315.compilation.pointers import record_store, through_pointers


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


def test_the_initialisation_computes_only_what_start_values_read(tmp_path):
    model = sim315.load_model(write_model(tmp_path, _model("s * r")))
    assert model.ir.init_order == [("aux", "a"), ("stock", "s")]
    res = model.simulate(outputs=["s", "a", "b", "c"])
    # s(0) = 3(k + 1) = 9; ds/dt = s: Euler with dt = 0.5 multiplies by 1.5 each step
    s = 9.0 * 1.5 ** np.arange(5)
    np.testing.assert_allclose(res.values[0, :, 0], s, rtol=1e-15)
    np.testing.assert_allclose(res.values[0, :, 1], 3.0)
    np.testing.assert_allclose(res.values[0, :, 3], 2 * s, rtol=1e-15)  # saved, never a start
