"""The public `autograd.Function`: PyTorch's custom-function semantics, checked against
finite differences and, where installed, against PyTorch itself."""
import math

import numpy as np
import pytest

import microtorch as mt
from microtorch import nn
from microtorch.autograd import Function, once_differentiable
from microtorch.testing import gradcheck


def _frameworks():
    libs = [mt]
    try:
        import torch

        libs.append(torch)
    except ImportError:
        pass
    return libs


# ---- the tutorial pattern: a Legendre polynomial P3 trained with SGD -------------------

def make_legendre(lib):
    class LegendrePolynomial3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    return LegendrePolynomial3


def train_legendre(lib, steps=300):
    x = lib.linspace(-math.pi, math.pi, 200, dtype=lib.float64)
    y = lib.sin(x) if hasattr(lib, "sin") else lib.tensor(np.sin(x.numpy()))
    params = [lib.full((), v, dtype=lib.float64, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3)]
    P3 = make_legendre(lib).apply
    lr = 5e-6
    for _ in range(steps):
        a, b, c, d = params
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
    return [p.item() for p in params], loss.item()


def test_legendre_tutorial_trains():
    params, loss = train_legendre(mt)
    assert loss < 60.0                     # starts near 400 on this data
    assert params[1] < -1.0                # b moves as in the tutorial
    if len(_frameworks()) > 1:
        import torch

        ref, ref_loss = train_legendre(torch)
        np.testing.assert_allclose(params, ref, rtol=1e-9, atol=1e-12)
        assert loss == pytest.approx(ref_loss, rel=1e-9)


def test_node_name_and_edges():
    P3 = make_legendre(mt)
    x = mt.randn(3, requires_grad=True)
    y = P3.apply(x)
    assert type(y.grad_fn).__name__ == "LegendrePolynomial3Backward"
    assert y.grad_fn.name() == "LegendrePolynomial3Backward"
    (edge,) = y.grad_fn.next_functions
    assert type(edge[0]).__name__ == "AccumulateGrad" and edge[0].variable is x


def test_gradcheck_of_user_functions():
    P3 = make_legendre(mt)
    x = mt.randn(4, 3, dtype=mt.float64, requires_grad=True)
    assert gradcheck(P3.apply, (x,))
    assert gradcheck(lambda t: P3.apply(t * 2).sum(dim=1), (x,))


# ---- ctx features ------------------------------------------------------------------------

class ScaleBy(Function):
    """x * k for a Python number k; checks non-tensor arguments and needs_input_grad."""

    @staticmethod
    def forward(ctx, x, k, y):
        ctx.k = k
        ctx.flags = ctx.needs_input_grad
        return x * k + y

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None, (g if ctx.needs_input_grad[2] else None)


def test_non_tensor_args_attributes_and_needs_input_grad():
    x = mt.randn(3, requires_grad=True)
    y = mt.randn(3)
    out = ScaleBy.apply(x, 2.5, y)
    assert out.grad_fn.flags == (True, False, False)
    assert out.grad_fn.k == 2.5
    assert len(out.grad_fn.next_functions) == 2           # one edge per Tensor argument
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2.5))
    assert y.grad is None


def test_no_graph_without_grad():
    x = mt.randn(3)
    assert ScaleBy.apply(x, 2.0, x).grad_fn is None
    w = mt.randn(3, requires_grad=True)
    with mt.no_grad():
        out = ScaleBy.apply(w, 2.0, w)
    assert out.grad_fn is None and not out.requires_grad


def test_forward_runs_without_recording():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            seen.append((mt.is_grad_enabled(), y.requires_grad))
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Probe.apply(mt.randn(2, requires_grad=True))
    assert seen == [(False, False)]


