"""Raw loads and stores through an array's data pointer, for generated block functions.

A large model's kernel keeps its state, equation values and parameters in arrays, and its
block functions (:mod:`sim315.compilation.blocked`) read and write hundreds of elements each
at constant indices. Numba lowers every ``a[i]`` through its general indexing machinery: the
array's structure is unpacked again at each access, and LLVM's passes over that code take time
that grows faster than the number of accesses (one function of 600 constant-index loads and
600 stores: 6.4 s to compile, 2.0 s with these; ``python -m suite.bench_compile_size --access``
in ``benchmarks/``). Here the data pointer is taken once per function and each access is one
address computation and one load or store.

Only for C-contiguous arrays indexed within bounds, which the generator guarantees: there is
no wraparound of negative indices and no bounds check (Numba's default indexing checks no
bounds either). The values read and written are the same as through ``a[i]``.
"""

from numba import types
from numba.core import cgutils
from numba.core.cgutils import ir as llvmir  # llvmlite's IR builder, as Numba has it
from numba.extending import intrinsic


@intrinsic
def data_pointer(typingctx, arr):
    """The data pointer of the C-contiguous array ``arr``."""
    if not isinstance(arr, types.Array) or arr.layout != "C":
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return ary.data

    return types.CPointer(arr.dtype)(arr), codegen


