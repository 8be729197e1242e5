"""Max, average and adaptive average pooling over the last two axes, each one graph node.

The kernels (`_kernels/_pool.pyx`) see (planes, H, W) arrays: every leading axis (batch,
channels) is folded into planes. Max pooling saves the argmax of each window for
backward and can return it (PyTorch's flat index ih * W + iw within the plane). 1-d
pooling inserts a height axis of one around the 2-d op, as PyTorch does (its graph has a
SqueezeBackward1 on top). `pool_args` checks the arguments with PyTorch's messages.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from .. import _kernels as K
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.grad_mode import is_grad_enabled


def _planes(a: np.ndarray) -> np.ndarray:
    """a as C-contiguous (planes, H, W)."""
    return np.ascontiguousarray(a.reshape(-1, a.shape[-2], a.shape[-1]))


def output_size(size: int, kernel: int, stride: int, pad: int, dilation: int,
                ceil_mode: bool) -> int:
    """PyTorch's pooled length; in ceil mode the last window must start inside the input
    or its left padding."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) \
        // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


class MaxPool2d(ArrayFunction):
    """Window maxima and their flat indices (an int64 second output)."""

    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                out_hw=(1, 1)):
        lead = x.shape[:-2]
        out = np.empty((int(np.prod(lead, dtype=np.int64)), *out_hw), dtype=x.dtype)
        indices = np.empty(out.shape, dtype=np.int64)
        K.max_pool2d_forward(_planes(x), out, indices, kernel, stride, padding, dilation)
        out, indices = out.reshape(*lead, *out_hw), indices.reshape(*lead, *out_hw)
        ctx.save_for_backward(indices)
        ctx.in_shape = x.shape
        return out, indices

    @staticmethod
    def backward(ctx, grads):
        (indices,) = ctx.saved_tensors
        g = grads[0]
        gx = np.empty(ctx.in_shape, dtype=g.dtype)
        K.max_pool2d_backward(_planes(g), _planes(indices), gx.reshape(-1, *gx.shape[-2:]))
        return (gx,)


class AvgPool2d(ArrayFunction):
    node_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), out_hw=(1, 1),
                count_include_pad=True, divisor=0):
        lead = x.shape[:-2]
        out = np.empty((int(np.prod(lead, dtype=np.int64)), *out_hw), dtype=x.dtype)
        ctx.options = (kernel, stride, padding, count_include_pad, divisor)
        ctx.in_shape = x.shape
        K.avg_pool2d_forward(_planes(x), out, *ctx.options)
        return out.reshape(*lead, *out_hw)

    @staticmethod
    def backward(ctx, g):
        gx = np.empty(ctx.in_shape, dtype=g.dtype)
        K.avg_pool2d_backward(_planes(g), gx.reshape(-1, *gx.shape[-2:]), *ctx.options)
        return (gx,)


class AdaptiveAvgPool2d(ArrayFunction):
    node_name = "AdaptiveAvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, out_hw=(1, 1)):
        lead = x.shape[:-2]
        out = np.empty((int(np.prod(lead, dtype=np.int64)), *out_hw), dtype=x.dtype)
        K.adaptive_avg_pool2d_forward(_planes(x), out)
        ctx.in_shape = x.shape
        return out.reshape(*lead, *out_hw)

    @staticmethod
    def backward(ctx, g):
        gx = np.empty(ctx.in_shape, dtype=g.dtype)
        K.adaptive_avg_pool2d_backward(_planes(g), gx.reshape(-1, *gx.shape[-2:]))
        return (gx,)


def _windows(x: np.ndarray, kernel, stride, padding, dilation, out_hw):
    """For each kernel offset: (plane values, real-position mask, flat input index) of the
    window elements at that offset, each of shape (planes, OH, OW)."""
    planes = _planes(x)
    h, w = planes.shape[1:]
    rows = np.arange(out_hw[0])[:, None] * stride[0] - padding[0]
    cols = np.arange(out_hw[1])[None, :] * stride[1] - padding[1]
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            r, c = rows + i * dilation[0], cols + j * dilation[1]
            real = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            rc, cc = np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)
            yield planes[:, rc, cc], real, rc * w + cc


