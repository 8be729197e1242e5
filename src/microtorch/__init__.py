"""microtorch: a mini-PyTorch. `import microtorch as torch` and run PyTorch-style code.

Layers, bottom up: `_kernels` (Cython math) -> `ops` (each op's forward and backward) ->
`autograd` (graph nodes and the backward engine) -> `Tensor`; `nn`, `optim` and
`utils.data` are built on top, mirroring PyTorch's names and defaults.
"""
from __future__ import annotations

import math as _math

from . import (
    _dtype,
    amp,
    autograd,
    backends,
    cuda,
    distributed,
    linalg,
    nn,
    optim,
    return_types,
    testing,
    utils,
    viz,
)
from ._compile import compile
from ._device import device, get_default_device, set_default_device
from ._dtype import (
    bool,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from ._factories import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from ._formatting import set_printoptions
from ._kernels import get_num_threads, set_num_threads
from ._size import Size
from ._tensor import Tensor
from .amp import autocast, is_autocast_enabled
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .ops.activation import log_softmax, logsumexp, relu, sigmoid, softmax, tanh
from .ops.arithmetic import add, div, floor_divide, maximum, minimum, mul, neg, pow, remainder, sub
from .ops.comparison import (
    allclose,
    bitwise_not,
    eq,
    equal,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    logical_not,
    lt,
    ne,
)
from .ops.histogram import bincount, histc, histogram
from .ops.join import cat, concat, concatenate, nonzero, stack, where
from .ops.linalg import norm
from .ops.masking import masked_fill, tril, triu
from .ops.matmul import bmm, dot, matmul, mm
from .ops.pointwise import (
    acos,
    acosh,
    addcdiv,
    addcmul,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    ceil,
    clamp_max,
    clamp_max_,
    clamp_min,
    clamp_min_,
    cos,
    cosh,
    erf,
    erfc,
    exp2,
    expm1,
    fix,
    floor,
    fmod,
    frac,
    hypot,
    lerp,
    log2,
    log10,
    logaddexp,
    reciprocal,
    round,
    rsqrt,
    sin,
    sinh,
    tan,
    trunc,
)
from .ops.reduction import all, amax, amin, any, argmax, argmin, max, mean, min, std, sum, var
from .ops.sampling import bernoulli, multinomial, normal, poisson
from .ops.scan import cumprod, cumsum, prod
from .ops.shape import (
    broadcast_to,
    clone,
    flatten,
    permute,
    reshape,
    squeeze,
    swapaxes,
    t,
    transpose,
    unflatten,
    unsqueeze,
)
from .ops.sort import argsort, flip, fliplr, flipud, roll, sort, topk
from .ops.split import chunk, split, unbind
from .ops.unary import abs, clamp, clip, exp, log, log1p, sign, sqrt, square
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .serialization import load, save

multiply, divide, true_divide, subtract, negative, absolute = mul, div, div, sub, neg, abs
arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh
pi = _math.pi
e = _math.e
inf = _math.inf
nan = _math.nan
__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    """True if `obj` is a microtorch Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def numel(input: Tensor) -> int:
    return input.numel()


_deterministic = False


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Accepted for compatibility: microtorch's ops give the same result on every run with
    the same thread count, so there is nothing to switch; the flag is only remembered."""
    global _deterministic
    _deterministic = True if mode else False


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic
