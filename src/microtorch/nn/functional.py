"""`microtorch.nn.functional` (usually imported as F): the stateless side of `nn`.

Signatures and defaults are PyTorch's. This layer validates arguments with PyTorch's
messages and then calls one op from `microtorch.ops`, where forward and backward live.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from .. import _dtype
from .. import random as _random
from .._size import Size
from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..ops import activation as _act
from ..ops import activation_extra as _act_extra
from ..ops import attention as _attention
from ..ops import conv as _conv
from ..ops import divergence as _divergence
from ..ops import dropout as _dropout
from ..ops import embedding as _embedding
from ..ops import loss as _loss
from ..ops import normalization as _norm
from ..ops import padding as _padding
from ..ops import pooling as _pool
from ..ops import smooth_loss as _smooth
from ..ops.inplace import copy_ as _copy_
from ..ops.matmul import linear as _linear

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "elu",
    "embedding",
    "gelu",
    "hardtanh",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softmin",
    "softplus",
    "tanh",
]


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-input)) (torch.sigmoid without its out= keyword)."""
    return _act.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent (torch.tanh without its out= keyword)."""
    return _act.tanh(input)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias (one fused graph node)."""
    return _linear(input, weight, bias)


# ------------------------------------------------------------------- activations
def _inplace_result(input: Tensor, out: Tensor) -> Tensor:
    """Write `out` into `input` (the inplace=True variants), recorded as a copy."""
    return _copy_(input, out)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) elementwise."""
    out = _act.relu(input)
    return _inplace_result(input, out) if inplace else out


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input where positive, negative_slope * input elsewhere."""
    if not inplace:
        return _act.leaky_relu(input, negative_slope)
    # the op saves its input for backward: give it a copy that the write below won't touch
    source = input.clone() if input.requires_grad and is_grad_enabled() else input
    return _inplace_result(input, _act.leaky_relu(source, negative_slope))


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's legacy choice when dim is omitted (with its deprecation warning)."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`."""
    if dim is None:
        dim = _softmax_dim("softmax", input.dim(), _stacklevel)
    return _act.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """log(softmax(x)) along `dim`, computed stably."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _act.log_softmax(input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """softmax(-x) along `dim`: weights that favour the smallest entries."""
    if dim is None:
        dim = _softmax_dim("softmin", input.dim(), _stacklevel)
    return _act.softmax(-input, dim, dtype)


softplus = _act_extra.softplus
gelu = _act_extra.gelu
silu = _act_extra.silu
mish = _act_extra.mish
elu = _act_extra.elu
hardtanh = _act_extra.hardtanh
embedding = _embedding.embedding


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero elements with probability p and scale the rest by 1/(1-p) (when training)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    out = _dropout.dropout(input, p)
    return _inplace_result(input, out) if inplace else out


# ------------------------------------------------------------------ normalization
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-05) -> Tensor:
    """Normalize each channel (dim 1) by batch statistics (training) or running ones."""
    if training:
        size = input.shape
        per_channel = size[0]
        for d in size[2:]:
            per_channel *= d
        if per_channel == 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {size}")
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    return _norm.batch_norm(input, running_mean, running_var, weight, bias, training,
                            momentum, eps)


def _shape_tuple(normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-05) -> Tensor:
    """Normalize each sample over its trailing `normalized_shape` dims."""
    shape = _shape_tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.dim() - k:]) != shape or input.dim() < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(shape)}")
    return _norm.layer_norm(input, shape, weight, bias, eps)


# ----------------------------------------------------------------------- losses
_REDUCTIONS = {"none": _loss.NONE, "mean": _loss.MEAN, "sum": _loss.SUM}


def _legacy_reduction(size_average, reduce, stacklevel: int = 3) -> str:
    """The reduction named by the deprecated size_average/reduce flags (with a warning)."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    name = "none" if not reduce else ("mean" if size_average else "sum")
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{name}' instead.", stacklevel=stacklevel)
    return name


def _reduction(reduction: str, size_average=None, reduce=None) -> int:
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, stacklevel=4)
    code = _REDUCTIONS.get(reduction)
    if code is None:
        if reduction == "elementwise_mean":
            warnings.warn("reduction='elementwise_mean' is deprecated, please use "
                          "reduction='mean' instead.", stacklevel=4)
            return _loss.MEAN
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return code


