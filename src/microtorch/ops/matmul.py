"""Matrix products: matmul (1-D, 2-D, batched with broadcasting), mm, bmm, and the fused
`linear` (x @ W.T + b as one graph node, its three products done by BLAS kernels).

Node names follow PyTorch's: DotBackward0, MvBackward0, MmBackward0, and for a 1-D left
operand the row matrix PyTorch makes (UnsqueezeBackward0, then SqueezeBackward4). Batched
products are one node named like PyTorch's last one (its matmul composes several). linear's
graph reads as PyTorch's too (AddmmBackward0 with edges bias, input, TBackward0 -> weight),
with the TBackward0 a PassThrough node: the fused backward still does all the work.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .. import _kernels as K
from .._broadcast import broadcast_error
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.grad_mode import state
from ..autograd.node import pass_through, pass_through_type
from ._operands import refuse_bool
from ._out import write_out
from .shape import Squeeze, UnsafeView, reshape, squeeze, t, transpose, unsqueeze, view


def _small_f32_overflow(a: np.ndarray, b: np.ndarray, cells: int) -> bool:
    """K.small_f32_overflow for a product with `cells` outputs (the compiled plans' entry;
    the ops here call the kernel directly, a Python call less on every small product)."""
    return K.small_f32_overflow(a, b, cells)


def _sequential(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for (..., n, k) and (..., k, p) arrays: float32-rounded terms added in order."""
    with np.errstate(all="ignore"):
        out = a[..., :, :1] * b[..., :1, :] + np.float32(0)
        for j in range(1, a.shape[-1]):
            out = out + a[..., :, j:j + 1] * b[..., j:j + 1, :]
    return np.ascontiguousarray(out)


def _lanes_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a . b for vectors as a vectorized BLAS dot sums it: float32-rounded terms gathered
    in 8 lanes (term i in lane i % 8), the lanes then added pairwise."""
    with np.errstate(all="ignore"):
        terms = a * b
        lanes = np.zeros(8, np.float32)
        for start in range(0, terms.size, 8):
            chunk = terms[start:start + 8]
            lanes[:chunk.size] += chunk
        while lanes.size > 1:
            half = lanes.size // 2
            lanes = lanes[:half] + lanes[half:]
    return lanes.reshape(())


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.matmul(a, b), with PyTorch's overflow of small float32 products.

    For those PyTorch rounds each term before adding it, in order (its own loop for small
    batched products, MKL's small-matrix path otherwise), so a term beyond float32's range
    gives inf where numpy's BLAS, fusing multiply and add, may stay finite.  The kernel
    K.small_f32_overflow screens for that case in C; only then are the terms redone here."""
    out = np.matmul(a, b)
    if K.small_f32_overflow(a, b):
        if a.ndim == b.ndim == 1:
            return _lanes_dot(a, b)
        r = _sequential(a[None, :] if a.ndim == 1 else a, b[:, None] if b.ndim == 1 else b)
        r = r[..., 0, :] if a.ndim == 1 else r
        out = r[..., 0] if b.ndim == 1 else r
    return out


def _matmul_backward(ctx, g):
    """Gradients of a @ b for 1-D, 2-D and batched operands (batch dims may broadcast: the
    engine sums the gradients back to each operand's shape). When PyTorch folded the batch
    into one mm/mv, the small operand's gradient is that product's, summed in its order."""
    a, b = ctx.saved_tensors
    if ctx.fold:
        return _folded_backward(ctx, g, a, b)
    if a.ndim == 1 and b.ndim == 1:
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)
    a1 = a[None, :] if a.ndim == 1 else a
    b1 = b[:, None] if b.ndim == 1 else b
    if a.ndim == 1:
        g = np.expand_dims(g, -2)
    if b.ndim == 1:
        g = np.expand_dims(g, -1)
    ga = gb = None
    if ctx.needs_input_grad[0]:
        ga = _product(g, np.swapaxes(b1, -1, -2))
        if a.ndim == 1:
            ga = ga[..., 0, :]
    if ctx.needs_input_grad[1]:
        gb = _product(np.swapaxes(a1, -1, -2), g)
        if b.ndim == 1:
            gb = gb[..., :, 0]
    return ga, gb


