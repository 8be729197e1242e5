"""Convolution: the Cython kernels against numpy twins, gradients against finite
differences, values and gradients against PyTorch, and the Conv1d/Conv2d modules
(init, state_dicts both ways, errors, a LeNet training step)."""
from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import pytest
from conv_reference import conv_nd, conv_nd_backward

import microtorch as mt
import microtorch.nn.functional as F
from microtorch import _kernels as K
from microtorch import nn
from microtorch.testing import gradcheck

RNG = np.random.default_rng(0)
TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def _config(rng, batch=None):
    """A random convolution: (x shape, weight shape, kwargs of F.conv2d)."""
    groups = int(rng.choice([1, 1, 2, 3]))
    cg, og = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    dh, dw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    ph, pw = int(rng.integers(0, 3)), int(rng.integers(0, 3))
    h = int(rng.integers(max(1, (kh - 1) * dh + 1 - 2 * ph), 9))
    w = int(rng.integers(max(1, (kw - 1) * dw + 1 - 2 * pw), 9))
    n = int(rng.integers(1, 5)) if batch is None else batch
    kwargs = dict(stride=(int(rng.integers(1, 4)), int(rng.integers(1, 3))), padding=(ph, pw),
                  dilation=(dh, dw), groups=groups)
    return (n, cg * groups, h, w), (og * groups, cg, kh, kw), kwargs


def _kernel(x, w, b, gy, stride, padding, dilation, groups):
    """Forward and the three gradients straight from the Cython kernels."""
    y = np.empty(gy.shape, dtype=x.dtype)
    K.conv2d_forward(x, w, b, y, stride, padding, dilation, groups)
    gx, gw, gb = np.empty_like(x), np.empty_like(w), np.empty_like(b)
    K.conv2d_backward(gy, x, w, gx, gw, gb, stride, padding, dilation, groups)
    return y, gx, gw, gb


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_match_numpy_twin(dtype):
    rng = np.random.default_rng(1)
    for _ in range(25):
        xs, ws, kw = _config(rng)
        x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype)
        expected = conv_nd(x, w, b, **kw)
        gy = rng.standard_normal(expected.shape).astype(dtype)
        got = _kernel(x, w, b, gy, **kw)
        for g, e in zip(got, (expected, *conv_nd_backward(gy, x, w, **kw))):
            np.testing.assert_allclose(g, e, **TOL[dtype], err_msg=str((xs, ws, kw)))


@pytest.mark.parametrize("shape,weight", [
    ((40, 6, 12, 12), (16, 6, 5, 5)),     # LeNet's second layer: samples batched per gemm
    ((3, 8, 5, 7), (4, 8, 1, 1)),         # 1x1: the input is its own im2col matrix
    ((2, 3, 1, 9), (5, 3, 1, 4)),         # conv1d's height-1 case
])
def test_kernel_paths(shape, weight):
    x, w = RNG.standard_normal(shape), RNG.standard_normal(weight)
    b = RNG.standard_normal(weight[0])
    kw = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)
    expected = conv_nd(x, w, b, **kw)
    gy = RNG.standard_normal(expected.shape)
    for g, e in zip(_kernel(x, w, b, gy, **kw), (expected, *conv_nd_backward(gy, x, w, **kw))):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10)


def test_kernel_accumulates_with_beta():
    x, w = RNG.standard_normal((3, 4, 6, 6)), RNG.standard_normal((5, 4, 3, 3))
    gy = RNG.standard_normal((3, 5, 4, 4))
    gw, gb = np.ones_like(w), np.ones(5)
    K.conv2d_backward(gy, x, w, None, gw, gb, (1, 1), (0, 0), (1, 1), 1, 1.0, 1.0)
    _, ew, eb = conv_nd_backward(gy, x, w)
    np.testing.assert_allclose(gw, ew + 1, rtol=1e-12)
    np.testing.assert_allclose(gb, eb + 1, rtol=1e-12)


