"""numpy twins of the convolution and pooling kernels: the test oracle.

Written for clarity, not speed: a convolution is a sum over kernel taps of strided slices
of the zero-padded input; a pooling window is a stack of such slices (padded with -inf
for max, with zeros plus a matching count for average).
"""
from __future__ import annotations

import numpy as np


def _pairs(value, dims: int) -> tuple:
    return (value,) * dims if isinstance(value, int) else tuple(value)


def _same(kernel: tuple, dilation: tuple) -> tuple:
    return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                 for k, d in zip(kernel, dilation))


def _conv_setup(x, w, stride, padding, dilation):
    """(zero-padded input, pads, stride, dilation, output sizes)."""
    dims = w.ndim - 2
    stride, dilation = _pairs(stride, dims), _pairs(dilation, dims)
    kernel = w.shape[2:]
    if padding == "same":
        pads = _same(kernel, dilation)
    elif padding == "valid":
        pads = ((0, 0),) * dims
    else:
        pads = tuple((p, p) for p in _pairs(padding, dims))
    xp = np.pad(x, ((0, 0), (0, 0), *pads))
    out_sizes = tuple((xp.shape[2 + a] - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1
                      for a in range(dims))
    return xp, pads, stride, dilation, out_sizes


def _taps(w, stride, dilation, out_sizes):
    """(tap, index of the input window of that tap) for every kernel position."""
    for tap in np.ndindex(*w.shape[2:]):
        window = tuple(slice(t * d, t * d + (n - 1) * s + 1, s)
                       for t, d, n, s in zip(tap, dilation, out_sizes, stride))
        yield tap, (slice(None), slice(None), *window)


def conv_nd(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's conv1d/conv2d (batched or unbatched) as a sum over kernel taps."""
    unbatched = x.ndim == w.ndim - 1
    if unbatched:
        x = x[None]
    xp, _, stride, dilation, out_sizes = _conv_setup(x, w, stride, padding, dilation)
    o, cg = w.shape[:2]
    og = o // groups
    y = np.zeros((x.shape[0], o, *out_sizes), dtype=np.result_type(x, w))
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og]
        for tap, window in _taps(w, stride, dilation, out_sizes):
            y[:, g * og:(g + 1) * og] += np.einsum("nc...,oc->no...", xs[window],
                                                   ws[(slice(None), slice(None), *tap)])
    if b is not None:
        y += b.reshape(1, -1, *([1] * (w.ndim - 2)))
    return y[0] if unbatched else y


def conv_nd_backward(gy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """(grad input, grad weight, grad bias) of conv_nd for the output gradient gy
    (batched arrays): each tap's contribution, transposed."""
    xp, pads, stride, dilation, out_sizes = _conv_setup(x, w, stride, padding, dilation)
    o, cg = w.shape[:2]
    og = o // groups
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    for g in range(groups):
        gyg = gy[:, g * og:(g + 1) * og]
        for tap, window in _taps(w, stride, dilation, out_sizes):
            tap_index = (slice(g * og, (g + 1) * og), slice(None), *tap)
            summed = [0, *range(2, gy.ndim)]                  # batch and output positions
            gw[tap_index] = np.tensordot(gyg, xp[:, g * cg:(g + 1) * cg][window],
                                         axes=(summed, summed))
            gxp[:, g * cg:(g + 1) * cg][window] += np.einsum("no...,oc->nc...", gyg, w[tap_index])
    crop = tuple(slice(a, n - b) for (a, b), n in zip(pads, xp.shape[2:]))
    return gxp[(slice(None), slice(None), *crop)], gw, gy.sum(axis=(0, *range(2, gy.ndim)))


def _pool_out(size, k, s, p, d, ceil_mode):
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _windows(x, kernel, stride, padding, dilation, ceil_mode, fill):
    """(taps, *lead, OH, OW) values of every window position, `fill` outside the input,
    and the matching flat input indices (-1 outside)."""
    h, w = x.shape[-2:]
    oh, ow = (_pool_out(s, kernel[a], stride[a], padding[a], dilation[a], ceil_mode)
              for a, s in enumerate((h, w)))
    values, indices = [], []
    for i, j in np.ndindex(*kernel):
        rows = np.arange(oh) * stride[0] - padding[0] + i * dilation[0]
        cols = np.arange(ow) * stride[1] - padding[1] + j * dilation[1]
        inside = (((rows >= 0) & (rows < h))[:, None]) & (((cols >= 0) & (cols < w))[None, :])
        r, c = np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)
        vals = x[..., r[:, None], c[None, :]]
        values.append(np.where(inside, vals, fill))
        indices.append(np.where(inside, r[:, None] * w + c[None, :], -1))
    return np.stack(values), np.stack(indices)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    k = _pairs(kernel_size, 2)
    s = _pairs(stride if stride is not None else kernel_size, 2)
    values, indices = _windows(x, k, s, _pairs(padding, 2), _pairs(dilation, 2), ceil_mode,
                               -np.inf)
    arg = np.argmax(values, axis=0)[None]          # the first maximum, as PyTorch
    indices = indices.reshape(indices.shape[:1] + (1,) * (x.ndim - 2) + indices.shape[1:])
    out = np.take_along_axis(values, arg, 0)[0]
    idx = np.take_along_axis(np.broadcast_to(indices, values.shape), arg, 0)[0]
    return (out, idx.astype(np.int64)) if return_indices else out


def _extent(size, k, s, p, n_out):
    """Window lengths along one axis, counting padding but not what lies beyond it."""
    start = np.arange(n_out) * s - p
    return np.minimum(start + k, size + p) - start


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    k = _pairs(kernel_size, 2)
    s = _pairs(stride if stride is not None else kernel_size, 2)
    p = _pairs(padding, 2)
    values, indices = _windows(x, k, s, p, (1, 1), ceil_mode, 0.0)
    oh, ow = values.shape[-2:]
    if divisor_override:
        divisor = divisor_override
    elif count_include_pad:
        divisor = np.outer(_extent(x.shape[-2], k[0], s[0], p[0], oh),
                           _extent(x.shape[-1], k[1], s[1], p[1], ow))
    else:
        divisor = (indices >= 0).sum(0)
    return values.sum(0) / divisor


def adaptive_avg_pool2d(x, output_size):
    h, w = x.shape[-2:]
    sizes = _pairs(output_size, 2)
    oh, ow = (h if sizes[0] is None else sizes[0]), (w if sizes[1] is None else sizes[1])
    out = np.empty(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        r0, r1 = i * h // oh, -(-(i + 1) * h // oh)
        for j in range(ow):
            c0, c1 = j * w // ow, -(-(j + 1) * w // ow)
            out[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return out


def pool1d(fn):
    """The 1-d pooling reference: the 2-d one on a height-1 view."""
    def ref(x, kernel_size, stride=None, padding=0, *args, **kwargs):
        def one(v):
            return v if isinstance(v, int) else v[0]
        out = fn(x[..., None, :], (1, one(kernel_size)),
                 None if stride is None else (1, one(stride)), (0, one(padding)), *args, **kwargs)
        if isinstance(out, tuple):
            return tuple(o[..., 0, :] for o in out)
        return out[..., 0, :]

    return ref


def pad(x, pad, value=0.0):
    """F.pad in constant mode (negative amounts crop)."""
    out = x
    for k in range(len(pad) // 2):
        axis = x.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        width = [(0, 0)] * x.ndim
        width[axis] = (max(before, 0), max(after, 0))
        out = np.pad(out, width, constant_values=value)
        n = out.shape[axis]
        out = np.take(out, range(max(-before, 0), n - max(-after, 0)), axis=axis)
    return out
