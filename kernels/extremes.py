"""``min`` and ``max`` of a model's equations as intrinsics: the same comparisons and
selects as Python's (and Numba's) ``min(a, b, ...)``, lowered in place.

Numba's builtin ``min``/``max`` go through an overload whose implementation it compiles as a
function of its own for each signature (about 35 ms of plan315's first compile, for one
each); these are lowered directly where they are called. The generated kernel calls
``_min((a, b, ...))`` and ``_max(...)`` with a tuple; on CUDA the names stand for the
builtins.

Semantics, as Python's: the arguments are taken in order and an argument replaces the one
kept so far only when it compares less (``min``) or greater (``max``), so ``min(nan, 1.0)``
is NaN and ``min(1.0, nan)`` is 1.0; mixed integers and floats are converted to their
common type first.
"""

from numba import types
from numba.extending import intrinsic


def _less(builder, ty, a, b):
    """``a < b`` as Numba lowers it for ``ty``: an ordered compare of floats (false with a
    NaN), signed or unsigned for integers, unsigned for booleans."""
    if isinstance(ty, types.Float):
        return builder.fcmp_ordered("<", a, b)
    if isinstance(ty, types.Integer) and ty.signed:
        return builder.icmp_signed("<", a, b)
    return builder.icmp_unsigned("<", a, b)


def _fold(typingctx, values, greater: bool):
    if not isinstance(values, types.BaseTuple) or len(values) == 0:
        return None
    if not all(isinstance(t, types.Number | types.Boolean) for t in values):
        return None
    result = typingctx.unify_types(*values)
    if result is None:
        return None

    def codegen(context, builder, signature, args):
        tys = list(signature.args[0])
        vals = [builder.extract_value(args[0], i) for i in range(len(tys))]
        accty, acc = tys[0], vals[0]
        for vty, v in zip(tys[1:], vals[1:], strict=True):
            ty = context.typing_context.unify_types(accty, vty)
            acc = context.cast(builder, acc, accty, ty)
            v = context.cast(builder, v, vty, ty)
            takes = _less(builder, ty, acc, v) if greater else _less(builder, ty, v, acc)
            acc = builder.select(takes, v, acc)
            accty = ty
        return context.cast(builder, acc, accty, signature.return_type)

    return result(values), codegen


@intrinsic
def smallest(typingctx, values):
    """``min(*values)`` of a tuple of numbers."""
    return _fold(typingctx, values, greater=False)


@intrinsic
def largest(typingctx, values):
    """``max(*values)`` of a tuple of numbers."""
    return _fold(typingctx, values, greater=True)