class SplitTwo(Function):
    """Two outputs: (2x, x**2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x * x

    @staticmethod
    def backward(ctx, g1, g2):
        (x,) = ctx.saved_tensors
        return g1 * 2 + g2 * 2 * x


def test_several_outputs_and_materialized_grads():
    x = mt.tensor([1.0, -2.0, 3.0], requires_grad=True)
    a, b = SplitTwo.apply(x)
    assert a.grad_fn is b.grad_fn
    (a.sum() + 3 * b.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 + 3 * 2 * x.detach().numpy())
    x.grad = None
    a, b = SplitTwo.apply(x)
    b.sum().backward()                      # a gets no gradient: zeros are passed for it
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())


def test_set_materialize_grads_false_passes_none():
    received = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x.clone(), x.clone()

        @staticmethod
        def backward(ctx, g1, g2):
            received.append((g1 is None, g2 is None))
            return g2

    x = mt.randn(3, requires_grad=True)
    _, b = Two.apply(x)
    b.sum().backward()
    assert received == [(True, False)]
    np.testing.assert_allclose(x.grad.numpy(), np.ones(3))


def test_mark_non_differentiable():
    class SortValues(Function):
        @staticmethod
        def forward(ctx, x):
            idx = mt.tensor(np.argsort(x.detach().numpy()))
            values = x[idx]
            mask = (values > 0).float()              # float, but marked: no gradient
            ctx.mark_non_differentiable(mask)
            ctx.save_for_backward(idx)
            ctx.n = x.shape[0]
            return values, idx, mask

        @staticmethod
        def backward(ctx, g, g_idx, g_mask):
            (idx,) = ctx.saved_tensors
            out = mt.zeros(ctx.n, dtype=g.dtype)
            out[idx] = g
            return out

    x = mt.tensor([3.0, -1.0, 2.0], requires_grad=True)
    values, idx, mask = SortValues.apply(x)
    assert values.requires_grad and not idx.requires_grad and not mask.requires_grad
    (values * mt.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [100.0, 1.0, 10.0])


def test_mark_dirty_in_place_function():
    class AddOne_(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    w = mt.randn(3, requires_grad=True)
    h = w * 2
    version = h._version[0]
    out = AddOne_.apply(h)
    assert out is h and h._version[0] == version + 1
    assert type(h.grad_fn).__name__ == "AddOne_Backward"
    (h * 3).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.full(3, 6.0))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        AddOne_.apply(mt.randn(2, requires_grad=True))


def test_saved_tensor_modified_in_place_raises():
    P3 = make_legendre(mt)
    w = mt.randn(3, requires_grad=True)
    h = w * 1
    y = P3.apply(h)
    h.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_saved_output_frees_and_second_backward_raises():
    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x = mt.randn(3, dtype=mt.float64, requires_grad=True)
    assert gradcheck(Exp.apply, (x,))
    y = Exp.apply(x)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()


def test_setup_context_style():
    class Mul(Function):
        @staticmethod
        def forward(x, y):
            return x * y

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y = inputs
            ctx.save_for_backward(x, y)

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x

    x = mt.randn(2, 3, dtype=mt.float64, requires_grad=True)
    y = mt.randn(3, dtype=mt.float64, requires_grad=True)
    assert gradcheck(Mul.apply, (x, y))


def test_once_differentiable_and_none_gradient():
    class Half(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x / 2 + y

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            return g / 2, None

    x = mt.randn(3, requires_grad=True)
    y = mt.randn(3, requires_grad=True)
    Half.apply(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 0.5))
    assert y.grad is None


def test_broadcast_gradient_is_summed_to_the_input():
    class AddRow(Function):
        @staticmethod
        def forward(ctx, x, row):
            return x + row

        @staticmethod
        def backward(ctx, g):
            return g, g                        # g has x's shape; row's is summed back

    x = mt.randn(4, 3, requires_grad=True)
    row = mt.randn(3, requires_grad=True)
    AddRow.apply(x, row).sum().backward()
    np.testing.assert_allclose(row.grad.numpy(), np.full(3, 4.0))


# ---- PyTorch's errors ----------------------------------------------------------------------

def _errors(lib):
    class WrongCount(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return (g,)

    class WrongShape(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[:2]

    class GradForNumber(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    return WrongCount, WrongShape, GradForNumber


@pytest.mark.parametrize("lib", _frameworks(), ids=lambda m: m.__name__)
def test_errors_like_pytorch(lib):
    WrongCount, WrongShape, GradForNumber = _errors(lib)
    x = lib.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        WrongCount.apply(x, x * 1).sum().backward()
    with pytest.raises(RuntimeError, match="invalid gradient at index 0 - got \\[2\\] but expected "
                                           "shape compatible with \\[3\\]"):
        WrongShape.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="returned a gradient different than None at position 2"):
        GradForNumber.apply(x, 2.0).sum().backward()
    with pytest.raises(RuntimeError, match="Legacy autograd function with non-static forward"):
        WrongShape()(x)


# ---- Functions inside modules, with hooks and retain_graph --------------------------------

class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class SquareLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return Square.apply(self.lin(x))


def test_function_inside_module_trains_like_the_plain_ops():
    mt.manual_seed(0)
    model = SquareLayer()
    x = mt.randn(5, 3)
    loss = model(x).sum()
    loss.backward()
    g_custom = model.lin.weight.grad.numpy().copy()
    model.zero_grad()
    (model.lin(x) ** 2).sum().backward()
    np.testing.assert_allclose(g_custom, model.lin.weight.grad.numpy(), rtol=1e-6)


def test_hooks_and_retain_graph_through_functions():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = Square.apply(h)
    y.retain_grad()
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(y.grad.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    assert len(seen) == 2
