"""The Numba layer of sim315: plain arrays in, plain arrays out.

This package imports only numpy and numba. It holds the explicit Runge-Kutta tableaus,
the system-dynamics builtins that generated model code calls (lookup, STEP, PULSE, RAMP),
and the source of the ensemble driver that the code generator appends to every model.
"""
