"""Pooling, padding, BatchNorm2d and Dropout2d: kernels against numpy twins, gradcheck,
parity with PyTorch (values, gradients, argmax indices), errors, and the layers."""
from __future__ import annotations

import numpy as np
import pytest
from conv_reference import adaptive_avg_pool2d, avg_pool2d, max_pool2d, pad, pool1d

import microtorch as mt
import microtorch.nn.functional as F
from microtorch import nn
from microtorch.testing import gradcheck

RNG = np.random.default_rng(0)
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}

MAX_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
    dict(kernel_size=2, stride=1, dilation=2),
    dict(kernel_size=3, stride=2, ceil_mode=True),
]
AVG_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=1, padding=(1, 0), divisor_override=4),
]


def _distinct(shape, dtype=np.float64):
    """Values without ties (the max-pool gradient is then unambiguous)."""
    return (RNG.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", MAX_CASES)
def test_max_pool_matches_numpy_twin(dtype, kwargs):
    for shape in ((2, 3, 7, 9), (3, 5, 6)):           # batched and unbatched
        x = _distinct(shape, dtype)
        out, idx = F.max_pool2d(mt.tensor(x), return_indices=True, **kwargs)
        ref_out, ref_idx = max_pool2d(x, return_indices=True, **kwargs)
        np.testing.assert_array_equal(out.numpy(), ref_out.astype(dtype))
        np.testing.assert_array_equal(idx.numpy(), ref_idx)
        assert idx.dtype == mt.int64 and not idx.requires_grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", AVG_CASES)
def test_avg_pool_matches_numpy_twin(dtype, kwargs):
    x = RNG.standard_normal((2, 3, 7, 8)).astype(dtype)
    np.testing.assert_allclose(F.avg_pool2d(mt.tensor(x), **kwargs).numpy(),
                               avg_pool2d(x.astype(np.float64), **kwargs), **TOL[dtype])


@pytest.mark.parametrize("size", [(3, 3), (4, 5), (7, 8), (1, 2), (None, 3), 5, (2, None)])
def test_adaptive_avg_pool_matches_numpy_twin(size):
    x = RNG.standard_normal((2, 3, 7, 8))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(mt.tensor(x), size).numpy(),
                               adaptive_avg_pool2d(x, size), rtol=1e-12, atol=1e-12)


def test_pool1d_and_pad_match_numpy_twins():
    x = _distinct((2, 3, 11))
    out, idx = F.max_pool1d(mt.tensor(x), 3, 2, 1, return_indices=True, ceil_mode=True)
    ref_out, ref_idx = pool1d(max_pool2d)(x, 3, 2, 1, 1, True, True)
    np.testing.assert_array_equal(out.numpy(), ref_out)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    np.testing.assert_allclose(F.avg_pool1d(mt.tensor(x[0]), 4, 3, 2, False, False).numpy(),
                               pool1d(avg_pool2d)(x[0], 4, 3, 2, False, False), rtol=1e-12)
    for amounts in ((1, 2), (1, 2, -1, 3), (0, 0, 2, 0, 1, 1)):
        np.testing.assert_array_equal(F.pad(mt.tensor(x), amounts, value=1.5).numpy(),
                                      pad(x, amounts, 1.5))


def test_max_pool_nan_and_all_minus_inf_like_torch():
    torch = pytest.importorskip("torch")
    x = np.full((1, 1, 4, 4), -np.inf)
    x[0, 0, 0, 1] = np.nan
    x[0, 0, 3, 2] = np.nan
    x[0, 0, 3, 3] = 5.0
    for lib in (mt, torch):
        out, idx = lib.nn.functional.max_pool2d(lib.tensor(x), 2, return_indices=True)
        if lib is mt:
            ours = out.numpy(), idx.numpy()
        else:
            np.testing.assert_array_equal(ours[0], out.numpy())
            np.testing.assert_array_equal(ours[1], idx.numpy())


# ---- gradients ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", MAX_CASES)
def test_gradcheck_max_pool(kwargs):
    x = mt.tensor(_distinct((2, 2, 6, 7)), requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, **kwargs), (x,))


