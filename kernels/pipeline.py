"""The compiler pipeline of the generated kernels: Numba's own, made cheaper to run.

A model's first compile is mostly Numba's Python-side work on one long function
(``ensemble_serial``, a few hundred generated lines): plan315's took 2.2 s of its 2.5 s from
``load_model`` to the first result, about 1.4 ms a line. Five parts of that work buy
nothing for code of the generator's shape, and :class:`LeanPipeline` leaves them out:

* **SSA.** Numba renames every variable assigned more than once (each state in the time
  loop, the counters) into single-assignment versions joined by phi nodes, types each
  version, and then turns the phis back into copies before lowering. Generated code gives a
  name one type wherever it is assigned, so the types Numba infers without the renaming are
  the same; Numba's own switch for it, ``Flags.enable_ssa`` (off when it inlines IR), is
  turned off. LLVM's mem2reg builds the SSA form again from the stack slots either way. (A
  name given two kinds of value that do not unify would be a typing error, not a wrong
  number: tested.)
* **Typing each operator anew at each occurrence** (:class:`_LeanTyping`). Numba resolves
  ``a * b`` by trying every template registered for ``operator.mul`` (NumPy's array
  operators, which first match a whole ufunc loop table, included), for each of the
  kernel's 465 operators, in each of its passes over the function; the answer for given
  operand types is remembered within the function instead.
* **Re-resolving each operator when it is lowered** (:class:`_Lower`): Numba's lowering asks
  the typing context once more, for every operator, which implementation it has; asked
  once per operator and signature within the function instead. An operator with a constant
  operand that Numba specialises (``x ** 2``: Numba's ``DetectStaticBinops``) takes Numba's
  own path unchanged.
* **Passes that find nothing in generated code**, each a full analysis of the function's
  variables' lifetimes: closure inlining (:class:`_InlineClosuresIfAny`) and the rewrites
  after type inference (:class:`_RewritesIfAny`) run only where they can match, and the
  phis' stripping not at all (there are none without SSA).
* **LLVM's optimisation twice over** (:func:`_module_passes_only`): Numba runs LLVM's
  function passes on each function as its module is added, then the module passes, which
  simplify every function again, when the library is finalised; a lean library keeps the
  module passes only.

The generated scalar kernel (``ensemble_serial``, :mod:`sim315.compilation.serial`), the
block-of-runs kernel's ``_run_lanes`` (:mod:`sim315.compilation.lanes`) and a large model's
block functions and ``_run`` (:mod:`sim315.compilation.blocked`) compile with it; the
entry points that run in parallel (Numba's parfors need its SSA passes) and the builtins
do not. Every other pass runs as in Numba's nopython pipeline, and the machine code does the same
arithmetic in the same order: results are bit for bit those of the default pipeline
(``tests/test_pipeline.py``: the flagship and corpus models of every kind the generator
writes, and every operator on every mix of operand types). Measured on plan315 (valgrind,
the whole process from ``import sim315`` to the first result): 16.2 billion instructions
-> 10.7 with this and :mod:`.finite`; ``python -m suite.bench_compile_size`` in
``benchmarks/`` for the time.
"""

from numba.core import ir, types
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import register_pass
from numba.core.lowering import Lower
from numba.core.typed_passes import (
    NativeLowering,
    NopythonRewrites,
    NopythonTypeInference,
    PreLowerStripPhis,
)
from numba.core.untyped_passes import InlineClosureLikes
from numba.core.utils import OPERATORS_TO_BUILTINS

#: The operators whose typing :class:`_LeanTyping` remembers: Python's operators, as Numba
#: lists them (``operator.add`` ... ``operator.not_``: what ``a * b`` or ``a < b`` calls).
_OPERATORS = frozenset(OPERATORS_TO_BUILTINS)


@register_pass(mutates_CFG=True, analysis_only=False)
class _LeanTyping(NopythonTypeInference):
    """Numba's type inference, each operator's signature for given operand types resolved
    once per function. Numba resolves an operator call by trying every template registered
    for it (NumPy's array operators, which match a whole ufunc loop table first, included),
    at each of its occurrences and in each of its two or more passes over the function.

    For the pass's duration the typing context's ``resolve_function_type`` is shadowed on
    the instance (the global compiler lock is held: no other compile is typing meanwhile)
    by one that remembers the answers for :data:`_OPERATORS`; anything else goes through
    unchanged. After the pass the context is as it was (a lean compile started while another
    function is typed, a callee's, leaves the caller's memo in place)."""

    _name = "sim315_lean_type_inference"

    def run_pass(self, state):
        typing = state.typingctx
        resolve = typing.resolve_function_type
        memo = {}

        def resolve_once(fnty, args, kws):
            if kws or not (isinstance(fnty, types.Function) and fnty.typing_key in _OPERATORS):
                return resolve(fnty, args, kws)
            key = (fnty, tuple(args))
            if key not in memo:
                memo[key] = resolve(fnty, args, kws)  # an error is raised, not remembered
            return memo[key]

        shadowed = typing.__dict__.get("resolve_function_type")  # a lean compile's inside
        typing.resolve_function_type = resolve_once
        try:
            return super().run_pass(state)
        finally:
            if shadowed is None:
                del typing.resolve_function_type
            else:  # this compile was nested in another's typing: give it its own back
                typing.resolve_function_type = shadowed


