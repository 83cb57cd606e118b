"""The parameter matrix in a result file (layout 3 on; layout 4's rows of the posterior in
tests/test_drawn_layout.py): the values every run shares stored once (``/shared_values``),
the columns that vary stored per run (``/varied_values``), and :func:`parameter_matrix`
putting them together, for this layout and the ones before."""

from pathlib import Path

import h5py
import numpy as np
import pytest
from test_run_errors import _datasets, _interrupted, _invoke, _reference, _with

from sim315.ensembles import sampling
from sim315.results.layout import FORMAT_VERSION, parameter_matrix
from sim315.results.reader import texts

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT / "tests" / "data" / "ladder-before-issue14.h5"


def test_parameter_matrix_reads_the_whole_matrix_of_older_layouts():
    with h5py.File(STORED) as h5:
        assert "parameter_values" in h5 and "varied_values" not in h5
        whole = h5["parameter_values"][:]
        np.testing.assert_array_equal(parameter_matrix(h5), whole)
        np.testing.assert_array_equal(parameter_matrix(h5, [1, 5, 6]), whole[[1, 5, 6]])


def test_only_the_drawn_columns_are_stored_per_run(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(_with(runs=30, chunk=7))
    out = tmp_path / "o.h5"
    assert _invoke(["run", sc, "-o", out, "-q"]).exit_code == 0
    with h5py.File(out) as h5:
        assert int(h5.attrs["format_version"]) == FORMAT_VERSION == 4
        assert "run_draw" not in h5  # no posterior draws: nothing is kept by row
        names = texts(h5["parameter"])
        assert texts(h5["varied_parameter"]) == ["sme_promotion"]
        col = names.index("sme_promotion")
        assert list(h5["varied_parameter"].attrs["columns"]) == [col]
        assert h5["varied_values"].shape == (30, 1)
        shared = h5["shared_values"][:]
        assert np.isnan(shared[col]) and np.isfinite(np.delete(shared, col)).all()
        P = parameter_matrix(h5)
        np.testing.assert_array_equal(P[:, col], h5["varied_values"][:, 0])
        assert len(set(P[:, col])) == 30
        rest = np.delete(P, col, axis=1)
        np.testing.assert_array_equal(rest, np.broadcast_to(np.delete(shared, col), rest.shape))
        rows = [3, 4, 29]
        np.testing.assert_array_equal(parameter_matrix(h5, rows), P[rows])


def test_a_column_that_varies_undeclared_is_refused_not_lost(tmp_path, monkeypatch):
    """A sampler that changes a column its ``varied_columns`` does not name would have its
    values replaced by the shared one: the writer checks every chunk and stops instead."""
    monkeypatch.setattr(sampling.ParameterSampler, "varied_columns", lambda self: [])
    sc = tmp_path / "s.yaml"
    sc.write_text(_with(runs=30, chunk=7))
    out = tmp_path / "o.h5"
    res = _invoke(["run", sc, "-o", out, "-q"])
    assert res.exit_code == 2
    assert "parameter 'sme_promotion' varies between runs" in res.output
    assert "check the disk" not in res.output
    assert not out.exists()


def _as_layout_2(partial: Path) -> None:
    """Rewrite a layout-3 partial file as the previous version laid it out: the whole
    parameter matrix in /parameter_values."""
    with h5py.File(partial, "r+") as h5:
        done = int(h5.attrs["runs_done"])
        runs = int(h5.attrs["runs"])
        P = parameter_matrix(h5)
        for name in ("shared_values", "varied_values", "varied_parameter"):
            del h5[name]
        pv = h5.create_dataset("parameter_values", shape=P.shape, dtype=np.float64)
        pv[:done] = P[:done]
        pv.dims[0].attach_scale(h5["run"])
        pv.dims[1].attach_scale(h5["parameter"])
        h5.attrs["format_version"] = 2
        assert done < runs


def test_a_partial_file_of_layout_2_resumes_in_its_own_layout(tmp_path):
    text = _with(runs=40, chunk=5)
    sc, out = _interrupted(tmp_path, text)
    _as_layout_2(Path(str(out) + ".partial"))
    res = _invoke(["run", sc, "-o", out, "-q", "--resume"])
    assert res.exit_code == 0, res.output
    with h5py.File(out) as h5:
        assert int(h5.attrs["format_version"]) == 2 and "varied_values" not in h5
    ref = _reference(tmp_path, text)
    got = _datasets(out)
    for name in ref:
        np.testing.assert_array_equal(ref[name], got[name], err_msg=name)


@pytest.mark.parametrize("name", ["varied_values", "shared_values", "varied_parameter"])
def test_the_new_datasets_are_reserved_names(tmp_path, name):
    model = (ROOT / "tests" / "models" / "ladder" / "model.yaml").read_text()
    assert "\n  hightech:" in model
    (tmp_path / "m.yaml").write_text(model.replace("hightech", name))
    sc = tmp_path / "s.yaml"
    sc.write_text(_with(model=str(tmp_path / "m.yaml")))
    res = _invoke(["run", sc, "-o", tmp_path / "o.h5", "-q"])
    assert res.exit_code == 2
    assert f"'{name}' clashes with a dataset of the result file" in res.output


def test_a_sampler_that_does_not_name_its_columns_has_every_column_stored(tmp_path, monkeypatch):
    """A sampler of one's own (the ``Sampler`` protocol before ``varied_columns``): every
    column is kept per run, as before layout 3."""
    monkeypatch.delattr(sampling.ParameterSampler, "varied_columns")
    sc = tmp_path / "s.yaml"
    sc.write_text(_with(runs=12, chunk=5))
    out = tmp_path / "o.h5"
    assert _invoke(["run", sc, "-o", out, "-q"]).exit_code == 0
    with h5py.File(out) as h5:
        n = len(texts(h5["parameter"]))
        assert h5["varied_values"].shape == (12, n)
        assert np.isnan(h5["shared_values"][:]).all()
        assert (
            len(set(parameter_matrix(h5)[:, texts(h5["parameter"]).index("sme_promotion")])) == 12
        )
