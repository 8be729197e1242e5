"""Long runs and memory: nothing grows over 10,000 training steps, graphs are freed by
reference counting alone, no_grad builds no graph, and backward is iterative and linear-time
(a chain of 100,000 ops, a tensor used 10,000 times).

Live objects are counted with `gc.get_objects()` (Tensors and graph Nodes are GC-tracked)
while the cyclic collector is disabled, so anything freed was freed by reference counting.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import weakref
from contextlib import contextmanager

import numpy as np
import pytest

import microtorch as torch
import microtorch.nn.functional as F
from microtorch import nn
from microtorch.autograd import Node

try:
    import psutil
except ImportError:                                   # /proc/self/statm instead
    psutil = None


def rss_bytes() -> int:
    if psutil is not None:
        return psutil.Process().memory_info().rss
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def live_counts() -> dict:
    """Live GC-tracked objects: all of them, microtorch Tensors, graph Nodes."""
    objs = gc.get_objects()
    types = [type(o) for o in objs]       # type(), not isinstance(): no __class__ properties
    counts = {"objects": len(objs),
              "tensors": sum(issubclass(t, torch.Tensor) for t in types),
              "nodes": sum(issubclass(t, Node) for t in types)}
    del objs, types
    return counts


@contextmanager
def gc_disabled():
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def recursion_limit(limit: int):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def shallow_limit() -> int:
    """The recursion limit put around backward: 200 (the test runs ~35 frames deep under
    pytest), or the current depth + 50 if that is already deeper."""
    return max(200, stack_depth() + 50)


# ---------------------------------------------------------------------- long training run

STEPS = 10_000
MEASURE_AT = (1_000, STEPS)      # after warm-up (allocator pools, optimizer state) and at end


def _train_10k() -> dict:
    """10,000 steps of a small MLP (SGD with momentum, cross-entropy); the snapshots of RSS
    and live objects at MEASURE_AT, the final loss and the cycles made by the steps."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    snapshots = {}
    with gc_disabled():
        for step in range(1, STEPS + 1):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if step in MEASURE_AT:
                last_loss = loss.item()
                del loss
                # cycles made since the last snapshot: at the first one, one-time garbage of
                # the warm-up (lazy imports); after it, any would come from the steps
                unreachable = gc.collect()
                snapshots[str(step)] = {"rss": rss_bytes(), **live_counts()}
    return {"snapshots": snapshots, "loss": last_loss, "unreachable": unreachable}