def _folded_backward(ctx, g, a, b) -> tuple:
    """Gradients when one operand has more than 2 dims and the other is folded against it."""
    need_a, need_b = ctx.needs_input_grad
    if a.ndim > 2:                                 # a folded to (rows, k) times b
        ga = None
        if need_a:
            ga = g[..., None] * b if b.ndim == 1 else _product(g, b.T)
        gb = _product(_fold(a).T, g.reshape(-1) if b.ndim == 1 else _fold(g)) \
            if need_b else None
        return ga, gb
    t1 = _fold(np.swapaxes(b, -1, -2))          # b.mT folded, times a (or a.t())
    gb = None
    if need_b:
        gb = a[:, None] * g[..., None, :] if a.ndim == 1 else _product(a.T, g)
    ga = None
    if need_a:
        ga = (_product(t1.T, g.reshape(-1)) if a.ndim == 1 else np.ascontiguousarray(
            _product(t1.T, _fold(np.swapaxes(g, -1, -2))).T))
    return ga, gb


def _fold(x: np.ndarray) -> np.ndarray:
    """x as a matrix: its leading dims merged into rows."""
    return x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1])


class Mm(ArrayFunction):
    """Matrix product; this class is the 2-D case, its subclasses name PyTorch's other nodes."""

    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b, fold=False):
        ctx.fold = fold
        if a.dtype != b.dtype:             # an empty product: PyTorch's has b's dtype
            a = a.astype(b.dtype)
        try:
            out = np.asarray(_product(a, b))
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} do not "
                "broadcast"
            ) from None
        need_a, need_b = ctx.needs_input_grad[:2]     # PyTorch saves an operand only when
        ctx.save_for_backward(a if need_b else _absent(a),   # the other's gradient needs it
                              b if need_a else _absent(b))
        return out

    backward = staticmethod(_matmul_backward)


def _absent(x: np.ndarray) -> np.ndarray:
    """A stand-in for an operand that backward does not read (only its ndim is looked at),
    so that later in-place changes of the operand do not make backward raise."""
    return np.empty((0,) * x.ndim, x.dtype)


class Bmm(Mm):
    node_name = "BmmBackward0"


class Dot(Mm):
    node_name = "DotBackward0"


class Mv(Mm):
    node_name = "MvBackward0"


class SqueezeRow(Squeeze):
    """The row dim that matmul adds to a 1-D left operand, squeezed off the product in
    place in PyTorch (hence its node name, and a result that is no view: a copy here, of
    one row)."""

    node_name = "SqueezeBackward4"

    @staticmethod
    def forward(ctx, x, axes):
        ctx.in_shape = x.shape
        return np.squeeze(x, axis=axes).copy()


class BroadcastMatmul(Mm):
    """Batched matmul with broadcasting (PyTorch's name for the node it records)."""

    node_name = "UnsafeViewBackward0"


class TransposedMatmul(Mm):
    """A 2-D tensor requiring grad times a batch: PyTorch multiplies the transposes (this
    node: their product, i.e. the result with its last two dims swapped) and returns the
    transpose of that, a view (TransposeBackward0) when the product is contiguous..."""

    node_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, a, b, fold=False):
        return np.swapaxes(Mm.forward(ctx, a, _folded_copy(b), fold), -1, -2).copy()

    @staticmethod
    def backward(ctx, g):
        return _matmul_backward(ctx, np.swapaxes(g, -1, -2))


class ClonedMatmul(Mm):
    """...else a copy."""

    node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, a, b, fold=False):
        return Mm.forward(ctx, a, _folded_copy(b), fold)


def _folded_copy(b: np.ndarray) -> np.ndarray:
    """b as PyTorch keeps it for these products: it folds b.mT, a copy unless b.mT is
    contiguous, so a later in-place change of b does not reach the saved value."""
    return b if np.swapaxes(b, -1, -2).flags.c_contiguous else b.copy()


