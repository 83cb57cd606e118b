"""Tier (b): the reference-model corpus in tests/models/<case>/.

Each case holds a model file, an expected output from an independent source (a closed form,
or PySD run once on an equivalent Vensim model), and a README saying which, with the command
that produced it. Tolerances are per case, from the README.
"""

from pathlib import Path

import numpy as np
import pytest

import sim315

MODELS = Path(__file__).parent / "models"
RTOL = {"teacup": 1e-12, "sir": 1e-10, "ladder": 1e-10}


def _expected(case: str) -> dict[str, np.ndarray]:
    data = np.genfromtxt(MODELS / case / "expected_output.csv", delimiter=",", names=True)
    return {name: data[name] for name in data.dtype.names}


@pytest.mark.parametrize("case", sorted(RTOL))
def test_case_matches_its_expected_output(case):
    assert (MODELS / case / "README.md").is_file()
    expected = _expected(case)
    model = sim315.load_model(MODELS / case / "model.yaml")
    res = model.simulate(method="euler")
    np.testing.assert_array_equal(res.time, expected["time"])
    compared = [n for n in expected if n != "time"]
    assert len(compared) >= 2
    for name in compared:
        np.testing.assert_allclose(
            res[name][0], expected[name], rtol=RTOL[case], atol=1e-12, err_msg=name
        )


def test_every_case_folder_is_tested():
    assert sorted(p.name for p in MODELS.iterdir() if p.is_dir()) == sorted(RTOL)
