"""A result file written before the issue-14 restructuring is reproduced bit for bit.

tests/data/ladder-before-issue14.h5 was written by
``sim315 run scenarios/examples/ladder.yaml --runs 8 --seed 7`` at commit 51a506c, before
any module moved. Re-running the same command must give the same datasets, byte for byte,
apart from what the format is allowed to add: the ``format_version`` attribute and the
lever records (/levers/<name>, the parameter matrix's lever columns), and the parameter
matrix stored in two parts since layout 3 (/shared_values, /varied_values), compared put
together.
"""

import json
from pathlib import Path

import h5py
import numpy as np
from click.testing import CliRunner

from sim315.cli import main
from sim315.results.layout import FORMAT_VERSION, parameter_matrix
from sim315.schemas.distributions import Pert

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT / "tests" / "data" / "ladder-before-issue14.h5"
SCENARIO = ROOT / "scenarios" / "examples" / "ladder.yaml"
# Attributes that name the moment or the machine, not the numbers.
VOLATILE = {"created_utc", "scenario_file", "scenario_files", "model_file", "fingerprint"}
VOLATILE |= {"fingerprint_parts", "python_version", "numba_version", "numpy_version"}
VOLATILE |= {"scipy_version", "h5py_version", "sim315_version", "format_version"}
VOLATILE |= {"cpu", "libc", "platform"}
# The hash of the generated kernel's text: it changes with the code generator, not the numbers.
VOLATILE |= {"model_hash"}
# The resolved scenario names the model by its absolute path; the stored file was written in
# a checkout at /work/main.
STORED_ROOT = "/work/main"


def _arrays(h5: h5py.File) -> dict[str, np.ndarray]:
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and not name.startswith("levers"):
            out[name] = obj[()]

    h5.visititems(visit)
    for name in ("shared_values", "varied_parameter", "varied_values"):
        out.pop(name, None)
    out["parameter_values"] = parameter_matrix(h5)
    return out


def _rerun(tmp_path: Path) -> Path:
    out = tmp_path / "again.h5"
    args = ["run", str(SCENARIO), "--runs", "8", "--seed", "7", "-q", "-o", str(out)]
    args += ["--save", "all"]  # every run's outputs, as files were before --save (issue 15)
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    return out


def test_stored_result_reproduced_bit_for_bit(tmp_path, monkeypatch):
    """Byte for byte with PERT values drawn as they were then, by scipy's ``beta.ppf``
    (sim315's own quantile since, within 1.5e-15: the next test)."""
    monkeypatch.setattr(Pert, "fast_ppf", lambda self: self.frozen().ppf)
    monkeypatch.setattr(Pert, "fast_place", lambda self: None)  # the sampler takes ppf's
    again = _rerun(tmp_path)
    with h5py.File(STORED) as old, h5py.File(again) as new:
        a, b = _arrays(old), _arrays(new)
        assert sorted(a) == sorted(b)
        for name in a:
            assert a[name].dtype == b[name].dtype, name
            if a[name].dtype == object:  # variable-length strings: compare the text
                assert a[name].tolist() == b[name].tolist(), name
            else:
                assert a[name].tobytes() == b[name].tobytes(), name
        keep = set(old.attrs) - VOLATILE
        assert keep <= set(new.attrs)
        for k in keep:
            again = str(new.attrs[k]).replace(str(ROOT), STORED_ROOT)
            if k == "scenario":
                again = _without_new_defaults(str(old.attrs[k]), again)
            assert str(old.attrs[k]) == again, k
        assert json.loads(new.attrs["outputs"]) == json.loads(old.attrs["outputs"])


def test_stored_result_within_the_pert_quantiles_error(tmp_path):
    """With sim315's own beta quantile (``kernels/betapoly.py``), the PERT parameter moves by
    at most its stated error (1.5e-15 of the width) and every output by a few ulp; the rest
    of the parameters and the statuses are the same bytes."""
    again = _rerun(tmp_path)
    with h5py.File(STORED) as old, h5py.File(again) as new:
        a, b = _arrays(old), _arrays(new)
        names = [str(n) for n in a["parameter"].astype(str)]
        col = names.index("sme_promotion")
        P0, P1 = a["parameter_values"], b["parameter_values"]
        assert 0 < np.abs(P0[:, col] - P1[:, col]).max() <= 1.5e-15 * (0.09 - 0.04)
        rest = np.arange(P0.shape[1]) != col
        assert P0[:, rest].tobytes() == P1[:, rest].tobytes()
        assert a["run_status"].tobytes() == b["run_status"].tobytes()
        for name in ("giants", "hightech", "leaders", "pool", "smes"):
            np.testing.assert_allclose(b[name], a[name], rtol=1e-13, atol=0)


def _without_new_defaults(old: str, new: str) -> str:
    """The resolved scenario ``new`` without the fields added to scenario files since the
    stored file was written, each of which must be at its default (so it changes nothing)."""
    import yaml

    from sim315.schemas.scenario import Scenario

    before, after = yaml.safe_load(old), yaml.safe_load(new)
    for key in set(after) - set(before):
        assert after[key] == Scenario.model_fields[key].default, key
        new = "\n".join(ln for ln in new.split("\n") if not ln.startswith(f"{key}:"))
    return new


def test_result_file_carries_format_version(tmp_path):
    with h5py.File(_rerun(tmp_path)) as h5:
        assert int(h5.attrs["format_version"]) == FORMAT_VERSION
