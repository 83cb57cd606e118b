"""Produce expected_output.csv for this case with PySD, an independent SD engine.

Run once, by hand, in a virtual environment that has PySD (it is not a dependency of
sim315):

    python3 -m venv /tmp/pysdenv && /tmp/pysdenv/bin/pip install pysd==3.14.3
    cd tests/models/ladder && /tmp/pysdenv/bin/python make_expected.py
"""

import pysd

model = pysd.read_vensim("ladder.mdl")
df = model.run(
    return_columns=[
        "pool",
        "smes",
        "hightech",
        "giants",
        "leaders",
        "entry",
        "sme promotions",
        "rd spending",
        "knowledge",
        "perceived knowledge",
        "knowledge effect",
    ]
)
df.columns = [c.replace(" ", "_") for c in df.columns]
df.index.name = "time"
df.to_csv("expected_output.csv", float_format="%.17g")
