"""The Numba layer of sim315: plain arrays in, plain arrays out.

This package imports only numpy and numba. It holds the explicit Runge-Kutta tableaus,
the system-dynamics builtins that generated model code calls (lookup, STEP, PULSE, RAMP),
and the ensemble driver (``driver``; ``cuda_driver`` for the GPU) whose entry points the code
generator copies after every model's generated ``_run``.
"""
