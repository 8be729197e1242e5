"""Invariants of the autograd engine that every op relies on.

- a graph is backwarded once unless retain_graph=True (then gradients accumulate);
- a graph is freed as soon as its output is dropped, without the cyclic GC;
- long chains and heavily reused tensors work without recursion, in linear time;
- hooks, retain_grad, autograd.grad and no_grad behave as in PyTorch.
"""
import gc
import threading
import time
import weakref

import numpy as np
import pytest
from registry import draw_inputs, params, run_examples

import microtorch as mt


def leaf(values, dtype=mt.float64):
    return mt.tensor(np.asarray(values, dtype=dtype.np), requires_grad=True)


# ---- backward once, or retain_graph ----------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda x: (x * x).sum(),
    lambda x: x.exp().sum(),
    lambda x: (x @ x),
    lambda x: mt.softmax(x, dim=0)[0],
    lambda x: (x / 2).tanh().mean(),
], ids=["mul", "exp", "dot", "softmax", "tanh"])
def test_second_backward_without_retain_graph_raises(make):
    x = leaf([1.0, 2.0, 3.0])
    y = make(x)
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf([1.0, 2.0, 3.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward(retain_graph=True)
    y.backward()
    assert np.array_equal(x.grad.numpy(), 3 * first)
    with pytest.raises(RuntimeError):
        y.backward()


def test_autograd_grad_frees_the_graph_too():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    mt.autograd.grad(y, [x])
    with pytest.raises(RuntimeError, match="second time"):
        mt.autograd.grad(y, [x])


def test_graph_without_saved_values_can_run_twice():
    """Nodes that saved nothing stay usable, as in PyTorch (e.g. add, sum)."""
    x = leaf([1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    y.backward()
    assert np.array_equal(x.grad.numpy(), [2.0, 2.0])


# ---- graphs are freed by reference counting ----------------------------------------------

class _NoCyclicGC:
    """Only reference counting frees objects inside this block."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()


def _assert_freed_when_dropped(make):
    """make() -> (output, intermediates): all die as soon as the output is dropped."""
    with _NoCyclicGC():
        out, intermediates = make()
        refs = [weakref.ref(out), weakref.ref(out.grad_fn)]
        refs += [weakref.ref(t) for t in intermediates]
        refs += [weakref.ref(t.grad_fn) for t in intermediates if t.grad_fn is not None]
        del out, intermediates
        alive = [r() for r in refs if r() is not None]
        assert not alive, f"still alive without the cyclic GC: {alive}"


def test_graph_is_freed_when_output_is_dropped():
    x = leaf(np.linspace(-1, 1, 6).reshape(2, 3))

    def make():
        h = x.exp()
        s = mt.sigmoid(h) * mt.tanh(h)
        out = mt.log_softmax(s @ s.T, dim=1).sum()
        return out, [h, s]

    _assert_freed_when_dropped(make)


def test_graph_is_freed_after_backward_and_with_hooks():
    x = leaf([1.0, 2.0])

    def make():
        h = x * 3
        h.retain_grad()
        h.register_hook(lambda g: g * 2)
        out = h.sqrt().sum()
        out.backward(retain_graph=True)
        return out, [h]

    _assert_freed_when_dropped(make)
    assert x.grad is not None


def test_in_place_and_views_do_not_leak():
    x = leaf(np.arange(6.0).reshape(2, 3))

    def make():
        h = x * 1
        v = h.view(3, 2)
        h.mul_(2)
        h[0] = 5.0
        out = (h.sum() + v.detach().sum())
        return out, [h]

    _assert_freed_when_dropped(make)


@pytest.mark.parametrize("case", params("invariants", only_differentiable=True))
def test_every_op_frees_its_graph(case):
    """No op creates a reference cycle between its output and its node."""
    def body(data):
        inputs = [t.requires_grad_() for t in draw_inputs(data, case)]
        result = case.run(mt, *inputs)
        outputs = [o for o in (result if isinstance(result, tuple) else (result,))
                   if not any(o is t for t in inputs)]         # ops may return their input
        with _NoCyclicGC():
            refs = [weakref.ref(o.grad_fn) for o in outputs if o.grad_fn is not None]
            refs += [weakref.ref(o) for o in outputs]
            del result, outputs
            assert not [r() for r in refs if r() is not None]

    run_examples(case, "invariants", body, max_examples=2)


# ---- deep and wide graphs --------------------------------------------------------------

CHAIN = 100_000


def test_backward_through_a_chain_of_100k_ops():
    x = leaf([0.5])
    y = x
    for _ in range(CHAIN):
        y = -y
    start = time.perf_counter()
    y.sum().backward()
    elapsed = time.perf_counter() - start
    assert x.grad.item() == 1.0                  # an even number of negations
    assert elapsed < 5.0, f"backward through {CHAIN} ops took {elapsed:.1f}s"
    with _NoCyclicGC():                          # freeing the chain does not recurse either
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None


def test_autograd_grad_through_a_long_chain():
    x = leaf([2.0])
    y = x
    for _ in range(20_000):
        y = y * 1.0
    (g,) = mt.autograd.grad(y.sum(), [x])
    assert g.item() == 1.0


def test_a_tensor_reused_10k_times_accumulates():
    x = leaf([1.0, -2.0, 3.0])
    total = x
    start = time.perf_counter()
    for _ in range(10_000):
        total = total + x * 2
    total.sum().backward()
    elapsed = time.perf_counter() - start
    assert np.array_equal(x.grad.numpy(), np.full(3, 20_001.0))
    assert elapsed < 5.0, f"10k reuses took {elapsed:.1f}s"


def test_wide_fan_out_and_fan_in():
    x = leaf(np.ones(4))
    parts = [x[i % 4] * i for i in range(2000)]
    mt.stack(parts).sum().backward()
    expected = [sum(i for i in range(2000) if i % 4 == k) for k in range(4)]
    assert np.array_equal(x.grad.numpy(), expected)


def test_diamond_gradients_sum():
    x = leaf([3.0])
    a, b = x * 2, x * 5
    (a * b).backward()                           # d(10 x^2)/dx = 20 x
    assert x.grad.item() == 60.0


# ---- hooks and retain_grad ------------------------------------------------------------

def test_hook_on_a_leaf_replaces_its_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()
    assert np.array_equal(seen[0], [3.0, 3.0])
    assert np.array_equal(x.grad.numpy(), [30.0, 30.0])


def test_hook_on_an_intermediate_changes_what_flows_upstream():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.register_hook(lambda g: g + 1)
    (h * 3).sum().backward()
    assert np.array_equal(x.grad.numpy(), [8.0, 8.0])   # (3 + 1) * 2
    assert h.grad is None


def test_hook_handle_remove():
    x = leaf([1.0])
    handle = x.register_hook(lambda g: g * 100)
    handle.remove()
    (x * 2).sum().backward()
    assert x.grad.item() == 2.0


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        mt.ones(2).register_hook(lambda g: g)


def test_retain_grad_keeps_intermediate_gradients():
    x = leaf([1.0, 2.0])
    h = x * x
    h.retain_grad()
    h.retain_grad()                              # idempotent
    (h * 3).sum().backward()
    assert np.array_equal(h.grad.numpy(), [3.0, 3.0])
    assert np.array_equal(x.grad.numpy(), [6.0, 12.0])
    assert not h.is_leaf


def test_retain_grad_accumulates_over_backwards():
    x = leaf([1.0])
    h = x * 2
    h.retain_grad()
    y = h * 5
    y.backward(retain_graph=True)
    y.backward()
    assert h.grad.item() == 10.0


def test_retain_grad_on_a_leaf_is_a_no_op():
    x = leaf([1.0])
    x.retain_grad()
    (x * 2).backward()
    assert x.grad.item() == 2.0


# ---- autograd.grad and grad modes -------------------------------------------------------

def test_autograd_grad_does_not_touch_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    w.grad = mt.tensor([7.0, 7.0], dtype=mt.float64)
    y = (x * w).sum()
    (gx,) = mt.autograd.grad(y, [x], retain_graph=True)
    assert np.array_equal(gx.numpy(), [3.0, 4.0])
    assert x.grad is None
    assert np.array_equal(w.grad.numpy(), [7.0, 7.0])
    y.backward()                                 # the engine still accumulates afterwards
    assert np.array_equal(x.grad.numpy(), [3.0, 4.0])
    assert np.array_equal(w.grad.numpy(), [8.0, 9.0])


def test_autograd_grad_of_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = mt.autograd.grad((h * h).sum(), [h])
    assert np.array_equal(gh.numpy(), [6.0, 12.0])
    assert x.grad is None


def test_no_grad_builds_no_graph():
    x = leaf([1.0, 2.0])
    with mt.no_grad():
        y = (x * 2).exp().sum()
        z = x[0] + mt.softmax(x, dim=0)
        assert not mt.is_grad_enabled()
    assert mt.is_grad_enabled()
    for t in (y, z):
        assert t.grad_fn is None and not t.requires_grad and t.is_leaf


def test_no_grad_as_decorator_and_nested_enable_grad():
    x = leaf([1.0])

    @mt.no_grad()
    def f(t):
        with mt.enable_grad():
            inner = t * 2
        return t * 2, inner

    outer, inner = f(x)
    assert outer.grad_fn is None and inner.grad_fn is not None


def test_set_grad_enabled_and_inference_mode():
    x = leaf([1.0])
    with mt.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    with mt.inference_mode():
        assert (x * 2).grad_fn is None
    assert (x * 2).grad_fn is not None


def test_in_place_on_a_leaf_is_allowed_under_no_grad():
    x = leaf([1.0, 2.0])
    with mt.no_grad():
        x.sub_(mt.tensor([0.5, 0.5], dtype=mt.float64))
    assert np.array_equal(x.detach().numpy(), [0.5, 1.5]) and x.is_leaf


def test_grad_mode_is_per_thread():
    x = leaf([1.0])
    seen = {}

    def worker():
        seen["enabled"] = mt.is_grad_enabled()
        seen["grad_fn"] = (x * 2).grad_fn

    with mt.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen["enabled"] and seen["grad_fn"] is not None