def _check_broadcast(*shapes) -> tuple:
    """The broadcast shape, or PyTorch's error for the first mismatching dimension."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        a, b = shapes[0], shapes[1]
        for i in range(1, min(len(a), len(b)) + 1):
            if a[-i] != b[-i] and a[-i] != 1 and b[-i] != 1:
                raise RuntimeError(
                    f"The size of tensor a ({a[-i]}) must match the size of tensor b ({b[-i]}) "
                    f"at non-singleton dimension {max(len(a), len(b)) - i}"
                ) from None
        raise


def _warn_target_size(input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3)
        _check_broadcast(input.shape, target.shape)


def _pointwise_weighted(input, target, weight, code, squared):
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    return _loss.weighted_pointwise_loss(input, target, weight, code, squared)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error (input - target)^2 (broadcasting, with a warning, like torch)."""
    _warn_target_size(input, target)
    code = _reduction(reduction, size_average, reduce)
    if weight is not None:
        return _pointwise_weighted(input, target, weight, code, True)
    return _loss.mse_loss(input, target, code)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error |input - target|."""
    _warn_target_size(input, target)
    code = _reduction(reduction, size_average, reduce)
    if weight is not None:
        return _pointwise_weighted(input, target, weight, code, False)
    return _loss.l1_loss(input, target, code)


def _check_weight_broadcast(weight: Tensor, shape: Size) -> None:
    """BCE's weight must broadcast with the target's shape (PyTorch expands it to both)."""
    wshape, shape = tuple(weight.shape), tuple(shape)
    for i in range(1, min(len(wshape), len(shape)) + 1):
        if wshape[-i] != 1 and shape[-i] != 1 and wshape[-i] != shape[-i]:
            raise RuntimeError(
                f"Attempting to broadcast a dimension of length {wshape[-i]} at {-i}! "
                f"Mismatching argument at index 1 had {weight.shape}; but expected shape "
                f"should be broadcastable to {list(shape)}"
            )


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on probabilities (after a Sigmoid): -w [t log x + (1-t) log(1-x)]."""
    code = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if weight is not None:
        _check_weight_broadcast(weight, input.shape)
    return _loss.binary_cross_entropy(input, target, weight, code)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), from logits (numerically stable)."""
    code = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    return _loss.binary_cross_entropy_with_logits(input, target, weight, pos_weight, code)


def _check_class_input(input: Tensor, name: str) -> None:
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f'"{name}" not implemented for \'{_dtype.scalar_name(input._data.dtype)}\''
        )
    if input.dim() == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")


def _check_class_target(input: Tensor, target: Tensor, weight: Tensor | None,
                        probabilities_allowed: bool = False) -> None:
    """PyTorch's checks of class-index targets for cross_entropy and nll_loss."""
    xd, td = input.dim(), target.dim()
    if xd >= 2 and td >= 1 and input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]}).")
    if xd <= 2 and td > 1:
        detail = "" if target._data.dtype.kind != "f" or not probabilities_allowed else (
            f" (input of shape {list(input.shape)}, target of shape {list(target.shape)}: "
            "probability targets must have the input's shape)")
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported" + detail)
    kind = target._data.dtype
    if not (kind == np.int64 or kind == np.uint8):
        raise RuntimeError("expected target dtype to be Long or Byte, but got "
                           f"{_dtype.scalar_name(kind)}")
    if xd > 2:
        expected = [input.shape[0]] + list(input.shape[2:])
        if list(target.shape) != expected:
            raise RuntimeError(f"Expected target size {expected}, got {list(target.shape)}")
        if xd != 4 and input.numel() == 0 and target.numel() > 0:   # PyTorch's 4-d views
            n, c = input.shape[0], input.shape[1]
            raise RuntimeError(f"size mismatch (got input: [{n}, {c}, 0, 0] , target: "
                               f"[{n}, 1, {target.numel() // n}]")
    elif xd == 2 and td == 0:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    classes = input.shape[0 if xd == 1 else 1]
    if weight is not None and (weight.dim() != 1 or weight.shape[0] != classes):
        raise RuntimeError(f"weight tensor should be defined either for all {classes} classes "
                           f"or no classes but got weight tensor of shape: {list(weight.shape)}")


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits (class dim 1) against class indices (int64) or, when the
    target has the input's shape, class probabilities."""
    code = _reduction(reduction, size_average, reduce)
    _check_class_input(input, "log_softmax_lastdim_kernel_impl")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
    if target.shape == input.shape:
        if target._data.dtype.kind != "f":
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {_dtype.scalar_name(target._data.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        classes = input.shape[0 if input.dim() == 1 else 1]
        if weight is not None and (weight.dim() != 1 or weight.shape[0] != classes):
            raise RuntimeError(
                f"weight tensor should be defined either for all {classes} classes or no "
                f"classes but got weight tensor of shape: {list(weight.shape)}")
        return _loss.cross_entropy_probs(input, target, weight, label_smoothing, code)
    _check_class_target(input, target, weight, probabilities_allowed=True)
    return _loss.cross_entropy(input, target, weight, ignore_index, label_smoothing, code)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities `input` (class dim 1) at the targets."""
    code = _reduction(reduction, size_average, reduce)
    _check_class_input(input, "nll_loss")
    _check_class_target(input, target, weight)
    return _loss.nll_loss(input, target, weight, ignore_index, code)


# ------------------------------------------------------------------------ misc
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: shape (*tensor.shape, num_classes)."""
    x = tensor._data
    if x.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if x.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(x.max()) + 1
    if x.size:
        if x.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if x.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(x.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, x[..., None], 1, axis=-1)
    return Tensor._wrap(out)


# ------------------------------------------------- smooth losses, KL divergence, attention
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, for d = input - target
    (beta = 0 is the L1 loss)."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _warn_target_size(input, target)
    code = _reduction(reduction, size_average, reduce)
    if beta == 0:                               # PyTorch calls l1_loss
        return _loss.l1_loss(input, target, code)
    return _smooth.smooth_l1_loss(input, target, code, beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); optionally weighted."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _warn_target_size(input, target)
    code = _reduction(reduction)
    if weight is None:
        return _smooth.huber_loss(input, target, code, delta)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = _smooth.huber_loss(input, target, _loss.NONE, delta) * weight
    if code == _loss.NONE:
        return loss
    return loss.sum() if code == _loss.SUM else loss.mean()


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence of `target` from the log-probabilities `input`; 'batchmean' gives the
    mathematical definition (sum over all elements / batch size)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _divergence.kl_div(input, target, reduction, bool(log_target))


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value over the last two dims; a bool mask
    (or `is_causal`) says which keys each query may attend to."""
    return _attention.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p,
                                                   is_causal, scale, enable_gqa)


# ------------------------------------------------------------ convolution, pooling
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-d cross-correlation of (N, C, L) (or unbatched (C, L)) input with weight
    (out, C/groups, k); padding is an int, a 1-tuple, 'valid' or 'same'."""
    return _conv.conv("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-d cross-correlation of (N, C, H, W) (or unbatched (C, H, W)) input with weight
    (out, C/groups, kH, kW); padding is an int, a pair, 'valid' or 'same'."""
    return _conv.conv("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Maximum over sliding windows of the last axis (and the argmax, if asked)."""
    return _pool.max_pool("max_pool1d", input, kernel_size, stride, padding, dilation,
                          ceil_mode, return_indices, 1)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Maximum over sliding windows of the last two axes (and the argmax, if asked)."""
    return _pool.max_pool("max_pool2d", input, kernel_size, stride, padding, dilation,
                          ceil_mode, return_indices, 2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over sliding windows of the last axis."""
    return _pool.avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                          count_include_pad, None, 1)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows of the last two axes."""
    return _pool.avg_pool("avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override, 2)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mean over the windows that split the last two axes into `output_size` parts."""
    return _pool.adaptive_avg_pool2d(input, output_size)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 axes by (before, after) amounts, last axis first; only
    mode='constant' is supported."""
    return _padding.pad(input, pad, mode, value)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels (dim 1) with probability p, scale the rest by 1/(1-p)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    ndim = input.dim()
    if ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that dropout2d "
                      "exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                      "or 4D inputs).", stacklevel=2)
    if ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape (C, H, "
                      "W). To maintain the 1D channel-wise dropout behavior, please switch to "
                      "using dropout1d instead.", stacklevel=2)
    if ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if not training or p == 0.0:
        return input
    x = input._data
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    shape = x.shape[:2] + (1,) * (ndim - 2)
    mask = (_random.rng(None).random(shape, dtype=np.float32) >= p).astype(dt)
    mask *= dt.type(0.0 if p >= 1 else 1.0 / (1.0 - p))
    out = input * Tensor._wrap(mask)
    return _inplace_result(input, out) if inplace else out
