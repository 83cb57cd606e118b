"""Expected output of the teacup case, from the closed form of Euler's method.

Newton cooling dT/dt = -(T - room)/tau under forward Euler with step dt is the recurrence
T[k+1] = T[k] - dt*(T[k] - room)/tau, whose exact solution is

    T[k] = room + (T0 - room) * (1 - dt/tau)**k.

Nothing here calls sim315. Run from this folder: python make_expected.py
"""

import numpy as np

T0, ROOM, TAU, DT, STOP = 180.0, 70.0, 10.0, 0.125, 30.0
k = np.arange(int(STOP / DT) + 1)
time = k * DT
temp = ROOM + (T0 - ROOM) * (1.0 - DT / TAU) ** k
loss = (temp - ROOM) / TAU
np.savetxt(
    "expected_output.csv",
    np.column_stack([time, temp, loss]),
    delimiter=",",
    header="time,teacup_temperature,heat_loss_to_room",
    comments="",
    fmt="%.17g",
)