def test_kernel_openmp_path_matches_serial():
    """A batch big enough for the OpenMP path gives the serial result, and SciPy's
    OpenBLAS gets its thread count back afterwards."""
    from microtorch._kernels import _conv
    x, w = RNG.standard_normal((16, 16, 20, 20)), RNG.standard_normal((32, 8, 3, 3))
    b = RNG.standard_normal(32)
    kw = dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=2)
    gy = RNG.standard_normal((16, 32, 20, 20))
    control = _conv._find_blas_threads()
    before = control[0]() if control else None
    previous = K.get_num_threads()
    try:
        K.set_num_threads(1)
        serial = _kernel(x, w, b, gy, **kw)
        K.set_num_threads(2)
        parallel = _kernel(x, w, b, gy, **kw)
    finally:
        K.set_num_threads(previous)
    for s, p in zip(serial, parallel):
        np.testing.assert_allclose(p, s, rtol=1e-12, atol=1e-12)
    if control:
        assert control[0]() == before


def test_kernel_from_two_python_threads():
    """Concurrent calls do not share the im2col workspace."""
    x, w = RNG.standard_normal((8, 3, 16, 16)), RNG.standard_normal((6, 3, 5, 5))
    expected = conv_nd(x, w)
    errors = []

    def work():
        for _ in range(20):
            y = np.empty(expected.shape)
            K.conv2d_forward(x, w, None, y, (1, 1), (0, 0), (1, 1), 1)
            errors.append(float(np.abs(y - expected).max()))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 40 and max(errors) < 1e-10


def test_kernel_argument_checks():
    x, w = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3))
    with pytest.raises(TypeError, match="one dtype"):
        K.conv2d_forward(x, w.astype(np.float32), None, np.zeros((1, 3, 3, 3)), (1, 1), (0, 0),
                         (1, 1), 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        K.conv2d_forward(x.transpose(0, 1, 3, 2), w, None, np.zeros((1, 3, 3, 3)), (1, 1),
                         (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="groups=2"):
        K.conv2d_forward(x, w, None, np.zeros((1, 3, 3, 3)), (1, 1), (0, 0), (1, 1), 2)


# ---- gradcheck (float64, finite differences) ---------------------------------------------

def _leaf(values: np.ndarray, contiguous: bool) -> mt.Tensor:
    """A float64 leaf; non-contiguous ones are every other element of a NaN-filled buffer."""
    if contiguous:
        return mt.tensor(values, requires_grad=True)
    buffer = np.full(tuple(2 * n for n in values.shape), np.nan)
    view = buffer[tuple(slice(None, None, 2) for _ in values.shape)]
    view[...] = values
    t = mt.from_numpy(view).requires_grad_()
    assert not t.is_contiguous()
    return t


def test_gradcheck_random_configs():
    rng = np.random.default_rng(2)
    for i in range(12):
        xs, ws, kw = _config(rng, batch=1 if i % 3 == 0 else 2)
        x = _leaf(rng.standard_normal(xs), contiguous=i % 2 == 0)
        w = _leaf(rng.standard_normal(ws), contiguous=i % 4 != 1)
        b = mt.tensor(rng.standard_normal(ws[0]), requires_grad=True)
        assert gradcheck(lambda x, w, b, kw=kw: F.conv2d(x, w, b, **kw), (x, w, b)), kw


@pytest.mark.parametrize("kwargs", [dict(stride=2, padding=1), dict(padding="same", dilation=2),
                                    dict(padding="same", groups=2), dict(padding="valid")])
def test_gradcheck_conv1d(kwargs):
    x = mt.tensor(RNG.standard_normal((2, 4, 7)), requires_grad=True)
    w = mt.tensor(RNG.standard_normal((6, 4 // kwargs.get("groups", 1), 4)), requires_grad=True)
    assert gradcheck(lambda x, w: F.conv1d(x, w, **kwargs), (x, w))


def test_gradcheck_unbatched_and_even_same_padding():
    x = mt.tensor(RNG.standard_normal((3, 5, 6)), requires_grad=True)
    w = mt.tensor(RNG.standard_normal((2, 3, 2, 4)), requires_grad=True)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding="same"), (x, w))


# ---- parity with PyTorch -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("dims", [1, 2])
def test_parity_with_torch(dtype, dims):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    np_dtype = np.dtype(dtype)
    for _ in range(8):
        xs, ws, kw = _config(rng)
        if dims == 1:
            xs, ws = xs[:2] + xs[3:], ws[:2] + ws[3:]
            kw = {k: (v[1] if isinstance(v, tuple) else v) for k, v in kw.items()}
        x = rng.standard_normal(xs).astype(np_dtype)
        w = rng.standard_normal(ws).astype(np_dtype)
        b = rng.standard_normal(ws[0]).astype(np_dtype)
        outs = []
        for lib in (mt, torch):
            fn = getattr(lib.nn.functional, f"conv{dims}d")
            leaves = [lib.tensor(a, requires_grad=True) for a in (x, w, b)]
            y = fn(*leaves, **kw)
            y.backward(lib.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape))
                                  .astype(np_dtype)))
            outs.append([y.detach().numpy()] + [t.grad.numpy() for t in leaves])
            assert y.grad_fn.name() == "ConvolutionBackward0"
        for m, t in zip(*outs):
            assert m.dtype == t.dtype
            np.testing.assert_allclose(m, t, **TOL[np_dtype.type], err_msg=str((xs, ws, kw)))