def _check_dot(a: np.ndarray, b: np.ndarray) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                           f"{_dtype.scalar_name(a.dtype)} and {_dtype.scalar_name(b.dtype)}")
    if a.shape != b.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.size}] and src "
                           f"[{b.size}] to have the same number of elements, but got {a.size} "
                           f"and {b.size} elements respectively")
    refuse_bool(a, "dot")


def _check_mv(a_shape: tuple, a_dtype, b: np.ndarray) -> None:
    """addmv's checks for a matrix of `a_shape` times the vector b."""
    if a_shape[1] != b.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a_shape[0]}), mat "
                           f"({a_shape[0]}x{a_shape[1]}), vec ({b.shape[0]})")
    if a_dtype != b.dtype:
        v = _dtype.scalar_name(b.dtype)
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {v}, "
                           f"{_dtype.scalar_name(a_dtype)}, and {v}")
    if a_shape[0] * a_shape[1]:
        refuse_bool(np.empty(0, a_dtype), "addmv_impl_cpu")


def _check_mm(a_shape: tuple, a_dtype, b_shape: tuple, b_dtype) -> None:
    """mm's checks for matrices of these shapes and dtypes."""
    if a_shape[1] != b_shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a_shape[0]}x"
                           f"{a_shape[1]} and {b_shape[0]}x{b_shape[1]})")
    if a_dtype != b_dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_dtype.c_name(a_dtype)} != {_dtype.c_name(b_dtype)}")
    if a_shape[0] * a_shape[1] and b_shape[1]:
        refuse_bool(np.empty(0, a_dtype), "addmm_impl_cpu_")


def _check_bmm(a: np.ndarray, b: np.ndarray, batch: int, n: int, k: int, p: int) -> None:
    """The bmm kernel's checks: none for an empty product or one without terms, else
    dispatch on a's dtype (bool has no kernel) and b must have it."""
    if batch * n * p and k:
        refuse_bool(a, "bmm")
        if a.dtype != b.dtype:
            raise RuntimeError(f"expected scalar type {_dtype.scalar_name(a.dtype)} but found "
                               f"{_dtype.scalar_name(b.dtype)}")


def _check_differentiable(input: Tensor, other: Tensor) -> None:
    """An empty bmm takes other's dtype: PyTorch refuses an integer result that would need
    a gradient."""
    dt = other._data.dtype
    if dt.kind != "f" and input._requires_grad and state.enabled:
        raise RuntimeError(f"Autograd not support dtype: {_dtype.scalar_name(dt)}")


def _should_fold(input: Tensor, other: Tensor) -> bool:
    """PyTorch's choice of one mm/mv over the folded batch of the larger operand (instead of
    a bmm): when the smaller requires grad, or the fold needs no copy."""
    a, b = input._data, other._data
    big, small_rg = (a, other._requires_grad) if a.ndim >= b.ndim else (b, input._requires_grad)
    if big.ndim < 3 or min(a.ndim, b.ndim) > 2:
        return False
    if small_rg:
        return True
    if a.ndim == 2:
        return False
    if big.size == 0:
        return True
    shape, strides = big.shape, big.strides
    if big is b:                        # PyTorch folds b.mT
        shape, strides = shape[:-2] + shape[:-3:-1], strides[:-2] + strides[:-3:-1]
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(big.ndim - 2))


