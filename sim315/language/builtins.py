"""The equation builtins: each one's arity and the line ``model show`` prints for it
(semantics in docs/models.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Function:
    """An equation builtin: its arity and a one-line description for ``model show``."""

    n_args: int
    doc: str
    stateful: bool = False


#: The builtins an equation may call.
FUNCTIONS: dict[str, Function] = {
    "if_then_else": Function(3, "if_then_else(cond, a, b): a where cond holds, else b"),
    "min": Function(-1, "min(a, b, ...): smallest argument; min(x[d!]): smallest element"),
    "max": Function(-1, "max(a, b, ...): largest argument; max(x[d!]): largest element"),
    "abs": Function(1, "abs(x): absolute value"),
    "exp": Function(1, "exp(x): e**x, x dimensionless"),
    "log": Function(1, "log(x): natural logarithm, x dimensionless"),
    "sqrt": Function(1, "sqrt(x): square root"),
    "sin": Function(1, "sin(x): sine, x dimensionless (radians)"),
    "cos": Function(1, "cos(x): cosine, x dimensionless (radians)"),
    "lookup": Function(2, "lookup(table, x): table interpolated at x, ends held"),
    "step": Function(2, "step(height, t): 0 before time t, height from t on"),
    "pulse": Function(2, "pulse(start, width): 1 from start for width, else 0"),
    "ramp": Function(3, "ramp(slope, start, end): slope*(time-start) between start and end"),
    "smooth": Function(2, "smooth(x, tau): first-order exponential smooth", True),
    "smooth3": Function(2, "smooth3(x, tau): third-order exponential smooth", True),
    "delay1": Function(2, "delay1(x, tau): first-order material delay", True),
    "delay3": Function(2, "delay3(x, tau): third-order material delay", True),
    "delay_fixed": Function(3, "delay_fixed(x, tau, initial): pipeline delay of tau", True),
    "random_uniform": Function(2, "random_uniform(lo, hi): a new uniform draw each step"),
    "random_normal": Function(2, "random_normal(mean, sd): a new normal draw each step"),
    "pink_noise": Function(
        2, "pink_noise(sd, tau): first-order autocorrelated noise, mean 0, sd sd", True
    ),
    # Vensim/XMILE builtins (issue 12); semantics in docs/models.md
    "tan": Function(1, "tan(x): tangent, x dimensionless (radians)"),
    "arcsin": Function(1, "arcsin(x): inverse sine, in radians"),
    "arccos": Function(1, "arccos(x): inverse cosine, in radians"),
    "arctan": Function(1, "arctan(x): inverse tangent, in radians"),
    "integer": Function(1, "integer(x): x truncated toward zero (Vensim INTEGER)"),
    "modulo": Function(2, "modulo(a, b): remainder of a/b, the sign of a (Vensim MODULO)"),
    "quantum": Function(2, "quantum(x, q): q*integer(x/q); x when q <= 0 (Vensim QUANTUM)"),
    "xidz": Function(3, "xidz(a, b, x): a/b, or x where b is 0"),
    "zidz": Function(2, "zidz(a, b): a/b, or 0 where b is 0"),
    "logical_and": Function(-2, "logical_and(a, b, ...): 1 where all are non-zero, else 0"),
    "logical_or": Function(-2, "logical_or(a, b, ...): 1 where any is non-zero, else 0"),
    "logical_not": Function(1, "logical_not(a): 1 where a is 0, else 0"),
    "pulse_train": Function(
        4, "pulse_train(start, width, interval, end): 1 for width every interval until end"
    ),
    "lookup_extrapolate": Function(
        2, "lookup_extrapolate(table, x): table interpolated at x, end segments extended"
    ),
    "lookup_forward": Function(2, "lookup_forward(table, x): y of the first point at or after x"),
    "lookup_backward": Function(2, "lookup_backward(table, x): y of the last point at or before x"),
    "delay1i": Function(3, "delay1i(x, tau, init): first-order delay, output init at start", True),
    "delay3i": Function(3, "delay3i(x, tau, init): third-order delay, output init at start", True),
    "delayn": Function(4, "delayn(x, tau, init, n): n-th order material delay (DELAY N)", True),
    "smoothi": Function(3, "smoothi(x, tau, init): first-order smooth starting at init", True),
    "smooth3i": Function(3, "smooth3i(x, tau, init): third-order smooth starting at init", True),
    "smoothn": Function(4, "smoothn(x, tau, init, n): n-th order smooth (SMOOTH N)", True),
    "trend": Function(3, "trend(x, tau, init_trend): fractional growth rate of x (TREND)", True),
    "forecast": Function(
        4, "forecast(x, tau, horizon, init_trend): x extrapolated by its trend (FORECAST)", True
    ),
    "initial": Function(1, "initial(x): x at the initial time, held (INITIAL)", True),
    "active_initial": Function(
        2, "active_initial(x, init): init while initialising, then x (ACTIVE INITIAL)"
    ),
    "sample_if_true": Function(
        3, "sample_if_true(cond, x, init): x where cond holds, else the last sample", True
    ),
    # subscripts (issue 13): reductions over the dimensions marked '!' in their argument
    "sum": Function(1, "sum(x[d!]): sum over the elements of dimension d (Vensim SUM)"),
    "prod": Function(1, "prod(x[d!]): product over the elements of d (Vensim PROD)"),
    "vmin": Function(1, "vmin(x[d!]): smallest element over d (Vensim VMIN)"),
    "vmax": Function(1, "vmax(x[d!]): largest element over d (Vensim VMAX)"),
    # vector functions (issue 13): their own loops over the dimension marked '!'
    "vector_select": Function(
        5, "vector_select(sel[d!], x[d!], missing, action, error): VECTOR SELECT"
    ),
    "elm_map": Function(2, "elm_map(x[d], offset): the element offset slots on (VECTOR ELM MAP)"),
    "vector_sort_order": Function(
        2, "vector_sort_order(x[d!], direction): 0-based index of the k-th element in order"
    ),
    "vector_rank": Function(2, "vector_rank(x[d!], direction): the element's rank, from 1"),
    "vector_reorder": Function(2, "vector_reorder(x[d!], order): x at the element order names"),
    # GET TIME VALUE and INVERT MATRIX (issue 13)
    "get_time_value": Function(
        3, "get_time_value(relative_to, offset, 0): time (0) or the initial time (1) + offset"
    ),
    "invert_matrix": Function(
        2, "invert_matrix(m[a, r!, c!], n): the element of m's n x n inverse (INVERT MATRIX)"
    ),
    "allocate_by_priority": Function(
        4, "allocate_by_priority(request[d!], priority[d!], width, supply): the element's share"
    ),
    "allocate_available": Function(
        3, "allocate_available(request[d!], profile[d!, ptype], avail): the element's share"
    ),
}

#: Arguments that must be one of a few number literals: builtin -> {position: allowed}.
#: GET TIME VALUE's calendar measures (1 to 10) and clock time (relative_to 2) need a date
#: the model does not carry.
LITERAL_ARGS: dict[str, dict[int, tuple[int, ...]]] = {"get_time_value": {0: (0, 1), 2: (0,)}}