class _Lower(Lower):
    """Numba's lowering, with each (operator, signature)'s implementation looked up once and
    no reference counting of values that hold no reference."""

    def lower_binop(self, resty, expr, op):
        if expr.static_lhs is not ir.UNDEFINED or expr.static_rhs is not ir.UNDEFINED:
            return super().lower_binop(resty, expr, op)  # a specialised constant operand
        signature = self.fndesc.calltypes[expr]
        memo = self.__dict__.setdefault("_binop_impls", {})
        impl = memo.get((op, signature))
        if impl is None:
            typing = self.context.typing_context
            fnty = typing.resolve_value_type(op)
            impl = self.context.get_function(fnty, fnty.get_call_type(typing, signature.args, {}))
            memo[(op, signature)] = impl
        # as Numba's lower_binop: operands cast to the signature, the result to the target
        lhs = self.context.cast(
            self.builder, self.loadvar(expr.lhs.name), self.typeof(expr.lhs.name), signature.args[0]
        )
        rhs = self.context.cast(
            self.builder, self.loadvar(expr.rhs.name), self.typeof(expr.rhs.name), signature.args[1]
        )
        res = impl(self.builder, (lhs, rhs))
        return self.context.cast(self.builder, res, signature.return_type, resty)

    def incref(self, typ, val):
        if self._counted(typ):
            super().incref(typ, val)

    def decref(self, typ, val):
        if self._counted(typ):
            super().decref(typ, val)

    def _counted(self, typ) -> bool:
        """Whether values of ``typ`` hold a reference count anywhere. Numba's reference
        counting walks every member of a value to find one, writing an ``extractvalue`` per
        member even where none is (the kernel's 128-value parameter tuple: 384 dead
        instructions for LLVM to remove); a type without any is skipped, as it changes
        nothing."""
        memo = self.__dict__.setdefault("_counted_types", {})
        held = memo.get(typ)
        if held is None:
            held = memo[typ] = self.context.data_model_manager[typ].contains_nrt_meminfo()
        return held


def _module_passes_only(library) -> None:
    """Leave out LLVM's function passes of ``library``'s functions, run on each module as it
    is added: the same optimisation pipeline then runs on the whole module when the library
    is finalised (Numba's "cheap" module passes, then its full ``-O3`` ones, both of which
    simplify each function again), so a generated kernel was optimised twice over. For
    plan315's kernel the function passes took 0.44-0.58 s of the 1.2 s of LLVM; without
    them the module passes take 0.05-0.13 s more and the machine code runs as fast. LLVM
    keeps IEEE arithmetic whatever passes run (no fast-math flags, no contraction): the
    numbers are the same bit for bit (``tests/test_pipeline.py``). Nothing is done where
    Numba's library has no such step."""
    if not hasattr(library, "_optimize_functions") or not hasattr(library, "_codegen"):
        return

    def set_layout_only(ll_module):
        ll_module.data_layout = library._codegen._data_layout  # as the step did first

    library._optimize_functions = set_layout_only


@register_pass(mutates_CFG=True, analysis_only=False)
class _LeanLowering(NativeLowering):
    """Numba's native lowering pass with :class:`_Lower`, into a library optimised by its
    module passes only (:func:`_module_passes_only`)."""

    _name = "sim315_lean_lowering"

    @property
    def lowering_class(self):
        return _Lower

    def run_pass(self, state):
        if state.library is None:  # as Numba's pass makes it, then without function passes
            state.library = state.targetctx.codegen().create_library(state.func_id.func_qualname)
            state.library.enable_object_caching()
            _module_passes_only(state.library)
        return super().run_pass(state)


def _exprs(func_ir):
    for block in func_ir.blocks.values():
        for inst in block.body:
            if isinstance(inst, ir.Assign) and isinstance(inst.value, ir.Expr):
                yield inst.value


@register_pass(mutates_CFG=True, analysis_only=False)
class _InlineClosuresIfAny(InlineClosureLikes):
    """Numba's closure inlining, run only where it can find something: a closure (``lambda``,
    a nested function, a comprehension before Python 3.12) or a list display (a comprehension
    it may turn into an array). Generated kernels have neither, and the pass's analysis of
    the whole function (the variables' lifetimes, before and after) found nothing in
    them."""

    _name = "sim315_inline_closures_if_any"

    def run_pass(self, state):
        if not any(e.op in ("make_function", "build_list") for e in _exprs(state.func_ir)):
            return False
        return super().run_pass(state)


@register_pass(mutates_CFG=True, analysis_only=False)
class _RewritesIfAny(NopythonRewrites):
    """Numba's rewrites after type inference, run only where one can match: an operator on
    an array (array expressions fused into one loop) or a list display (arrays of
    constants). The rest of them make a getitem static when its index has a literal type;
    generated code indexes with constants, which Numba's rewrites before type inference
    already made static. Generated kernels' operators are on scalars, and the pass's
    analysis of the whole function found nothing in them."""

    _name = "sim315_rewrites_if_any"

    def run_pass(self, state):
        typeof = state.typemap.get
        for e in _exprs(state.func_ir):
            if e.op == "build_list" or (
                e.op in ("binop", "inplace_binop", "unary")
                and any(isinstance(typeof(v.name), types.Array) for v in e.list_vars())
            ):
                return super().run_pass(state)
        return False


class LeanPipeline(CompilerBase):
    """Numba's nopython pipeline without SSA, typing and lowering each operator once per
    signature (:class:`_LeanTyping`, :class:`_Lower`), closure inlining and the rewrites
    after typing only where they can match (``njit(pipeline_class=LeanPipeline)``)."""

    def define_pipelines(self):
        self.state.flags.enable_ssa = False  # this compile's own flags
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        lean = {
            InlineClosureLikes: _InlineClosuresIfAny,
            NopythonTypeInference: _LeanTyping,
            NopythonRewrites: _RewritesIfAny,
            NativeLowering: _LeanLowering,
        }
        pm.passes[:] = [
            (lean.get(cls, cls), what)
            for cls, what in pm.passes
            if cls is not PreLowerStripPhis  # without SSA there are no phis to strip
        ]
        pm.finalize()
        return [pm]
