"""Explicit Runge-Kutta methods as Butcher tableaus (data fed to one stepper).

Each method is a ``Tableau``: the strictly lower-triangular stage matrix ``a``, the weights
``b`` and the nodes ``c``. The ensemble driver integrates with any of them; adding a method
means adding a row to ``METHODS``, never a new stepper.

References
----------
Butcher, J. C. (2016). *Numerical Methods for Ordinary Differential Equations*, 3rd ed.
Wiley. doi:10.1002/9781119121534
"""

from typing import NamedTuple

import numpy as np


class Tableau(NamedTuple):
    """An explicit Runge-Kutta method.

    Attributes
    ----------
    name : str
        Registry name.
    order : int
        Classical order of accuracy (the global error shrinks as ``dt**order``).
    a : ndarray, shape (s, s)
        Stage coefficients, strictly lower triangular.
    b : ndarray, shape (s,)
        Weights of the stage derivatives in the step.
    c : ndarray, shape (s,)
        Stage times as fractions of ``dt``.
    """

    name: str
    order: int
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray


def _tableau(name, order, a, b, c):
    arr = np.array(a, dtype=np.float64)
    tab = Tableau(name, order, arr, np.array(b, dtype=np.float64), np.array(c, dtype=np.float64))
    for t in (tab.a, tab.b, tab.c):
        t.setflags(write=False)
    return tab


#: Forward Euler with Vensim's semantics: every rate from the state at t, then all stocks advance.
EULER = _tableau("euler", 1, [[0.0]], [1.0], [0.0])

#: Heun's method (explicit trapezoid), the usual "RK2" of SD tools.
RK2 = _tableau("rk2", 2, [[0.0, 0.0], [1.0, 0.0]], [0.5, 0.5], [0.0, 1.0])

#: The classic fourth-order Runge-Kutta method.
RK4 = _tableau(
    "rk4",
    4,
    [[0.0, 0.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
    [1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
    [0.0, 0.5, 0.5, 1.0],
)

#: Registry: method name -> tableau.
METHODS = {t.name: t for t in (EULER, RK2, RK4)}