def test_training_10k_steps_is_flat():
    """Between step 1,000 and step 10,000 RSS, live objects, Tensors and Nodes stay flat, and
    the steps create no reference cycle (everything is freed by reference counting). Run in a
    fresh process, so that RSS is not that of a heap fragmented by the rest of the suite."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import test_memory; "
            "print(json.dumps(test_memory._train_10k()))")
    proc = subprocess.run([sys.executable, "-c", code, os.path.dirname(__file__)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    first, last = (result["snapshots"][str(s)] for s in MEASURE_AT)
    report = {k: (first[k], last[k], last[k] - first[k]) for k in first}
    print(f"\n10k-step run, (at step {MEASURE_AT[0]}, at step {STEPS}, growth): {report}")
    assert result["loss"] < 0.5, "the model did not train"
    assert result["unreachable"] == 0, (f"{result['unreachable']} objects made by steps "
                                        f"{MEASURE_AT[0]}..{STEPS} were only freeable by the "
                                        "cyclic GC")
    assert last["tensors"] == first["tensors"], report
    assert last["nodes"] == first["nodes"], report
    assert last["objects"] - first["objects"] <= 20, report
    assert last["rss"] - first["rss"] < 8 * 2**20, report


# ------------------------------------------------------------------ freeing graphs

def test_graph_freed_by_refcount():
    """Dropping the loss frees every intermediate tensor and node at once (no GC needed),
    before and after backward."""
    for do_backward in (False, True):
        with gc_disabled():
            w = torch.randn(5, 3, requires_grad=True)
            x = torch.randn(4, 3)
            h = F.linear(x, w)
            a = torch.sigmoid(h) * 2
            b = torch.softmax(a, dim=1)
            loss = F.cross_entropy(b, torch.tensor([0, 1, 2, 3])) + (a ** 2).mean()
            refs = [weakref.ref(t) for t in (h, a, b, loss)]
            refs += [weakref.ref(t.grad_fn) for t in (h, a, b, loss)]
            if do_backward:
                loss.backward()
            del h, a, b, loss
            dead = [r() is None for r in refs]
            assert all(dead), f"backward={do_backward}: still alive: {dead}"
            if do_backward:
                assert w.grad is not None and w.grad.grad_fn is None


def test_module_graph_freed_by_refcount():
    """The same through nn modules and an optimizer step, with retain_grad and a hook."""
    with gc_disabled():
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        hidden = model[1](model[0](torch.randn(6, 3)))
        hidden.retain_grad()
        hidden.register_hook(lambda g: g * 1.0)
        out = model[2](hidden)
        loss = F.mse_loss(out, torch.zeros(6, 2))
        refs = [weakref.ref(hidden), weakref.ref(out), weakref.ref(loss),
                weakref.ref(hidden.grad_fn), weakref.ref(loss.grad_fn)]
        loss.backward()
        opt.step()
        assert hidden.grad is not None
        del hidden, out, loss
        assert all(r() is None for r in refs)


def test_no_grad_builds_no_graph():
    """Under no_grad no node is created and outputs have no grad_fn."""
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    x = torch.randn(8, 16)
    with gc_disabled():
        before = live_counts()
        with torch.no_grad():
            for _ in range(100):
                out = model(x)
                loss = F.cross_entropy(out, torch.zeros(8, dtype=torch.long))
                assert out.grad_fn is None and not out.requires_grad
                assert loss.grad_fn is None and not loss.requires_grad
            del out, loss
        after = live_counts()
    assert after["nodes"] == before["nodes"], (before, after)
    assert after["tensors"] == before["tensors"], (before, after)


# ------------------------------------------------------------ deep and wide backward

C = 1.0 + 2.0 ** -20


def _chain(x, n):
    """n ops, alternating `* C` and `- 0.5`: d out / dx = C ** (n // 2) (exact for float64)."""
    y = x
    for i in range(n):
        y = y * C if i % 2 else y - 0.5
    return y.sum()


def _timed_backward(n: int) -> float:
    x = torch.ones(4, dtype=torch.float64, requires_grad=True)
    loss = _chain(x, n)
    with recursion_limit(shallow_limit()):     # backward may not recurse along the chain
        start = time.perf_counter()
        loss.backward()
        elapsed = time.perf_counter() - start
    expected = C ** (n // 2)
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, expected), rtol=1e-12)
    return elapsed


def test_long_chain_backward_is_iterative_and_linear():
    """A chain of 100,000 ops: backward is correct, needs no recursion, and costs about 10x
    a chain of 10,000 ops (a generous 30x bound, far below the quadratic 100x)."""
    t_small = min(_timed_backward(10_000) for _ in range(2))
    t_big = _timed_backward(100_000)
    ratio = t_big / t_small
    print(f"\nbackward 10k ops: {t_small * 1e3:.1f} ms, 100k ops: {t_big * 1e3:.1f} ms, "
          f"ratio {ratio:.1f}")
    assert ratio < 30, f"backward time grows faster than linearly (ratio {ratio:.1f})"


def test_long_chain_freed_without_recursion():
    """Dropping a 100,000-op graph that never ran backward does not overflow the C stack."""
    x = torch.ones(2, requires_grad=True)
    loss = _chain(x, 100_000)
    ref = weakref.ref(loss.grad_fn)
    del loss
    assert ref() is None


def test_tensor_reused_10k_times():
    """One tensor used by 10,000 ops: its gradient sums all 10,000 contributions."""
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    total = x * 0.0
    for i in range(10_000):
        total = total + x * float(i % 7)
    with recursion_limit(shallow_limit()):
        total.sum().backward()
    expected = float(sum(i % 7 for i in range(10_000)))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, expected))


def test_wide_fan_in_backward():
    """10,000 leaves-to-one (stack + sum) and one tensor fanned out to 10,000 views."""
    x = torch.randn(10_000, dtype=torch.float64, requires_grad=True)
    parts = [x[i] * 2.0 for i in range(10_000)]
    with recursion_limit(shallow_limit()):
        torch.stack(parts).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(10_000, 2.0))


@pytest.mark.skipif(not os.environ.get("MICROTORCH_LONG"), reason="set MICROTORCH_LONG=1")
def test_training_100k_steps_is_flat():
    """The 10k-step test ten times longer (a few minutes): run before releases."""
    global STEPS, MEASURE_AT
    saved = STEPS, MEASURE_AT
    STEPS, MEASURE_AT = 100_000, (1_000, 100_000)
    try:
        test_training_10k_steps_is_flat()
    finally:
        STEPS, MEASURE_AT = saved
