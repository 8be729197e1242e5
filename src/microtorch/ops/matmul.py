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

from .. import _kernels as K
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.node import pass_through, pass_through_type
from ._operands import refuse_bool
from ._out import write_out
from .shape import Squeeze, UnsafeView, reshape, unsqueeze, view, viewable


def _check_same_dtype(x: np.ndarray, y: np.ndarray, op: str) -> None:
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, but got: "
            f"{x.dtype} != {y.dtype}"
        )


def _shape_str(s: tuple) -> str:
    return "x".join(map(str, s)) if s else "scalar"


def _matmul_backward(ctx, g):
    """Gradients of a @ b for 1-D, 2-D and batched operands (batch dims may broadcast: the
    engine sums the gradients back to each operand's shape)."""
    a, b = ctx.saved_tensors
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
        ga = np.matmul(g, np.swapaxes(b1, -1, -2))
        if a.ndim == 1:
            ga = ga[..., 0, :]
    if ctx.needs_input_grad[1]:
        gb = np.matmul(np.swapaxes(a1, -1, -2), g)
        if b.ndim == 1:
            gb = gb[..., :, 0]
    return ga, gb


class Mm(ArrayFunction):
    """Matrix product; this class is the 2-D case, its subclasses name PyTorch's other nodes."""

    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        try:
            out = np.asarray(np.matmul(a, b))
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} do not "
                "broadcast"
            ) from None
        ctx.save_for_backward(a, b)
        return out

    backward = staticmethod(_matmul_backward)


class Bmm(Mm):
    node_name = "BmmBackward0"


class Dot(Mm):
    node_name = "DotBackward0"


class Mv(Mm):
    node_name = "MvBackward0"


class SqueezeRow(Squeeze):
    """The row dim that matmul adds to a 1-D left operand, squeezed off the product (in
    place in PyTorch, hence its node name)."""

    node_name = "SqueezeBackward4"


class BroadcastMatmul(Mm):
    """Batched matmul with broadcasting (PyTorch's name for the node it records)."""

    node_name = "UnsafeViewBackward0"


def _matmul_kernel(a_ndim: int, b_ndim: int) -> str:
    """The name of the kernel PyTorch's matmul dispatches to (as its dtype errors print it)."""
    if a_ndim == 1 and b_ndim == 1:
        return "dot"
    if a_ndim == 2 and b_ndim == 1:
        return "addmv_impl_cpu"
    if a_ndim >= 3 and b_ndim >= 3:
        return "bmm"
    return "addmm_impl_cpu_"


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
    _check_same_dtype(a, b, "matmul")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_shape_str(a.shape)} and "
            f"{_shape_str(b.shape)})"
        )
    if (a.size and b.size) or a.ndim == b.ndim == 1:  # empty products skip the kernel
        refuse_bool(a, _matmul_kernel(a.ndim, b.ndim))
    if a.ndim == 1 and b.ndim == 1:
        return Dot.apply(input, other)
    if a.ndim == 2 and b.ndim == 1:
        return Mv.apply(input, other)
    if a.ndim == 1 and b.ndim == 2:        # as PyTorch: a row matrix, then squeezed
        return SqueezeRow.apply(Mm.apply(unsqueeze(input, 0), other), axes=(0,))
    if a.ndim == 2 and b.ndim == 2:
        return Mm.apply(input, other)
    return BroadcastMatmul.apply(input, other)


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
    _check_same_dtype(a, b, "bmm")
    if a.size and b.size:
        refuse_bool(a, "bmm")
    if a.shape[2] != b.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{b.shape[0]}, "
            f"{a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}]."
        )
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


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, one fused node; other than 2-D inputs are reshaped around it
    by view nodes where PyTorch has them."""
    x, w = input._data, weight._data
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1] if x.ndim else 1} "
            f"and {_shape_str(w.shape[::-1])})"
        )
    if bias is not None and bias._data.shape != (w.shape[0],):
        raise RuntimeError(
            f"linear: bias of shape {tuple(bias._data.shape)} does not match weight of shape "
            f"{tuple(w.shape)} (expected ({w.shape[0]},))"
        )
    if x.dtype != w.dtype or w.dtype.kind != "f" or (bias is not None and bias._data.dtype != w.dtype):
        raise RuntimeError(
            f"linear: expected input, weight and bias of one floating dtype, but got "
            f"{x.dtype}, {w.dtype}" + (f" and {bias._data.dtype}" if bias is not None else "")
        )
    if x.ndim == 2:
        return _fused(input, weight, bias)
    o = w.shape[0]
    if x.ndim == 1:                # PyTorch's graph: a row matrix in, a vector out
        if bias is None:
            return SqueezeRow.apply(_fused(unsqueeze(input, 0), weight, None), axes=(0,))
        return view(_fused(view(input, 1, x.shape[0]), weight, bias), o)
    rows = int(np.prod(x.shape[:-1]))
    out_shape = x.shape[:-1] + (o,)
    if bias is not None and viewable(x, (rows, x.shape[-1])):
        return view(_fused(view(input, rows, x.shape[-1]), weight, bias), out_shape)
    out = _fused(reshape(input, rows, x.shape[-1]), weight, None)   # matmul's folding
    out = UnsafeView.apply(out, shape=out_shape)
    return out if bias is None else out + bias
