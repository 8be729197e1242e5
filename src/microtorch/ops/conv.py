"""Convolution (conv1d, conv2d) as one graph node, PyTorch's ConvolutionBackward0.

Forward and all three gradients (input, weight, bias) run in the Cython kernels of
`_kernels/_conv.pyx` (im2col + BLAS gemm); a 1-d convolution is the 2-d one on a view
with height 1. `conv` checks arguments with PyTorch's messages; unbatched inputs get a
batch axis of one around the op (PyTorch's graph: SqueezeBackward1 on top).
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from .. import _kernels as K
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from .shape import to_dtype


def _as_4d(a: np.ndarray) -> np.ndarray:
    """A C-contiguous 4-D array: (N, C, L) becomes (N, C, 1, L)."""
    if a.ndim == 3:
        a = a[:, :, None, :]
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def out_size(size: int, before: int, after: int, kernel: int, stride: int, dilation: int) -> int:
    """Output length of a convolution along one axis."""
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


class Convolution(ArrayFunction):
    """conv2d of (N, C, H, W) or conv1d of (N, C, L) inputs; options as 2-d pairs."""

    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, stride=(1, 1), padding=((0, 0), (0, 0)),
                dilation=(1, 1), groups=1):
        x4, w4 = _as_4d(x), _as_4d(weight)
        b = None if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)
        n, o = x4.shape[0], w4.shape[0]
        oh, ow = (out_size(x4.shape[2 + a], *padding[a], w4.shape[2 + a], stride[a], dilation[a])
                  for a in (0, 1))
        top_left = (padding[0][0], padding[1][0])
        ctx.save_for_backward(x, weight)
        ctx.options = (stride, top_left, dilation, groups)
        if x.size == 0:          # PyTorch: no output channels without input channels
            out = np.zeros((n, o if x4.shape[1] else 0, oh, ow), dtype=x4.dtype)
        elif x.dtype.kind != "f":
            out = _integer_conv(x4, w4, b, stride, padding, dilation, groups)
        else:
            out = np.empty((n, o, oh, ow), dtype=x4.dtype)
            K.conv2d_forward(x4, w4, b, out, stride, top_left, dilation, groups)
        return out.reshape(out.shape[:2] + (ow,)) if x.ndim == 3 else out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if x.size == 0:
            return (np.zeros_like(x) if needs[0] else None,
                    np.zeros(weight.shape, x.dtype) if needs[1] else None,
                    np.zeros(weight.shape[0], x.dtype) if needs[2] else None)
        x4, w4 = _as_4d(x), _as_4d(weight.astype(x.dtype, copy=False))
        g4 = _as_4d(g.astype(x4.dtype, copy=False))
        gx = np.empty(x4.shape, dtype=x4.dtype) if needs[0] else None
        gw = np.empty(w4.shape, dtype=x4.dtype) if needs[1] else None
        gb = np.empty(w4.shape[0], dtype=x4.dtype) if needs[2] else None
        K.conv2d_backward(g4, x4, w4, gx, gw, gb, *ctx.options)
        return (None if gx is None else gx.reshape(x.shape),
                None if gw is None else gw.reshape(weight.shape), gb)


def _tuple(value, dims: int, name: str) -> tuple:
    """An int or a sequence of `dims` ints as a tuple (PyTorch's message otherwise)."""
    if isinstance(value, numbers.Integral):
        return (int(value),) * dims
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return values * dims
    if len(values) != dims:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {dims} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={list(values)}")
    return values


def _same_padding(kernel: tuple, dilation: tuple) -> tuple:
    """(before, after) per axis so that the output keeps the input's size (stride 1);
    an odd total puts the extra element after, as PyTorch does."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _check_shapes(name: str, x: Tensor, weight: Tensor, bias: Tensor | None, dims: int,
                  groups: int) -> None:
    """PyTorch's checks of shapes and channel counts."""
    xd, wd = x._data, weight._data
    if xd.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(xd.shape)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    out_ch = wd.shape[0]
    if out_ch == 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(wd.shape)} instead")
    if out_ch % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(wd.shape)}] instead")
    channels = xd.shape[-dims - 1]
    if channels != wd.shape[1] * groups:
        batched = list(xd.shape) if xd.ndim == dims + 2 else [1, *xd.shape]
        raise RuntimeError(f"Given groups={groups}, weight of size {list(wd.shape)}, expected "
                           f"input{batched} to have {wd.shape[1] * groups} channels, but got "
                           f"{channels} channels instead")
    if bias is not None and bias._data.shape != (out_ch,):
        raise RuntimeError(f"Given weight of size {list(wd.shape)}, expected bias to be "
                           f"1-dimensional with {out_ch} elements, but got bias of size "
                           f"{list(bias._data.shape)} instead")