def test_graph_nodes_like_torch():
    x = mt.randn(2, 3, 6, 6, requires_grad=True)
    w = mt.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w)
    assert y.grad_fn.name() == "ConvolutionBackward0"
    assert len(y.grad_fn.next_functions) == 3 and y.grad_fn.next_functions[2] == (None, 0)
    assert F.conv2d(x[0], w).grad_fn.name() == "SqueezeBackward1"


# ---- modules -----------------------------------------------------------------------------

def test_module_defaults_and_init():
    mt.manual_seed(0)
    conv = nn.Conv2d(4, 8, 3, groups=2)
    assert conv.weight.shape == (8, 2, 3, 3) and conv.bias.shape == (8,)
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (0, 0)
    bound = 1 / math.sqrt(2 * 3 * 3)      # kaiming_uniform(a=sqrt(5)) and the bias: 1/sqrt(fan_in)
    for p in (conv.weight, conv.bias):
        v = p.detach().numpy()
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.7 * bound
    assert repr(nn.Conv1d(3, 6, 3, stride=2, padding=1, bias=False, groups=3)) == (
        "Conv1d(3, 6, kernel_size=(3,), stride=(2,), padding=(1,), groups=3, bias=False)")
    assert repr(nn.Conv2d(3, 6, (3, 5), dilation=2, padding="same")) == (
        "Conv2d(3, 6, kernel_size=(3, 5), stride=(1, 1), padding=same, dilation=(2, 2))")


def test_module_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="strided convolutions"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        nn.Conv2d(3, 6, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 6, 3, padding_mode="foo")
    model = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU())
    with pytest.raises(RuntimeError, match=r"^Sequential\[0\] Conv2d\(3→6, kernel_size=\(3, 3\)\): "
                       r"expected input with 3 channels, got shape \(2, 1, 8, 8\): Given groups=1, "
                       r"weight of size \[6, 3, 3, 3\], expected input\[2, 1, 8, 8\] to have 3 "
                       r"channels, but got 1 channels instead"):
        model(mt.randn(2, 1, 8, 8))
    with pytest.raises(RuntimeError, match=r"Calculated padded input size per channel: \(2 x 2\)\. "
                       r"Kernel size: \(3 x 3\)\. Kernel size can't be greater than actual input"):
        model(mt.randn(2, 3, 2, 2))