def _batched(input: Tensor, other: Tensor) -> Tensor:
    """matmul with an operand of more than 2 dims, checked as PyTorch's (a folded mm/mv, or
    a bmm over the broadcast batch) and recorded as one node with PyTorch's last name."""
    a, b = input._data, other._data
    if a.ndim == 3 and a.shape[0] == 1 and b.ndim == 3 and b.shape[0] > 1 \
            and input._requires_grad:            # PyTorch drops a's batch of one
        return _batched(squeeze(input, 0), other)
    if _should_fold(input, other):
        if a.ndim >= b.ndim:
            rows = int(np.prod(a.shape[:-1]))
            if b.ndim == 1:
                _check_mv((rows, a.shape[-1]), a.dtype, b)
            else:
                _check_mm((rows, a.shape[-1]), a.dtype, b.shape, b.dtype)
            return BroadcastMatmul.apply(input, other, fold=True)
        rows = int(np.prod(b.shape[:-2])) * b.shape[-1]
        if a.ndim == 1:
            _check_mv((rows, b.shape[-2]), b.dtype, a)
            return BroadcastMatmul.apply(input, other, fold=True)
        _check_mm((rows, b.shape[-2]), b.dtype, a.shape[::-1], a.dtype)
        n, p = a.shape[0], b.shape[-1]
        if n == 1 or p == 1 or not rows * n:
            return transpose(TransposedMatmul.apply(input, other, fold=True), -1, -2)
        return ClonedMatmul.apply(input, other, fold=True)
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise broadcast_error(a.shape[:-2], b.shape[:-2]) from None
    n, k = (a.shape[-2] if a.ndim > 1 else 1), a.shape[-1]
    kb, p = (b.shape[-2], b.shape[-1]) if b.ndim > 1 else (b.shape[0], 1)
    nb = int(np.prod(batch))
    if k != kb:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{nb}, {k}] but got: [{nb}, {kb}].")
    _check_bmm(a, b, nb, n, k, p)
    _check_differentiable(input, other)
    return BroadcastMatmul.apply(input, other)


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Matrix product with numpy/PyTorch semantics for 1-D, 2-D and batched operands."""
    if out is not None:
        return write_out(out, "matmul", lambda: matmul(input, other), input, other,
                         exact_dtype=True)
    if not isinstance(other, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(other).__name__}")
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    if a.ndim > 2 or b.ndim > 2:
        return _batched(input, other)
    if b.ndim == 1:
        if a.ndim == 1:
            _check_dot(a, b)
            return Dot.apply(input, other)
        _check_mv(a.shape, a.dtype, b)
        return Mv.apply(input, other)
    if a.ndim == 1:                        # as PyTorch: a row matrix, then squeezed
        _check_mm((1, a.shape[0]), a.dtype, b.shape, b.dtype)
        return SqueezeRow.apply(Mm.apply(unsqueeze(input, 0), other), axes=(0,))
    _check_mm(a.shape, a.dtype, b.shape, b.dtype)
    return Mm.apply(input, other)


def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Product of two matrices (2-D only)."""
    if out is not None:
        return write_out(out, "mm", lambda: mm(input, mat2), input, mat2, exact_dtype=True)
    if input._data.ndim != 2 or mat2._data.ndim != 2:
        raise RuntimeError(
            f"mm: expected 2D tensors, got {input._data.ndim}D and {mat2._data.ndim}D"
        )
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Batched product of two 3-D tensors with equal batch sizes."""
    if out is not None:
        return write_out(out, "bmm", lambda: bmm(input, mat2), input, mat2, exact_dtype=True)
    a, b = input._data, mat2._data
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor, got {a.ndim}D and {b.ndim}D")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"batch1 and batch2 must have same number of batches, got {a.shape[0]} and {b.shape[0]}"
        )
    if a.shape[2] != b.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{b.shape[0]}, "
            f"{a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}]."
        )
    _check_bmm(a, b, *a.shape, b.shape[2])
    _check_differentiable(input, mat2)
    return Bmm.apply(input, mat2)


def dot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inner product of two 1-D tensors of the same length."""
    if out is not None:
        return write_out(out, "dot", lambda: dot(input, other), input, other, exact_dtype=True)
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors"
        )
    return matmul(input, other)