@pytest.mark.parametrize("kwargs", AVG_CASES)
def test_gradcheck_avg_pool(kwargs):
    x = mt.tensor(RNG.standard_normal((2, 2, 6, 7)), requires_grad=True)
    assert gradcheck(lambda x: F.avg_pool2d(x, **kwargs), (x,))


def test_gradcheck_1d_adaptive_pad_noncontiguous():
    base = np.full((4, 6, 14), np.nan)
    base[::2, ::2, ::2] = _distinct((2, 3, 7))
    x = mt.from_numpy(base[::2, ::2, ::2]).requires_grad_()
    assert not x.is_contiguous()
    assert gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1), (x,))
    assert gradcheck(lambda x: F.avg_pool1d(x, 2, 1, 1, True, False), (x,))
    x4 = mt.tensor(RNG.standard_normal((2, 2, 5, 7)), requires_grad=True)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (x4,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, 1), (x4,))
    assert gradcheck(lambda x: F.pad(x, (1, -2, 2, 0), value=3.0), (x4,))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parity_with_torch(dtype):
    torch = pytest.importorskip("torch")
    np_dtype = np.dtype(dtype)
    x = _distinct((2, 3, 9, 8), np_dtype)
    calls = [lambda F, t, kw=kw: F.max_pool2d(t, **kw) for kw in MAX_CASES]
    calls += [lambda F, t, kw=kw: F.avg_pool2d(t, **kw) for kw in AVG_CASES]
    calls += [lambda F, t: F.adaptive_avg_pool2d(t, (4, 3)),
              lambda F, t: F.adaptive_avg_pool2d(t[0], (None, 5)),
              lambda F, t: F.max_pool1d(t[:, :, 0], 3, 2, 1, ceil_mode=True),
              lambda F, t: F.avg_pool1d(t[:, 0], 3, 2, 1, count_include_pad=False),
              lambda F, t: F.pad(t, (1, 2, -1, 3), value=0.5)]
    for call in calls:
        results = []
        for lib in (mt, torch):
            t = lib.tensor(x, requires_grad=True)
            y = call(lib.nn.functional, t)
            y.backward(lib.tensor(np.sin(np.arange(y.numel())).reshape(tuple(y.shape))
                                  .astype(np_dtype)))
            results.append((y.detach().numpy(), t.grad.numpy(), y.grad_fn.name()))
        (my, mg, mname), (ty, tg, tname) = results
        assert my.dtype == ty.dtype
        np.testing.assert_allclose(my, ty, **TOL[np_dtype.type])
        np.testing.assert_allclose(mg, tg, **TOL[np_dtype.type])
        assert mname == tname


