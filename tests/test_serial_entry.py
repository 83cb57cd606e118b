"""``ensemble_serial`` with the model's ``_run`` written into its loop
(``sim315/compilation/serial.py``): the same numbers and statuses, bit for bit, as the
IR-inlined form it replaces and as the parallel entry point, which calls ``_run``; and the
IR-inlined form kept for any ``_run`` the text cannot be moved from safely."""

import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import MODELS, blocked_chain, compile_spec, write_model
from sim315.kernels import claims
from test_lanes import CURVES, _spread

import sim315
from sim315.compilation import codegen
from sim315.compilation.serial import serial_source, shape_ok
from sim315.ensembles.threads import entry_args


def _outputs(model, P, method, entry="ensemble_serial", seed=5, run0=3):
    call = model.kernel_call(method=method, seed=seed)
    out, status = call.buffers(P.shape[0])
    args = call.args(P, out, status, run0)
    getattr(model.kernel_module(method), entry)(*(entry_args(args) if "serial" in entry else args))
    return out, status


def _claim_in_python(counter, step):
    """:func:`sim315.kernels.claims.claim` in Python (one caller: no atomics needed)."""
    first = int(counter[0])
    counter[0] += step
    return first


def _ir_inlined(spec_or_path, monkeypatch):
    """The same model, its ``ensemble_serial`` calling ``_run`` inlined by Numba (before)."""
    monkeypatch.setattr(codegen, "serial_source", lambda text: None)
    if isinstance(spec_or_path, dict):  # not compile_spec's: it keeps one model per spec
        folder = Path(tempfile.mkdtemp(prefix="sim315-model-"))
        spec_or_path = write_model(folder, spec_or_path)
    return sim315.load_model(spec_or_path)


def _blowing_up(model, runs):
    P = _spread(model, runs)
    P[[2, 11], model.parameter_index("cap")] = 0.0  # x / cap: NaN from the first step
    P[7, model.parameter_index("r")] = 1e300  # overflows later
    return P


@pytest.mark.parametrize(
    ("where", "method"),
    [("ladder", "euler"), ("sir", "rk4"), ("teacup", "rk2"), ("curves", "rk4")],
)
def test_written_loop_equals_the_ir_inlined_one_bit_for_bit(where, method, monkeypatch):
    # (sources are written on first use: the new one before the old form is patched in)
    if where == "curves":  # every kind of statement, random draws, runs that blow up
        new = compile_spec(CURVES)
        assert "st_ = 1" in new.source_code(method)
        P = _blowing_up(new, 17)
        old = _ir_inlined(CURVES, monkeypatch)
    else:
        new = sim315.load_model(MODELS / where / "model.yaml")
        assert "st_ = 1" in new.source_code(method)
        P = _spread(new, 17)
        old = _ir_inlined(MODELS / where / "model.yaml", monkeypatch)
    assert "_run_inline(" in old.source_code(method)
    (a, sa), (b, sb) = _outputs(new, P, method), _outputs(old, P, method)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)
    if where == "curves":
        assert sorted(np.flatnonzero(sa)) == [2, 7, 11]


def test_written_loop_equals_the_parallel_entry_point():
    """``ensemble`` still calls ``_run``: the same numbers, statuses and NaN tails."""
    model = compile_spec(CURVES)
    P = _blowing_up(model, 13)
    (a, sa), (b, sb) = _outputs(model, P, "euler"), _outputs(model, P, "euler", "ensemble")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)
    assert np.isnan(a[2]).all() and np.isnan(a[7, -1]).all() and not np.isnan(a[0]).any()


def test_a_blocked_model_writes_its_loop_too(monkeypatch):
    """Models written in blocks (block functions before ``_run``)."""
    spec = blocked_chain()
    new = compile_spec(spec)
    assert "st_ = 1" in new.source_code("euler")
    run = codegen._run_function(new.ir, codegen.METHODS["rk4"])
    assert run.count("@njit") > 2 and shape_ok(run)  # block functions before _run
    P = _spread(new, 5)
    old = _ir_inlined(spec, monkeypatch)
    np.testing.assert_array_equal(_outputs(new, P, "euler")[0], _outputs(old, P, "euler")[0])


def test_every_variant_the_generator_writes_has_the_shape(monkeypatch):
    """The line-by-line writer relies on the generator's layout: each ``_run`` it writes
    (every method, with and without levers, the flagship, the reference models, curves)
    has the shape on the syntax tree too, and gets its loop written."""
    from sim315.kernels.tableaus import METHODS

    models = [sim315.load_model("plan315"), compile_spec(CURVES)]
    models += [sim315.load_model(MODELS / n / "model.yaml") for n in ("ladder", "sir", "teacup")]
    for model in models:
        for method, tab in METHODS.items():
            for levers in (False, True):
                run = codegen._run_function(model.ir, tab, "cpu", levers)
                assert shape_ok(run) and serial_source(run) is not None, (method, levers)
                text = codegen.generate_source(model.ir, method, "cpu", levers)
                assert "st_ = 1" in text and "_run_inline" not in text, (method, levers)


RUN = '''\
@njit(error_model="numpy")
def _run(p, lx, ly, lo, t0, dt, n_steps, stride, sel, out, key, run):
    """A run."""
    s = p[0]
{before}    for step_i in range(n_steps + 1):
        s = s + dt
{inside}    return 0
'''


@pytest.mark.parametrize(
    ("before", "inside"),
    [
        ("    if s < 0:\n        return 1\n", ""),  # a return outside the time loop
        ("", "        for m in range(3):\n            if s > m:\n                return 1\n"),
        ("", "        if s > 9:\n            return s\n"),  # not a constant status
        ("", "        if s > 9:\n            return True\n"),
        ("    r_ = 1\n", ""),  # a name the written loop uses
        ("    f = lambda x: x\n", ""),
        ("    note = '''a\nb'''\n", ""),  # indenting would change the text
    ],
)
def test_other_shapes_keep_the_ir_inlined_form(before, inside):
    text = RUN.format(before=before, inside=inside)
    assert serial_source(text) is None
    assert not shape_ok(text)  # the two checks agree


def test_code_after_the_loop_keeps_the_ir_inlined_form():
    inside = "        if s > 9:\n            return 1\n"
    text = RUN.format(before="", inside=inside).replace(
        "    return 0", "    s = s + 1.0\n    return 0"
    )
    assert serial_source(text) is None and not shape_ok(text)
    assert serial_source(RUN.format(before="", inside=inside)) is not None


def test_the_written_loop_runs_a_hand_written_run():
    """The written function on its own (Python, no Numba): statuses and early stops."""
    inside = "        if s > 2.0:\n            return 1\n        out[step_i] = s\n"
    src = serial_source(RUN.format(before="", inside=inside))
    assert src is not None
    namespace = {"njit": lambda **k: lambda f: f, "_LeanPipeline": None}
    namespace |= {"_share": claims.share.py_func, "_claim": _claim_in_python}
    exec(textwrap.dedent(src), namespace)
    P = np.array([[0.0], [1.5], [5.0]])
    out = np.full((3, 5), np.nan)
    status = np.full(3, -1)
    args = (P, None, None, None, 0.0, 0.5, 3, 1, None, out, status, 0, 0)
    namespace["ensemble_serial"](*entry_args(args))
    assert status.tolist() == [0, 1, 1]
    np.testing.assert_array_equal(out[0], [0.5, 1.0, 1.5, 2.0, np.nan])
    np.testing.assert_array_equal(out[1], [2.0, np.nan, np.nan, np.nan, np.nan])  # stopped
    assert np.isnan(out[2]).all()