class Linear(ArrayFunction):
    """b + x @ W.T as one node (PyTorch's addmm, inputs in its order: bias, input,
    weight): forward and backward are one kernel call each.

    Backward computes dX = dY @ W, dW = dY.T @ X and db = sum(dY, rows) together, into
    fresh arrays that nobody else holds, so a leaf's AccumulateGrad adopts dW and db as
    `.grad` without copying them.
    """

    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, b, x, w):
        rows = 1
        for n in x.shape[:-1]:
            rows *= n
        x2 = np.ascontiguousarray(x.reshape(rows, w.shape[1]))
        wc = w if w.flags.c_contiguous else np.ascontiguousarray(w)
        bc = None if b is None else np.ascontiguousarray(b)
        y = np.empty((rows, w.shape[0]), dtype=w.dtype)
        K.linear_forward(x2, wc, bc, y)
        if K.small_f32_overflow(x2, wc, rows * w.shape[0]):
            y[...] = _sequential(x2, wc.T) + (0 if bc is None else bc)
        ctx.rows = rows
        ctx.save_for_backward(x, w)
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    @staticmethod
    def backward(ctx, g):
        return _linear_backward(ctx, g, *ctx.needs_input_grad)


def _linear_backward(ctx, g, need_b: bool, need_x: bool, need_w: bool) -> tuple:
    """(db, dX, dW) of the fused linear, the requested ones computed by one kernel call."""
    x, w = ctx.saved_tensors
    rows, (o, i) = ctx.rows, w.shape
    x2 = np.ascontiguousarray(x.reshape(rows, i))
    wc = w if w.flags.c_contiguous else np.ascontiguousarray(w)
    g2 = g.reshape(rows, o)
    if g2.dtype != w.dtype or not g2.flags.c_contiguous:
        g2 = np.ascontiguousarray(g2, dtype=w.dtype)
    gb = np.empty(o, dtype=w.dtype) if need_b else None
    gx = np.empty(x.shape, dtype=w.dtype) if need_x else None
    gw = np.empty((o, i), dtype=w.dtype) if need_w else None
    K.linear_backward(g2, x2, wc, None if gx is None else gx.reshape(rows, i), gw, gb,
                      0.0, 0.0)
    if gx is not None and K.small_f32_overflow(g2, wc, rows * i):
        gx[...] = _sequential(g2, wc).reshape(x.shape)
    if gw is not None and K.small_f32_overflow(g2, x2, o * i):
        gw[...] = _sequential(g2.T, x2)
    return gb, gx, gw


class LinearNoBias(ArrayFunction):
    """x @ W.T as one node (PyTorch's mm; inputs: input, weight)."""

    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, x, w):
        return Linear.forward(ctx, None, x, w)

    @staticmethod
    def backward(ctx, g):
        return _linear_backward(ctx, g, False, *ctx.needs_input_grad)[1:]


TBackward0 = pass_through_type("TBackward0")


