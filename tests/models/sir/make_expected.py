"""Expected output of the SIR case, from PySD (an independent SD engine) on the Vensim model.

Run once, by hand, in a virtual environment with PySD (not a dependency of sim315):

    python3 -m venv /tmp/pysdenv && /tmp/pysdenv/bin/pip install pysd==3.14.3
    cp ../../../../shared/sd-test-models/samples/SIR/SIR.mdl /tmp/SIR.mdl
    /tmp/pysdenv/bin/python make_expected.py /tmp/SIR.mdl
"""

import sys

import pysd

model = pysd.read_vensim(sys.argv[1])
df = model.run(
    return_columns=["Susceptible", "Infectious", "Recovered", "Succumbing", "Recovering"]
)
df.columns = [c.lower() for c in df.columns]
df.index.name = "time"
df.to_csv("expected_output.csv", float_format="%.17g")