@pytest.mark.parametrize("call,message", [
    (lambda: F.conv2d(mt.randn(2, 4, 8, 8), mt.randn(3, 2, 3, 3), groups=2),
     r"Given groups=2, expected weight to be divisible by 2 at dimension 0"),
    (lambda: F.conv2d(mt.randn(2, 3), mt.randn(6, 3, 3, 3)),
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d"),
    (lambda: F.conv2d(mt.randn(2, 3, 8, 8, dtype=mt.float64), mt.randn(6, 3, 3, 3)),
     r"expected scalar type Double but found Float"),
    (lambda: F.conv2d(mt.randn(2, 3, 8, 8), mt.randn(6, 3, 3, 3), mt.randn(5)),
     r"expected bias to be 1-dimensional with 6 elements"),
    (lambda: F.conv2d(mt.randn(2, 3, 8, 8), mt.randn(6, 3, 3, 3), stride=0),
     r"non-positive stride is not supported"),
    (lambda: F.conv2d(mt.randn(2, 3, 8, 8), mt.randn(6, 3, 3, 3), padding="foo"),
     r"Invalid padding string: 'foo'"),
    (lambda: F.conv2d(mt.randn(2, 3, 8, 8), mt.randn(6, 3, 3, 3), padding=(1, 2, 3)),
     r"expected padding to be a single integer value or a list of 2 values"),
    (lambda: F.conv1d(mt.randn(2, 3, 4), mt.randn(6, 3, 3), dilation=3),
     r"Calculated padded input size per channel: \(4\)\. Kernel size: \(7\)"),
])
def test_functional_errors(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_state_dict_round_trip_with_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 3, 9, 9)).astype(np.float32)
    for make in (lambda lib: lib.nn.Conv2d(3, 4, 3, stride=2, padding=1, groups=1),
                 lambda lib: lib.nn.Conv1d(3, 6, 2, groups=3, bias=False)):
        theirs, ours = make(torch), make(mt)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict({k: mt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
        inp = x if isinstance(ours, nn.Conv2d) else x[:, :, 0]
        np.testing.assert_allclose(ours(mt.tensor(inp)).detach().numpy(),
                                   theirs(torch.tensor(inp)).detach().numpy(), rtol=1e-5,
                                   atol=1e-5)
        fresh = make(torch)
        fresh.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        for k, v in fresh.state_dict().items():
            np.testing.assert_array_equal(v.numpy(), theirs.state_dict()[k].numpy())


class Net(nn.Module):
    """The 60-minute blitz's network, verbatim but for the import."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = mt.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        return self.fc3(f6)


def test_lenet_training_matches_torch():
    """The blitz's LeNet: three SGD steps from the same weights give PyTorch's weights."""
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.nn.Sequential(
            lib.nn.Conv2d(1, 6, 5), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
            lib.nn.Conv2d(6, 16, 5), lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Flatten(),
            lib.nn.Linear(16 * 5 * 5, 120), lib.nn.ReLU(), lib.nn.Linear(120, 84),
            lib.nn.ReLU(), lib.nn.Linear(84, 10))

    theirs, ours = build(torch), build(mt)
    ours.load_state_dict({k: mt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((8, 1, 32, 32)).astype(np.float32)
    y = RNG.integers(0, 10, 8)
    for lib, model in ((torch, theirs), (mt, ours)):
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            opt.zero_grad()
            lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y)).backward()
            opt.step()
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


def test_blitz_lenet_code_runs_unchanged():
    net = Net()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = net(mt.randn(1, 1, 32, 32))
    assert out.shape == (1, 10)
    net.zero_grad()
    out.backward(mt.randn(1, 10))
    assert net.conv1.bias.grad.shape == (6,) and float(net.conv1.weight.grad.abs().sum()) > 0


class MnistNet(nn.Module):
    """PyTorch's examples/mnist network, verbatim but for the import."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = mt.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def test_mnist_example_code_runs_unchanged():
    mt.manual_seed(0)
    model = MnistNet()
    optimizer = mt.optim.Adam(model.parameters(), lr=1e-3)
    data, target = mt.randn(4, 1, 28, 28), mt.tensor([3, 1, 4, 1])
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    model.eval()
    with mt.no_grad():
        assert model(data).argmax(dim=1, keepdim=True).shape == (4, 1)