def _fused(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """The linear node on a 2-D input. PyTorch multiplies by `weight.t()`: its edge to the
    weight goes through a TBackward0 node, shown here by a PassThrough node (the fused
    backward already returns dW in the weight's own shape)."""
    if bias is None:
        return pass_through(LinearNoBias.apply(input, weight), 1, TBackward0)
    return pass_through(Linear.apply(bias, input, weight), 2, TBackward0)


def _fusable(x: np.ndarray, w: np.ndarray, bias: Tensor | None) -> bool:
    """True for the common case that the fused kernel computes: a matrix weight, a vector
    bias (or none), one floating dtype."""
    return (w.ndim == 2 and x.ndim and x.shape[-1] == w.shape[1] and x.dtype == w.dtype
            and w.dtype.kind == "f" and (bias is None or (bias._data.shape == (w.shape[0],)
                                                          and bias._data.dtype == w.dtype)))


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, one fused node; other than 2-D inputs are reshaped around it
    by view nodes where PyTorch has them."""
    x, w = input._data, weight._data
    if not _fusable(x, w, bias):
        return _linear_composed(input, weight, bias)
    if x.ndim == 2:
        return _fused(input, weight, bias)
    o = w.shape[0]
    contiguous = x.flags.c_contiguous and (bias is None or bias._data.flags.c_contiguous)
    if x.ndim == 1:                # PyTorch's graph: a row matrix in, a vector out
        if bias is None or not contiguous:
            out = SqueezeRow.apply(_fused(unsqueeze(input, 0), weight, None), axes=(0,))
            return out if bias is None else out + bias
        return view(_fused(view(input, 1, x.shape[0]), weight, bias), o)
    rows = int(np.prod(x.shape[:-1]))
    out_shape = x.shape[:-1] + (o,)
    if bias is not None and contiguous:
        return view(_fused(view(input, rows, x.shape[-1]), weight, bias), out_shape)
    out = _fused(reshape(input, rows, x.shape[-1]), weight, None)   # matmul's folding
    out = UnsafeView.apply(out, shape=out_shape)
    return out if bias is None else out + bias


class Addmm(ArrayFunction):
    """bias + mat1 @ mat2 for any bias that broadcasts to the product (PyTorch's addmm; the
    engine sums the bias's gradient back to its shape)."""

    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, b, x, w):
        ctx.save_for_backward(x, w)
        return np.asarray(b + _product(x, w))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return (g if ctx.needs_input_grad[0] else None,
                g @ w.T if ctx.needs_input_grad[1] else None,
                x.T @ g if ctx.needs_input_grad[2] else None)


def _addmm(bias: Tensor, mat1: Tensor, mat2: Tensor) -> Tensor:
    """PyTorch's addmm with its checks in its order."""
    b, x, w = bias._data, mat1._data, mat2._data
    for name, m in (("self", b), ("mat1", x)):
        if m.dtype != w.dtype:
            raise RuntimeError(f"{name} and mat2 must have the same dtype, but got "
                               f"{_dtype.scalar_name(m.dtype)} and {_dtype.scalar_name(w.dtype)}")
    for name, m in (("mat1", x), ("mat2", w)):
        if m.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {m.ndim}-D tensor")
    if x.shape[1] != w.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({x.shape[0]}x"
                           f"{x.shape[1]} and {w.shape[0]}x{w.shape[1]})")
    out_shape = (x.shape[0], w.shape[1])
    if b.shape != out_shape:
        lead = len(out_shape) - b.ndim
        if lead < 0 or any(n not in (1, out_shape[lead + i]) for i, n in enumerate(b.shape)):
            raise _expand_error(b, out_shape)
    if x.size and w.shape[1]:
        refuse_bool(x, "addmm_impl_cpu_")
    return Addmm.apply(bias, mat1, mat2)


def _expand_error(b: np.ndarray, shape: tuple) -> RuntimeError:
    """PyTorch's error for expanding a tensor `b` to `shape`."""
    if b.ndim > len(shape):
        return RuntimeError(f"expand(torch.{_dtype.scalar_name(b.dtype)}Tensor{{{list(b.shape)}}}"
                            f", size={list(shape)}): the number of sizes provided ({len(shape)}) "
                            "must be greater or equal to the number of dimensions in the tensor "
                            f"({b.ndim})")
    lead = len(shape) - b.ndim
    d = max(i for i, n in enumerate(b.shape) if n not in (1, shape[lead + i]))
    return RuntimeError(f"The expanded size of the tensor ({shape[lead + d]}) must match the "
                        f"existing size ({b.shape[d]}) at non-singleton dimension {lead + d}.  "
                        f"Target sizes: {list(shape)}.  Tensor sizes: {list(b.shape)}")


def _linear_composed(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """linear as PyTorch composes it, for the cases the fused node does not take (a vector
    weight, a bias of another shape, integer or mixed dtypes): addmm for a 2-D input with
    a bias, addmm on the flattened input when the bias is a vector in disguise, else
    matmul with weight.t() and an in-place add of the bias."""
    x, w = input._data, weight._data
    if x.ndim == 0 or w.ndim == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are "
                           f"{x.ndim}D and {w.ndim}D")
    wt = t(weight)
    if bias is None:
        return matmul(input, wt)
    b = bias._data
    if x.ndim == 2:
        return _addmm(bias, input, wt)
    if (b.ndim == 1 or np.squeeze(b).ndim == 1) and b.flags.c_contiguous \
            and x.flags.c_contiguous:
        out = _addmm(bias, reshape(input, int(np.prod(x.shape[:-1])), x.shape[-1]), wt)
        return view(out, x.shape[:-1] + (out._data.shape[1],))
    return matmul(input, wt).add_(bias)