def integer_max_pool(x: np.ndarray, kernel, stride, padding, dilation, out_hw) -> tuple:
    """Window maxima of an integer array and their flat indices (the first maximum in scan
    order, as PyTorch's kernel)."""
    lead = x.shape[:-2]
    best = idx = found = None
    for vals, real, flat in _windows(x, kernel, stride, padding, dilation, out_hw):
        if best is None:
            best = np.zeros(vals.shape, x.dtype)
            idx = np.zeros(vals.shape, np.int64)
            found = np.zeros(vals.shape, bool)
        take = real & (~found | (vals > best))
        best = np.where(take, vals, best)
        idx = np.where(take, flat, idx)
        found |= real
    return best.reshape(*lead, *out_hw), idx.reshape(*lead, *out_hw)


def integer_avg_pool(x: np.ndarray, kernel, stride, padding, out_hw, count_include_pad: bool,
                     divisor: int) -> np.ndarray:
    """Window averages of an int64 array, divided as C integers (truncating, wrapping sums)."""
    h, w = x.shape[-2:]
    total = count = None
    for vals, real, _ in _windows(x, kernel, stride, padding, (1, 1), out_hw):
        part = np.where(real, vals, 0)
        total = part if total is None else total + part
        count = real.astype(np.int64) if count is None else count + real
    if divisor:
        div = np.int64(divisor)
    elif count_include_pad:
        r0 = np.arange(out_hw[0])[:, None] * stride[0] - padding[0]
        c0 = np.arange(out_hw[1])[None, :] * stride[1] - padding[1]
        rows = np.minimum(r0 + kernel[0], h + padding[0]) - r0
        cols = np.minimum(c0 + kernel[1], w + padding[1]) - c0
        div = (rows * cols).astype(np.int64)
    else:
        div = count
    out = total // div
    out += (total % div != 0) & ((total < 0) != (div < 0))        # C's truncation
    return out.reshape(*x.shape[:-2], *out_hw)


# ------------------------------------------------------------------ arguments

def _pair(value, name: str, what: str, allow_none: bool = False) -> tuple | None:
    if allow_none and (value is None or (not isinstance(value, numbers.Integral)
                                         and len(value) == 0)):
        return None
    if isinstance(value, numbers.Integral):
        return (int(value), int(value))
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return values * 2
    if len(values) != 2:
        raise RuntimeError(f"{name}: {what}")
    return values


def pool_args(name: str, input: Tensor, kernel_size, stride, padding, dilation,
              ceil_mode: bool) -> tuple:
    """Check 2-d pooling arguments as PyTorch does; return (kernel, stride, padding,
    dilation, (OH, OW)) as pairs."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    x = input._data
    kernel = _pair(kernel_size, name, "kernel_size must either be a single int, or a tuple "
                   "of two ints")
    stride = _pair(stride, name, "stride must either be omitted, a single int, or a tuple of "
                   "two ints", allow_none=True) or kernel
    padding = _pair(padding, name, "padding must either be a single int, or a tuple of two ints")
    dilation = _pair(dilation, name, "dilation must be either a single int, or a tuple of two "
                     "ints")
    if min(kernel) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kernel[0]} "
                           f"kW: {kernel[1]}")
    if min(stride) <= 0:
        raise RuntimeError("stride should not be zero" if 0 in stride else
                           f"stride should be greater than zero, but got dH: {stride[0]} "
                           f"dW: {stride[1]}")
    if min(dilation) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: "
                           f"{dilation[0]} dilationW: {dilation[1]}")
    if x.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    if any(s == 0 for s in x.shape[-3:]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                           f"size for input, but got:{list(x.shape)}")
    for p, k, d in zip(padding, kernel, dilation):
        if p < 0 or p > ((k - 1) * d + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    out_hw = tuple(output_size(x.shape[a - 2], kernel[a], stride[a], padding[a], dilation[a],
                               ceil_mode) for a in (0, 1))
    if min(out_hw) < 1:
        c, h, w = x.shape[-3:]
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{out_hw[0]}x{out_hw[1]}). Output size is too small")
    return kernel, stride, padding, dilation, out_hw


def _as_1d(name: str, input: Tensor, kernel_size, stride, padding, dilation) -> tuple:
    """1-d arguments as the 2-d op's (height 1), checked with PyTorch's 1-d messages."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.ndim not in (2, 3):
        raise RuntimeError(f"{name}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got:{list(input._data.shape)}")

    def one(value, what):
        if isinstance(value, numbers.Integral):
            return int(value)
        values = tuple(value)
        if len(values) != 1:
            raise RuntimeError(f"{name}() {what} must be a single int, got {list(values)}")
        return int(values[0])

    k = one(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0) \
        else one(stride, "stride")
    return (1, k), (1, s), (0, one(padding, "padding")), (1, one(dilation, "dilation"))