@intrinsic
def view_pointer(typingctx, arr):
    """The address of the first element of ``arr``, an array of any layout (a strided view
    too): the caller computes each element's offset from the view's strides, and writes
    only within the view."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return ary.data

    return types.CPointer(arr.dtype)(arr), codegen


@intrinsic
def load(typingctx, ptr, index):
    """``ptr[index]``."""
    if not isinstance(ptr, types.CPointer) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        p, i = args
        return builder.load(builder.gep(p, [i]))

    return ptr.dtype(ptr, index), codegen


@intrinsic
def store(typingctx, ptr, index, value):
    """``ptr[index] = value`` (``value`` converted to the pointer's type, as ``a[i] = v``
    converts)."""
    if not isinstance(ptr, types.CPointer) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        p, i, v = args
        v = context.cast(builder, v, signature.args[2], ptr.dtype)
        builder.store(v, builder.gep(p, [i]))
        return context.get_dummy_value()

    return types.none(ptr, index, value), codegen


@intrinsic
def store_n(typingctx, ptr, start, values):
    """``ptr[start + i] = values[i]`` for each element of the tuple ``values`` (each
    converted to the pointer's type, as ``a[i] = v`` converts): a run of the record stored
    in one statement."""
    if not isinstance(ptr, types.CPointer) or not isinstance(start, types.Integer):
        return None
    if not isinstance(values, types.BaseTuple):
        return None

    def codegen(context, builder, signature, args):
        p, s, tup = args[0], context.cast(builder, args[1], signature.args[1], types.intp), args[2]
        for i, ty in enumerate(signature.args[2]):
            v = context.cast(builder, builder.extract_value(tup, i), ty, ptr.dtype)
            builder.store(v, builder.gep(p, [builder.add(s, context.get_constant(types.intp, i))]))
        return context.get_dummy_value()

    return types.none(ptr, start, values), codegen


def _row_loads(arr, start, count, past_end_nan: bool):
    """The signature and code of :func:`load_n_or_nan` and :func:`load_row`."""
    if not isinstance(arr, types.Array) or arr.ndim != 1 or arr.dtype not in types.real_domain:
        return None
    if not isinstance(start, types.Integer) or not isinstance(count, types.IntegerLiteral):
        return None
    n = count.literal_value
    tup = types.UniTuple(arr.dtype, n)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        shape = cgutils.unpack_tuple(builder, ary.shape, 1)
        strides = cgutils.unpack_tuple(builder, ary.strides, 1)
        s = context.cast(builder, args[1], signature.args[1], types.intp)
        slot = cgutils.alloca_once(builder, context.get_value_type(arr.dtype))
        out = context.get_constant_undef(tup)
        for i in range(n):
            at = builder.add(s, context.get_constant(types.intp, i))
            if not past_end_nan:
                ptr = cgutils.get_item_pointer2(
                    context, builder, ary.data, shape, strides, arr.layout, [at]
                )
                out = builder.insert_value(out, builder.load(ptr), i)
                continue
            builder.store(context.get_constant(arr.dtype, float("nan")), slot)
            with builder.if_then(builder.icmp_signed("<", at, shape[0]), likely=True):
                ptr = cgutils.get_item_pointer2(
                    context, builder, ary.data, shape, strides, arr.layout, [at]
                )
                builder.store(builder.load(ptr), slot)
            out = builder.insert_value(out, builder.load(slot), i)
        return out

    return tup(arr, start, count), codegen


@intrinsic
def load_n_or_nan(typingctx, arr, start, count):
    """``(a[start], ..., a[start + count - 1])`` of the 1-d array ``a``, NaN for each index
    past its end (``count`` a literal integer): a run's start columns, which a parameter row
    may not have (a run that starts from the model's own initial values)."""
    return _row_loads(arr, start, count, past_end_nan=True)


@intrinsic
def load_row(typingctx, arr, start, count):
    """``(a[start], ..., a[start + count - 1])`` of the 1-d array ``a``, contiguous or strided
    (``count`` a literal integer, every index within bounds): a run's parameters in one
    statement, without ``np.ascontiguousarray`` (whose overload Numba compiles, 26 ms)."""
    return _row_loads(arr, start, count, past_end_nan=False)


def _scratch(n, dtype):
    """The signature and code of a new uninitialised 1-d ``dtype`` array of ``n`` elements
    (:func:`scratch`, :func:`scratch_int64`)."""
    if not isinstance(n, types.Integer):
        return None
    arrty = types.Array(dtype, 1, "C")

    def codegen(context, builder, signature, args):
        from numba.core.imputils import impl_ret_new_ref
        from numba.np.arrayobj import populate_array

        count = context.cast(builder, args[0], signature.args[0], types.intp)
        itemsize = context.get_constant(types.intp, dtype.bitwidth // 8)
        meminfo = context.nrt.meminfo_alloc_aligned(
            builder, size=builder.mul(count, itemsize), align=32
        )
        data = builder.bitcast(
            context.nrt.meminfo_data(builder, meminfo),
            context.get_data_type(dtype).as_pointer(),
        )
        ary = context.make_array(arrty)(context, builder)
        populate_array(
            ary, data=data, shape=[count], strides=[itemsize], itemsize=itemsize, meminfo=meminfo
        )
        return impl_ret_new_ref(context, builder, arrty, ary._getvalue())

    return arrty(n), codegen


@intrinsic
def scratch(typingctx, n):
    """A new 1-d float64 array of ``n`` elements, uninitialised: ``np.empty(n)`` without
    compiling its overload and allocator (60 ms of a model's first compile). The memory comes
    from Numba's runtime, as ``np.empty``'s does, and is freed with the last reference."""
    return _scratch(n, types.float64)


@intrinsic
def scratch_int64(typingctx, n):
    """The same of int64: ``np.empty(n, dtype=np.int64)`` (whose typing alone takes 15 ms)."""
    return _scratch(n, types.int64)


@intrinsic
def or_if_nan(typingctx, x, value):
    """``x``, or ``value`` (converted to ``x``'s type) where ``x`` is NaN: a select, not a
    branch, so that the slot it sets has one definition."""
    if not isinstance(x, types.Float) or not isinstance(value, types.Number):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[1], signature.args[1], signature.args[0])
        return builder.select(builder.fcmp_ordered("==", args[0], args[0]), args[0], v)

    return x(x, value), codegen


@intrinsic
def select(typingctx, cond, a, b):
    """``a if cond else b`` as one select, not a branch: the block-of-runs kernel's lane
    loops choose a lookup's points and clamp states this way, and a branch per choice made
    their functions hundreds of basic blocks (each pass over them, and the vectoriser's
    turning the branches back into selects, slower than linear in that count). Both ``a``
    and ``b`` are evaluated, so only for operands without side effects (loads, arithmetic:
    no exception under the kernel's numpy error model); the value is ``a if cond else b``'s,
    in the type the two unify to."""
    if not isinstance(cond, types.Boolean):
        return None
    if not isinstance(a, types.Number) or not isinstance(b, types.Number):
        return None
    res = typingctx.unify_pairs(a, b)
    if res is None:
        return None

    def codegen(context, builder, signature, args):
        c, x, y = args
        x = context.cast(builder, x, signature.args[1], signature.return_type)
        y = context.cast(builder, y, signature.args[2], signature.return_type)
        return builder.select(c, x, y)

    return res(cond, a, b), codegen


def _lane_address(context, builder, signature, args):
    """``ptr + row + lane`` for :func:`load_lane` and :func:`store_lane`."""
    row = context.cast(builder, args[1], signature.args[1], types.intp)
    lane = context.cast(builder, args[2], signature.args[2], types.intp)
    return builder.gep(args[0], [builder.add(row, lane)])


@intrinsic
def load_lane(typingctx, ptr, row, lane):
    """``ptr[row + lane]``: one call for the block-of-runs kernel's ``W[row + l]``, where
    indexing types and lowers an addition and an access (a fifth of that kernel's typing)."""
    if not isinstance(ptr, types.CPointer):
        return None
    if not isinstance(row, types.Integer) or not isinstance(lane, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.load(_lane_address(context, builder, signature, args))

    return ptr.dtype(ptr, row, lane), codegen


@intrinsic
def store_lane(typingctx, ptr, row, lane, value):
    """``ptr[row + lane] = value`` (``value`` converted to the pointer's type)."""
    if not isinstance(ptr, types.CPointer):
        return None
    if not isinstance(row, types.Integer) or not isinstance(lane, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[3], signature.args[3], ptr.dtype)
        builder.store(v, _lane_address(context, builder, signature, args))
        return context.get_dummy_value()

    return types.none(ptr, row, lane, value), codegen


@intrinsic
def prefetch_write(typingctx, ptr, index):
    """A hint that ``ptr[index]`` will be written soon: its cache line is fetched for writing
    (LLVM's ``prefetch``, for write, kept in every cache level). Nothing is read or written
    and no address faults, inside an array or not. The block-of-runs kernel writes each
    saved time's outputs to as many columns of its output, whose lines the hardware's
    prefetchers (which follow a few streams each) do not fetch ahead."""
    if not isinstance(ptr, types.CPointer) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        at = context.cast(builder, args[1], signature.args[1], types.intp)
        address = builder.bitcast(builder.gep(args[0], [at]), llvmir.IntType(8).as_pointer())
        i32 = llvmir.IntType(32)
        fnty = llvmir.FunctionType(llvmir.VoidType(), [address.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [address, i32(1), i32(3), i32(1)])  # write, keep, data
        return context.get_dummy_value()

    return types.none(ptr, index), codegen


@intrinsic
def keep_alive(typingctx, arr):
    """Nothing, but a use of ``arr``: Numba frees an array after its last use, so a
    function that reads and writes one through its data pointer uses it here, after the
    pointer's last use."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        return context.get_dummy_value()

    return types.none(arr), codegen