def _check_kernel_dtype(xd: np.ndarray, wd: np.ndarray, dilation: tuple) -> None:
    """PyTorch's dtype checks of a non-empty convolution: the weight's dtype must be the
    input's, and there is no bool kernel."""
    if xd.dtype == np.bool_:
        kernel = "slow_conv_dilated<>" if any(d != 1 for d in dilation) else "slow_conv2d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
    if xd.dtype != wd.dtype:
        raise RuntimeError(f"expected scalar type {_scalar(xd.dtype)} but found "
                           f"{_scalar(wd.dtype)}")


def _scalar(dtype: np.dtype) -> str:
    return _dtype.scalar_name(dtype)


def _tensor_type(dtype: np.dtype) -> str:
    """PyTorch's legacy tensor type name ('torch.FloatTensor', 'CPUBoolType')."""
    if dtype == np.bool_:
        return "CPUBoolType"
    return f"torch.{_scalar(dtype)}Tensor"


def _c_type(dtype: np.dtype) -> str:
    return _dtype.c_name(dtype)


def _integer_conv(x4: np.ndarray, w4: np.ndarray, b: np.ndarray | None, stride: tuple,
                  pads: tuple, dilation: tuple, groups: int) -> np.ndarray:
    """A convolution of integer arrays, exact in their dtype (wrapping on overflow as
    PyTorch's integer kernel does): one product per kernel offset."""
    xp = np.pad(x4, ((0, 0), (0, 0), *pads))
    n, o = x4.shape[0], w4.shape[0]
    cg, kh, kw = w4.shape[1:]
    oh, ow = (out_size(x4.shape[2 + a], *pads[a], w4.shape[2 + a], stride[a], dilation[a])
              for a in (0, 1))
    og = o // groups
    out = np.zeros((n, o, oh, ow), dtype=x4.dtype)
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], w4[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                top, left = i * dilation[0], j * dilation[1]
                patch = xs[:, :, top:top + stride[0] * (oh - 1) + 1:stride[0],
                           left:left + stride[1] * (ow - 1) + 1:stride[1]]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    if b is not None:
        out += b.astype(out.dtype).reshape(1, o, 1, 1)
    return out


def conv(name: str, input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding,
         dilation, groups: int, dims: int) -> Tensor:
    """F.conv1d (dims=1) / F.conv2d (dims=2) with PyTorch's arguments and errors."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        bad = "input" if not isinstance(input, Tensor) else "weight"
        raise TypeError(f"{name}() argument '{bad}' must be Tensor, not "
                        f"{type(input if bad == 'input' else weight).__name__}")
    if (bias is not None and not isinstance(padding, str)
            and bias._data.dtype != input._data.dtype):
        raise RuntimeError(f"Input type ({_c_type(input._data.dtype)}) and bias type "
                           f"({_c_type(bias._data.dtype)}) should be the same")
    wdims = weight._data.ndim - 2
    stride = _tuple(stride, wdims, "stride")
    dilation = _tuple(dilation, wdims, "dilation")
    if min(stride, default=1) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation, default=1) <= 0:
        raise RuntimeError("non-positive dilation is not supported")
    _check_shapes(name, input, weight, bias, dims, groups)
    kernel = tuple(weight._data.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * dims
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_padding(kernel, dilation)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = tuple((p, p) for p in _tuple(padding, wdims, "padding"))
        if any(p < 0 for p, _ in pads):
            raise RuntimeError("negative padding is not supported")
    spatial = tuple(input._data.shape[-dims:])
    padded = tuple(s + a + b for s, (a, b) in zip(spatial, pads))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < e for p, e in zip(padded, extent)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, extent))}). Kernel size can't be greater "
                           f"than actual input size")
    if (bias is not None and isinstance(padding, str) and input._data.dtype == np.float32
            and input._data.ndim == dims + 2 and input._data.shape[0] > 1
            and bias._data.dtype != input._data.dtype):     # PyTorch's MKLDNN path
        raise RuntimeError(f"Input type ({_tensor_type(input._data.dtype)}) and bias type "
                           f"({_tensor_type(bias._data.dtype)}) should be the same or input "
                           "should be a MKLDNN tensor and bias is a dense tensor")
    if input._data.size:
        _check_kernel_dtype(input._data, weight._data, dilation)
    elif input._data.dtype.kind != "f" and weight._data.dtype.kind == "f":
        input = to_dtype(input, weight._data.dtype)     # PyTorch's dtype for an empty input
    if dims == 1:            # the 2-d kernel on height 1
        stride, dilation, pads = (1, *stride), (1, *dilation), ((0, 0), *pads)
    unbatched = input._data.ndim == dims + 1
    if unbatched:
        input = input.unsqueeze(0)
    out = Convolution.apply(input, weight, bias, stride=stride, padding=pads,
                            dilation=dilation, groups=groups)
    return out.squeeze(0) if unbatched else out
