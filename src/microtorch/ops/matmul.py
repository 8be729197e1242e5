"""Matrix products: matmul (1-D, 2-D, batched with broadcasting), mm, bmm, and the fused
`linear` (x @ W.T + b as one graph node, its three products done by BLAS kernels).
"""
from __future__ import annotations

import numpy as np

from .. import _kernels as K
from .._tensor import Tensor
from ..autograd import engine
from ..autograd.graph import needs_grad, record
from ..autograd.node import AccumulateGrad, Node


def _check_same_dtype(x: np.ndarray, y: np.ndarray, op: str) -> None:
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, but got: "
            f"{x.dtype} != {y.dtype}"
        )


def _shape_str(s: tuple) -> str:
    return "x".join(map(str, s)) if s else "scalar"


class MmBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        a, b = self.saved_tensors
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        a1 = a[None, :] if a.ndim == 1 else a
        b1 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        ga = np.matmul(g, np.swapaxes(b1, -1, -2))
        gb = np.matmul(np.swapaxes(a1, -1, -2), g)
        if a.ndim == 1:
            ga = ga[..., 0, :]
        if b.ndim == 1:
            gb = gb[..., :, 0]
        return ga, gb


class BmmBackward0(MmBackward0):
    __slots__ = ()


class DotBackward0(MmBackward0):
    __slots__ = ()


class UnsafeViewBackward0(MmBackward0):
    """Batched matmul with broadcasting (PyTorch's name for the node it records)."""

    __slots__ = ()


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with numpy/PyTorch semantics for 1-D, 2-D and batched operands."""
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
    try:
        out = Tensor._wrap(np.asarray(np.matmul(a, b)))
    except ValueError:
        raise RuntimeError(
            f"matmul: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} do not broadcast"
        ) from None
    if needs_grad(input, other):
        if a.ndim == 1 and b.ndim == 1:
            node = DotBackward0()
        elif a.ndim <= 2 and b.ndim <= 2:
            node = MmBackward0()
        elif a.ndim == b.ndim == 3:
            node = BmmBackward0()
        else:
            node = UnsafeViewBackward0()
        node.saved = (a, b)
        node.versions = ((input._version, input._version[0]), (other._version, other._version[0]))
        record(node, out, input, other)
    return out


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only)."""
    if input._data.ndim != 2 or mat2._data.ndim != 2:
        raise RuntimeError(
            f"mm: expected 2D tensors, got {input._data.ndim}D and {mat2._data.ndim}D"
        )
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of two 3-D tensors with equal batch sizes."""
    a, b = input._data, mat2._data
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor, got {a.ndim}D and {b.ndim}D")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"batch1 and batch2 must have same number of batches, got {a.shape[0]} and {b.shape[0]}"
        )
    return matmul(input, mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length."""
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors"
        )
    return matmul(input, other)


def _grad_buffer(edge_node, shape: tuple, dtype: np.dtype):
    """Where a parameter gradient can be written directly: (array, beta) or None.

    When the edge leads straight to a leaf's AccumulateGrad with no hooks, during a normal
    backward, the kernel writes into `leaf.grad` (beta=1) or a fresh array that becomes it
    (beta=0): no temporary, no extra add.
    """
    if type(edge_node) is not AccumulateGrad or edge_node.pre_hooks or not engine.state.accumulating:
        return None
    leaf = edge_node.variable
    grad = leaf.grad
    if grad is None:
        buf = np.empty(shape, dtype=dtype)
        leaf.grad = Tensor._wrap(buf)
        return buf, 0.0
    buf = grad._data
    if (buf.shape == shape and buf.dtype == dtype and buf.flags.c_contiguous
            and buf.flags.writeable and not grad._requires_grad):
        return buf, 1.0
    return None


class AddmmBackward0(Node):
    """Backward of linear: dX = dY @ W, dW = dY.T @ X, db = sum(dY, rows), in one kernel call."""

    __slots__ = ()

    def backward(self, g):
        x2, w = self.saved_tensors
        g2 = g.reshape(x2.shape[0], w.shape[0])
        if g2.dtype != w.dtype or not g2.flags.c_contiguous:
            g2 = np.ascontiguousarray(g2, dtype=w.dtype)
        edges = self.next_functions
        gx = gw = gb = None
        gw_buf = gb_buf = None
        beta_w = beta_b = 0.0
        if edges[0][0] is not None:
            gx = np.empty((g2.shape[0], w.shape[1]), dtype=w.dtype)
        if edges[1][0] is not None:
            target = _grad_buffer(edges[1][0], w.shape, w.dtype)
            if target is None:
                gw = gw_buf = np.empty(w.shape, dtype=w.dtype)
            else:
                gw_buf, beta_w = target
        if len(edges) > 2 and edges[2][0] is not None:
            target = _grad_buffer(edges[2][0], (w.shape[0],), w.dtype)
            if target is None:
                gb = gb_buf = np.empty(w.shape[0], dtype=w.dtype)
            else:
                gb_buf, beta_b = target
        K.linear_backward(g2, x2, w, gx, gw_buf, gb_buf, beta_w, beta_b)
        return (None if gx is None else gx.reshape(self.in_shape)), gw, gb


class LinearMmBackward0(AddmmBackward0):
    """linear without bias; PyTorch names this node MmBackward0."""

    __slots__ = ()

    def name(self) -> str:
        return "MmBackward0"


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, recorded as one graph node."""
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
    in_shape = x.shape
    rows = 1
    for n in x.shape[:-1]:
        rows *= n
    x2 = np.ascontiguousarray(x.reshape(rows, w.shape[1]))
    wc = w if w.flags.c_contiguous else np.ascontiguousarray(w)
    b = None if bias is None else np.ascontiguousarray(bias._data)
    y = np.empty((x2.shape[0], w.shape[0]), dtype=w.dtype)
    K.linear_forward(x2, wc, b, y)
    out = Tensor._wrap(y.reshape(in_shape[:-1] + (w.shape[0],)))
    if needs_grad(input, weight, bias):
        node = AddmmBackward0() if bias is not None else LinearMmBackward0()
        node.in_shape = in_shape
        node.saved = (x2, wc)
        node.versions = ((input._version, input._version[0]), (weight._version, weight._version[0]))
        if bias is None:
            record(node, out, input, weight)
        else:
            record(node, out, input, weight, bias)
    return out