def _no_kernel(kernel: str, x: np.ndarray) -> NotImplementedError:
    return NotImplementedError(
        f'"{kernel}" not implemented for \'{_dtype.scalar_name(x.dtype)}\'')


def max_pool(name: str, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
             return_indices: bool, dims: int):
    """F.max_pool1d / F.max_pool2d (integer inputs too, as PyTorch; not bool)."""
    if dims == 1:
        k, s, p, d = _as_1d(name, input, kernel_size, stride, padding, dilation)
        x = input._data
        if not return_indices and not (input.requires_grad and is_grad_enabled()):
            if any(n == 0 for n in x.shape[-2:]):         # PyTorch's max_pool1d_impl
                raise RuntimeError(f"{name}: Expected 2D or 3D (batch mode) tensor with optional "
                                   f"0 dim batch size for input, but got:{list(x.shape)}")
            if x.dtype.kind != "f":
                pool_args("max_pool2d", input.unsqueeze(-2), k, s, p, d, ceil_mode)
                raise _no_kernel("max_pool1d_impl", x)
        out = max_pool("max_pool2d", input.unsqueeze(-2), k, s, p, d, ceil_mode, True, 2)
        out = tuple(t.squeeze(-2) for t in out)
        return out if return_indices else out[0]
    kernel, stride, padding, dilation, out_hw = pool_args(name, input, kernel_size, stride,
                                                          padding, dilation, ceil_mode)
    x = input._data
    if x.dtype.kind == "f":
        out, indices = MaxPool2d.apply(input, kernel=kernel, stride=stride, padding=padding,
                                       dilation=dilation, out_hw=out_hw)
    elif x.dtype == np.bool_:
        raise _no_kernel("max_pool2d", x)
    else:
        out, indices = (Tensor._wrap(a) for a in integer_max_pool(x, kernel, stride, padding,
                                                                  dilation, out_hw))
    return (out, indices) if return_indices else out


def avg_pool(name: str, input: Tensor, kernel_size, stride, padding, ceil_mode: bool,
             count_include_pad: bool, divisor_override, dims: int) -> Tensor:
    """F.avg_pool1d / F.avg_pool2d (int64 inputs too, as PyTorch)."""
    if dims == 1:
        k, s, p, _ = _as_1d(name, input, kernel_size, stride, padding, 1)
        return avg_pool("avg_pool2d", input.unsqueeze(-2), k, s, p, ceil_mode,
                        count_include_pad, None, 2).squeeze(-2)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    kernel, stride, padding, _, out_hw = pool_args(name, input, kernel_size, stride, padding,
                                                   1, ceil_mode)
    x = input._data
    if x.dtype.kind != "f":
        if x.dtype != np.int64:
            raise _no_kernel("avg_pool2d", x)
        return Tensor._wrap(integer_avg_pool(x, kernel, stride, padding, out_hw,
                                             bool(count_include_pad), int(divisor_override or 0)))
    return AvgPool2d.apply(input, kernel=kernel, stride=stride, padding=padding, out_hw=out_hw,
                           count_include_pad=bool(count_include_pad),
                           divisor=int(divisor_override or 0))


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """F.adaptive_avg_pool2d: output_size an int or a pair (None keeps the input's size)."""
    x = input._data
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(x.shape)}")
    for d in range(1, x.ndim):
        if x.shape[d] == 0:
            raise RuntimeError(f"adaptive_avg_pool2d(): Expected input to have non-zero size for "
                               f"non-batch dimensions, but input has sizes {list(x.shape)} with "
                               f"dimension {d} being empty")
    if isinstance(output_size, numbers.Integral):
        sizes = (int(output_size),) * 2
    else:
        sizes = tuple(output_size)
        if len(sizes) != 2:
            raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    out_hw = tuple(x.shape[a - 2] if s is None else int(s) for a, s in enumerate(sizes))
    if min(out_hw) < 0:
        raise RuntimeError(f"adaptive_avg_pool2d: elements of output_size must be greater than "
                           f"or equal to 0 but received {list(out_hw)}")
    if out_hw == (1, 1):                  # a global average: PyTorch records a mean
        return input.mean((-2, -1), keepdim=True)
    if x.dtype.kind != "f":
        if x.size:
            raise _no_kernel("adaptive_avg_pool2d", x)
        return Tensor._wrap(np.zeros(x.shape[:-2] + out_hw, x.dtype))
    return AdaptiveAvgPool2d.apply(input, out_hw=out_hw)
