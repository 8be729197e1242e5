"""Embedding lookup: rows of a weight matrix picked by integer indices.

Forward is `weight[indices]`. Backward scatters the output's gradient rows back to the rows
they came from; an index that appears several times receives the sum of its rows. The sum
is a segmented reduction: a stable sort makes the rows of each index adjacent and
`np.add.reduceat` adds each run in one C loop (no Python loop over elements).
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import ArrayFunction


def scatter_rows(index: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """An (n, d) array whose row i is the sum of rows[k] over all k with index[k] == i."""
    out = np.zeros((n,) + rows.shape[1:], rows.dtype)
    if index.size == 0:
        return out
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_index[1:] != sorted_index[:-1])))
    out[sorted_index[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


class Embedding(ArrayFunction):
    """weight[indices]; the indices are an option (PyTorch's node has one edge: weight)."""

    node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, indices=None, padding_idx=None, scale_grad_by_freq=False):
        ctx.indices, ctx.padding_idx = indices, padding_idx
        ctx.scale_grad_by_freq = scale_grad_by_freq
        ctx.num_weights = weight.shape[0]
        return np.take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, g):
        index = ctx.indices.reshape(-1)
        rows = g.reshape(index.size, g.shape[-1])
        if ctx.scale_grad_by_freq:
            counts = np.bincount(index, minlength=ctx.num_weights)
            rows = rows / counts[index][:, None].astype(g.dtype)
        grad = scatter_rows(index, rows, ctx.num_weights)
        if ctx.padding_idx is not None and ctx.padding_idx < ctx.num_weights:
            grad[ctx.padding_idx] = 0
        return (grad,)


_TENSOR_TYPE = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                "uint8": "ByteTensor", "int8": "CharTensor", "int16": "ShortTensor"}


def _check_indices(input: Tensor, weight: np.ndarray) -> np.ndarray:
    """The index array, after PyTorch's dtype and range checks (its messages differ when
    the weight has no rows or no columns)."""
    idx = input._data
    if idx.dtype not in (np.int64, np.int32):
        got = "CPUBoolType" if idx.dtype == np.bool_ else f"torch.{_TENSOR_TYPE[idx.dtype.name]}"
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {got} instead (while "
                           "checking arguments for embedding)")
    num_weights = weight.shape[0]
    if idx.size and num_weights == 0:
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    if idx.size and (idx.min() < 0 or idx.max() >= num_weights):
        if weight.shape[1] == 0:
            flat = idx.reshape(-1)
            bad = flat[(flat < 0) | (flat >= num_weights)][0]
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} "
                               f"axis_dim={num_weights}")
        raise IndexError("index out of range in self")
    return idx


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of `weight` (num_embeddings, embedding_dim) picked by the integer `input`; the
    result has shape input.shape + (embedding_dim,). Row `padding_idx` gets no gradient;
    `scale_grad_by_freq` divides each row's gradient by its index's count in the batch."""
    if max_norm is not None:
        raise NotImplementedError(
            "embedding(max_norm=...) is not supported by microtorch: PyTorch renormalises the "
            "looked-up rows of the weight in place. Call it without max_norm (or renormalise "
            "the weight yourself under torch.no_grad()).")
    if sparse:
        raise NotImplementedError("embedding(sparse=True) is not supported by microtorch: it "
                                  "has no sparse gradients. Use sparse=False.")
    num = weight._data.shape[0] if weight._data.ndim else 0
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num or padding_idx < 0 and padding_idx < -num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            padding_idx += num
    if weight._data.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    idx = _check_indices(input, weight._data)
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx,
                           scale_grad_by_freq=scale_grad_by_freq)
