"""Layout 4 of the result file: the varied parameters a run's posterior row decides (its
calibrated draws and the start states of that row's history run) stored once per row
(``/drawn_values``) with each run's row (``/run_draw``), and :func:`parameter_matrix` giving
every run's parameters back, bit for bit, for a whole, a resumed and a replayed run."""

from pathlib import Path

import h5py
import numpy as np
import pytest
from test_history_start import interrupt_after_first_chunk

from sim315.core.errors import Sim315Error
from sim315.ensembles.runner import execute, plan_run
from sim315.results.drawn import DrawnTable
from sim315.results.layout import FORMAT_VERSION, parameter_matrix
from sim315.results.reader import texts

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "scenarios" / "plan.yaml"


def _plan(runs=60):
    return plan_run(PLAN, runs=runs, chunk=25)


def _arrays(path: Path) -> dict:
    with h5py.File(path) as h5:
        out = {k: h5[k][()] for k in ("run_draw", "drawn_values", "varied_values", "run_status")}
        out["P"] = parameter_matrix(h5)
    return out


def test_the_posterior_rows_parameters_are_stored_once_per_row(tmp_path):
    plan = _plan()
    out = tmp_path / "o.h5"
    execute(plan, out, progress=False)
    cols, draws = plan.drawn_columns()
    posterior = {int(c) for c in plan.sampler.posterior[0]}
    states = {int(c) for c in plan.start.state_columns}
    assert set(cols) == posterior | states and len(states) == 47 and draws > 1000
    expected = _plan().rows(0, 60)  # what the writer was handed, drawn again
    with h5py.File(out) as h5:
        assert int(h5.attrs["format_version"]) == FORMAT_VERSION == 4
        assert list(h5["drawn_parameter"].attrs["columns"]) == cols
        assert texts(h5["drawn_parameter"]) == [texts(h5["parameter"])[c] for c in cols]
        assert not set(h5["varied_parameter"].attrs["columns"]) & set(cols)
        assert h5["drawn_values"].shape == (draws, len(cols))
        run_draw = h5["run_draw"][:]
        np.testing.assert_array_equal(run_draw, plan.draws(0, 60))
        unseen = np.setdiff1d(np.arange(draws), run_draw)
        assert np.isnan(h5["drawn_values"][:][unseen]).all()
        P = parameter_matrix(h5)
        assert P.tobytes() == expected.tobytes()
        rows = [0, 24, 25, 59]
        assert parameter_matrix(h5, rows).tobytes() == expected[rows].tobytes()
    import xarray as xr

    with xr.open_dataset(out, engine="h5netcdf") as ds:  # readable as netCDF, labelled
        assert ds["drawn_values"].dims == ("draw", "drawn_parameter")
        assert ds["run_draw"].dims == ("run",)


def test_a_resumed_run_keeps_the_rows_its_first_part_drew(tmp_path, monkeypatch):
    """Interrupted after its first chunk, the partial file has that chunk's rows saved with
    it; the resumed file equals an uninterrupted one in every parameter dataset."""
    out = tmp_path / "r.h5"
    interrupt_after_first_chunk(monkeypatch, lambda: execute(_plan(), out, progress=False))
    with h5py.File(str(out) + ".partial") as h5:
        assert int(h5.attrs["runs_done"]) == 25
        assert (~np.isnan(h5["drawn_values"][:, 0])).sum() == len(set(h5["run_draw"][:25]))
    assert execute(_plan(), out, resume=True, progress=False).resumed_from == 25
    whole = tmp_path / "whole.h5"
    execute(_plan(), whole, progress=False)
    a, b = _arrays(out), _arrays(whole)
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name


def test_runs_of_one_row_with_other_values_are_refused_not_lost(tmp_path, monkeypatch):
    """Every run told it drew row 0: their calibrated values differ, which the layout could
    not keep; the writer stops with the reason and leaves no file under the final name."""
    plan = _plan(30)
    monkeypatch.setattr(type(plan), "draws", lambda self, a, b: np.zeros(b - a, np.int64))
    out = tmp_path / "o.h5"
    with pytest.raises(Sim315Error, match="drew the same posterior row"):
        execute(plan, out, progress=False)
    assert not out.exists()


def test_a_plan_without_posterior_draws_keeps_every_varied_column_per_run(tmp_path):
    plan = plan_run(ROOT / "benchmarks" / "scenarios" / "ladder-e2e.yaml", runs=20)
    assert plan.drawn_columns() == ([], 0) and plan.draws(0, 5) is None
    out = tmp_path / "l.h5"
    execute(plan, out, progress=False)
    with h5py.File(out) as h5:
        assert "run_draw" not in h5 and "drawn_values" not in h5
        assert parameter_matrix(h5).tobytes() == plan.rows(0, 20).tobytes()


def test_a_new_files_table_starts_empty_unread_a_resumed_ones_is_read(tmp_path):
    # a new file's rows are the layout's fill value (NaN): not read from the disk (5 MB at
    # 10^6 plan runs, on the first chunk's path); a partial file's are what it kept
    out = tmp_path / "o.h5"
    execute(_plan(), out, progress=False)
    with h5py.File(out, "r+") as h5:
        h5["drawn_values"][:5] = 7.0
        new, kept = DrawnTable(h5, out, new=True), DrawnTable(h5, out)
        assert new.values.shape == kept.values.shape == h5["drawn_values"].shape
        assert np.isnan(new.values).all() and not new.seen.any()
        assert (kept.values[:5] == 7.0).all() and kept.seen[:5].all()
