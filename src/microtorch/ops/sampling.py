"""Random sampling: multinomial, bernoulli, normal, poisson and the in-place fills
bernoulli_, exponential_, random_.

Every function takes `generator=` (default: the global stream). As in PyTorch, a sample
does not depend differentiably on its parameters: when they require grad the result
records a node (PyTorch's name) whose gradient is zero.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from .. import random as _random
from .._broadcast import broadcast_error
from .._device import check_device
from .._factories import _finish, _np_dtype, _shape
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import require_tensor
from .inplace import check_inplace

_MAX_CATEGORIES = 2 ** 24


def _zero_grads(ctx, g) -> tuple:
    """Zero gradients for the tensor arguments of a sampling op (None for the others)."""
    return tuple(np.zeros(shape, dtype=g.dtype) if need else None
                 for need, shape in zip(ctx.needs_input_grad, ctx.shapes))


class _Sampler(ArrayFunction):
    """A sample whose parameters get a zero gradient."""

    @staticmethod
    def forward(ctx, *args, draw):
        ctx.shapes = [np.shape(a) for a in args]
        return draw(*args)

    backward = staticmethod(_zero_grads)


class BernoulliSample(_Sampler):
    node_name = "BernoulliBackward0"


class NormalMean(_Sampler):
    node_name = "NormalBackward1"


class NormalStd(_Sampler):
    node_name = "NormalBackward2"


class NormalBoth(_Sampler):
    node_name = "NormalBackward3"


class PoissonSample(_Sampler):
    node_name = "PoissonBackward0"


def _float_input(x: Tensor, kernel: str) -> None:
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_dtype.scalar_name(x._data.dtype)}'")


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Indices drawn from the categories of each row of `input` (weights, not necessarily
    normalised); without replacement each index appears at most once per row."""
    require_tensor(input, "multinomial")
    if not isinstance(num_samples, (int, np.integer)) or isinstance(num_samples, bool):
        raise TypeError("multinomial(): argument 'num_samples' (position 2) must be int, not "
                        f"{type(num_samples).__name__}")
    rng = _random.rng(generator)
    p = input._data
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if p.dtype.kind != "f":
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{_dtype.scalar_name(p.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n = p.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if n > _MAX_CATEGORIES:
        raise RuntimeError("number of categories cannot exceed 2^24")
    rows = p.reshape(-1, n).astype(np.float64)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    if rows.size:
        if not np.all(np.isfinite(rows)) or np.any(rows < 0):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        totals = rows.sum(axis=1)
        if np.any(totals <= 0):
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            for r, row in enumerate(rows):
                cdf = np.cumsum(row) / totals[r]
                picks = np.searchsorted(cdf, rng.random(num_samples), side="right")
                out[r] = np.minimum(picks, n - 1)
        else:
            # exponential race: the k smallest E_i / p_i are a draw without replacement
            with np.errstate(divide="ignore"):
                keys = rng.standard_exponential(rows.shape) / rows
            out[...] = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor._wrap(out.reshape(p.shape[:-1] + (num_samples,)))


def _check_probability(p: np.ndarray) -> None:
    if p.size and (np.any(p < 0) or np.any(p > 1) or np.any(np.isnan(p))):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")


def bernoulli(input: Tensor, p: float | None = None, *, generator=None) -> Tensor:
    """1 with probability `input` (or `p`, for every element), else 0; input's dtype."""
    require_tensor(input, "bernoulli")
    rng = _random.rng(generator)
    x = input._data
    if p is not None:
        _float_input(input, "bernoulli_scalar_cpu_")
        _check_scalar_p(p, "bernoulli")
        return Tensor._wrap((rng.random(x.shape) < p).astype(x.dtype))
    _float_input(input, "bernoulli_tensor_cpu_p_")
    _check_probability(x)

    def draw(probs):
        return (rng.random(probs.shape) < probs).astype(probs.dtype)

    return BernoulliSample.apply(input, draw=draw)


def _check_scalar_p(p: float, name: str) -> None:
    if not 0 <= p <= 1:
        raise RuntimeError(f"{name}_ expects p to be in [0, 1], but got p={p}")


def _check_std(std) -> None:
    if isinstance(std, np.ndarray):
        if std.size and np.any(std < 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Samples from N(mean, std**2): tensor `mean` and/or `std` (broadcast together), or
    two numbers and a `size`."""
    rng = _random.rng(generator)
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_t and not std_t:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got "
                            f"({type(mean).__name__}, {type(std).__name__}), but expected one "
                            "of: (Tensor mean, Tensor std), (Tensor mean, float std), "
                            "(float mean, Tensor std), (float mean, float std, tuple of ints "
                            "size)")
        check_device(device)
        _check_std(std)
        shape = _shape(size if isinstance(size, (tuple, list)) else (size,))
        data = rng.normal(mean, std, shape).astype(_np_dtype(dtype))
        return _finish(data, requires_grad)
    for t in (mean, std):
        if isinstance(t, Tensor):
            _float_input(t, "normal_kernel_cpu")
    if std_t:
        _check_std(std._data)
    else:
        _check_std(std)

    def draw(m, s):
        dt = (m if mean_t else s).dtype
        if mean_t and std_t:
            dt = _dtype.promote(m, s)
            try:
                shape = np.broadcast_shapes(m.shape, s.shape)
            except ValueError:
                raise broadcast_error(m.shape, s.shape) from None
        else:
            shape = (m if mean_t else s).shape
        return np.asarray(rng.normal(m, s, shape)).astype(dt, copy=False)

    fn = NormalBoth if mean_t and std_t else (NormalMean if mean_t else NormalStd)
    return fn.apply(mean, std, draw=draw)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Samples from Poisson(rate) for every rate in `input` (input's dtype)."""
    require_tensor(input, "poisson")
    rng = _random.rng(generator)
    _float_input(input, "poisson_cpu")
    x = input._data
    if x.size and (np.any(x < 0) or np.any(np.isnan(x))):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")

    def draw(rates):
        return rng.poisson(rates).astype(rates.dtype)

    return PoissonSample.apply(input, draw=draw)


# ---- in-place fills ---------------------------------------------------------------------

class _Fill(ArrayFunction):
    """x overwritten by `draw(x, value)`; x's old values and `value` get a zero gradient."""

    @staticmethod
    def forward(ctx, x, value=None, *, draw):
        ctx.shapes = [x.shape, np.shape(value)]
        x[...] = draw(x, value)
        ctx.mark_dirty(x)
        return x

    backward = staticmethod(_zero_grads)


class BernoulliScalarFill(_Fill):
    node_name = "BernoulliBackward2"


class BernoulliTensorFill(_Fill):
    node_name = "BernoulliBackward1"


class ExponentialFill(_Fill):
    node_name = "ExponentialBackward0"


class RandomFromTo(_Fill):
    node_name = "RandomBackward0"


class RandomTo(_Fill):
    node_name = "RandomBackward1"


class RandomFull(_Fill):
    node_name = "RandomBackward2"


def bernoulli_(t: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 (probability `p`: a number or a tensor broadcast to t) or 0."""
    rng = _random.rng(generator)
    check_inplace(t)
    if isinstance(p, Tensor):
        _check_probability(p._data)

        def draw(x, probs):
            return rng.random(x.shape) < np.broadcast_to(probs, x.shape)

        return BernoulliTensorFill.apply(t, p, draw=draw)
    _check_scalar_p(p, "bernoulli")
    return BernoulliScalarFill.apply(t, draw=lambda x, _: rng.random(x.shape) < p)


def exponential_(t: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples from the exponential distribution of rate `lambd`."""
    rng = _random.rng(generator)
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    _float_input(t, "exponential_cpu")
    check_inplace(t)
    return ExponentialFill.apply(t, draw=lambda x, _: rng.standard_exponential(x.shape) / lambd)


def _random_bound(dt: np.dtype) -> int:
    """random_()'s exclusive upper bound for a dtype: every integer it represents exactly."""
    if dt.kind == "f":
        return 2 ** (np.finfo(dt).nmant + 1) + 1
    if dt.kind == "b":
        return 2
    return int(np.iinfo(dt).max) + 1


def random_(t: Tensor, from_: int | None = None, to: int | None = None, *,
            generator=None, **kwargs) -> Tensor:
    """Fill with integers drawn uniformly from [from, to) (`random_(to)`: [0, to);
    `random_()`: [0, largest integer of t's dtype])."""
    rng = _random.rng(generator)
    if "from" in kwargs:
        from_ = kwargs.pop("from")
    if kwargs:
        raise TypeError(f"random_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    check_inplace(t)
    if from_ is None and to is None:
        fn, low, high = RandomFull, 0, _random_bound(t._data.dtype)
    elif to is None or from_ is None:
        fn, low, high = RandomTo, 0, (from_ if to is None else to)
    else:
        fn, low, high = RandomFromTo, from_, to
    for v in (low, high):
        if not isinstance(v, numbers.Integral):
            raise TypeError(f"random_(): argument 'to' must be int, not {type(v).__name__}")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    return fn.apply(t, draw=lambda x, _: rng.integers(low, high, x.shape, dtype=np.int64,
                                                      endpoint=False))