# ---- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("call,message", [
    (lambda: F.max_pool2d(mt.randn(2, 3, 8, 8), 3, padding=2),
     r"pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and "
     r"dilation=1"),
    (lambda: F.max_pool2d(mt.randn(2, 3, 1, 1), 2),
     r"Given input size: \(3x1x1\)\. Calculated output size: \(3x0x0\)\. Output size is too "
     r"small"),
    (lambda: F.max_pool2d(mt.randn(2, 3), 2), r"non-empty 3D or 4D \(batch mode\) tensor"),
    (lambda: F.max_pool2d(mt.randn(2, 3, 8, 8), (3, 3, 3)),
     r"max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda: F.max_pool2d(mt.randn(2, 3, 8, 8), 2, dilation=0),
     r"dilation should be greater than zero"),
    (lambda: F.avg_pool2d(mt.randn(2, 3, 8, 8), 2, divisor_override=0),
     r"divisor must be not zero"),
    (lambda: F.max_pool1d(mt.randn(2, 3, 4, 5), 2), r"max_pool1d: Expected 2D or 3D"),
    (lambda: F.adaptive_avg_pool2d(mt.randn(2, 3), 2),
     r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[2, 3\]"),
    (lambda: F.adaptive_avg_pool2d(mt.randn(2, 3, 4, 4), (2, 3, 4)),
     r"adaptive_avg_pool2d: output_size must be 2"),
    (lambda: F.pad(mt.randn(2, 3), (1, 2, 3)), r"Padding length must be divisible by 2"),
    (lambda: F.pad(mt.randn(2, 3), (-2, -2)), r"narrow\(\): length must be non-negative"),
])
def test_errors_like_torch(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_pad_other_modes_not_implemented():
    with pytest.raises(NotImplementedError, match="mode='reflect'"):
        F.pad(mt.randn(1, 2, 4), (1, 1), mode="reflect")


# ---- layers ------------------------------------------------------------------------------

def test_pooling_layers():
    x = mt.tensor(_distinct((2, 3, 8, 8)))
    pool = nn.MaxPool2d(2, return_indices=True)
    out, idx = pool(x)
    np.testing.assert_array_equal(idx.numpy(), max_pool2d(x.numpy(), 2, return_indices=True)[1])
    assert repr(pool) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool1d(2)) == "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(nn.AvgPool2d(3, 2)) == "AvgPool2d(kernel_size=3, stride=2, padding=0)"
    assert repr(nn.AdaptiveAvgPool2d((2, None))) == "AdaptiveAvgPool2d(output_size=(2, None))"
    assert nn.MaxPool1d(3)(x[:, :, 0]).shape == (2, 3, 2)
    assert nn.AvgPool2d(3, 1, 1, count_include_pad=False)(x).shape == (2, 3, 8, 8)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)


def test_unflatten_composes_with_conv():
    model = nn.Sequential(nn.Linear(4, 2 * 6 * 6), nn.Unflatten(1, (2, 6, 6)),
                          nn.Conv2d(2, 3, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 1))
    model(mt.randn(5, 4)).sum().backward()
    assert model[2].weight.grad.shape == (3, 2, 3, 3)


def test_batchnorm2d_running_stats_then_eval_like_torch():
    torch = pytest.importorskip("torch")
    batches = [RNG.standard_normal((4, 3, 5, 5)).astype(np.float32) * (i + 1) + i
               for i in range(4)]
    results = []
    for lib in (mt, torch):
        bn = lib.nn.BatchNorm2d(3, momentum=0.3)
        bn.weight.data = lib.tensor([1.0, 2.0, -0.5])
        for b in batches:
            y = bn(lib.tensor(b, requires_grad=True))
            y.pow(3).sum().backward()
        bn.eval()
        out = bn(lib.tensor(batches[0]))
        results.append({"eval": out.detach().numpy(), "weight.grad": bn.weight.grad.numpy(),
                        **{k: v.numpy() for k, v in bn.state_dict().items()}})
    for key in results[1]:
        np.testing.assert_allclose(results[0][key], results[1][key], rtol=1e-4, atol=1e-4,
                                   err_msg=key)
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(mt.randn(2, 3, 4))


def test_batchnorm2d_state_dict_round_trip_with_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.BatchNorm2d(4)
    theirs(torch.randn(3, 4, 2, 2) * 3 + 1)
    ours = nn.BatchNorm2d(4)
    ours.load_state_dict({k: mt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    back = torch.nn.BatchNorm2d(4)
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k].numpy(), v.numpy())


def test_dropout2d_zeroes_whole_channels():
    mt.manual_seed(0)
    x = mt.ones(64, 8, 3, 3, requires_grad=True)
    layer = nn.Dropout2d(0.25)
    y = layer(x)
    values = y.detach().numpy()
    per_channel = values.reshape(64, 8, 9)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))       # whole channels
    assert set(np.unique(values)) == {0.0, np.float32(1 / 0.75)}
    assert 0.15 < (per_channel[:, :, 0] == 0).mean() < 0.35
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)
    assert y.grad_fn.name() == "MulBackward0"
    layer.eval()
    assert layer(x) is x
    with pytest.warns(UserWarning, match="channel-wise 1D dropout"):
        F.dropout2d(mt.ones(2, 3, 4))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)
