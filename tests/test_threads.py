"""Threads and processes: independent graphs in two threads at once, and worker processes
started after OpenMP ran.

The thread tests use tensors big enough (1e6 elements, a 512x512 linear) that the kernels
release the GIL and take their OpenMP paths, so the two threads really run kernels at the
same time; each thread's results must equal a single-threaded run of the same computation.
The process tests run in a subprocess with a timeout, so a hang fails the test instead of
blocking the suite.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import microtorch as torch
import microtorch.nn.functional as F

SRC = os.path.dirname(os.path.dirname(os.path.abspath(torch.__file__)))  # the tested package
BIG = 1_000_000


# ------------------------------------------------------------------ the computations

def _inputs(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal(BIG).astype(np.float32),
        "logits": rng.standard_normal((BIG // 1000, 1000)).astype(np.float32),
        "target": rng.integers(0, 1000, BIG // 1000),
        "a": rng.standard_normal((512, 512)).astype(np.float32),
        "w": rng.standard_normal((512, 512)).astype(np.float32) / 20,
        "b": rng.standard_normal(512).astype(np.float32),
    }


def _forward_backward(arrays: dict) -> dict:
    """relu / sigmoid / softmax / cross_entropy on 1e6 elements and a 512x512 linear,
    forward and backward; returns every output and gradient as numpy arrays."""
    x = torch.tensor(arrays["x"], requires_grad=True)
    logits = torch.tensor(arrays["logits"], requires_grad=True)
    a = torch.tensor(arrays["a"], requires_grad=True)
    w = torch.tensor(arrays["w"], requires_grad=True)
    b = torch.tensor(arrays["b"], requires_grad=True)
    target = torch.tensor(arrays["target"])

    r = torch.relu(x)
    s = torch.sigmoid(x)
    sm = torch.softmax(logits, dim=1)
    ce = F.cross_entropy(logits, target)
    lin = F.linear(a, w, b)
    loss = (r * s).sum() + (sm * sm).sum() + ce + torch.tanh(lin).sum()
    loss.backward()
    return {"r": r.detach().numpy(), "s": s.detach().numpy(), "sm": sm.detach().numpy(),
            "ce": ce.item(), "lin": lin.detach().numpy(), "loss": loss.item(),
            "gx": x.grad.numpy(), "glogits": logits.grad.numpy(), "ga": a.grad.numpy(),
            "gw": w.grad.numpy(), "gb": b.grad.numpy()}


def _assert_same(got: dict, want: dict, where: str) -> None:
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value, rtol=2e-5, atol=1e-6,
                                   err_msg=f"{where}: {key} differs from the single-threaded run")


def _run_in_threads(jobs, rounds: int = 2) -> list:
    """Run each `job()` in its own thread, all starting together, `rounds` times each."""
    results = [[] for _ in jobs]
    errors = []
    barrier = threading.Barrier(len(jobs))

    def worker(i, job):
        try:
            for _ in range(rounds):
                barrier.wait(timeout=60)
                results[i].append(job())
        except BaseException as exc:  # noqa: BLE001  (re-raised by the main thread)
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    if errors:
        raise errors[0]
    return results


# ----------------------------------------------------------------------- the tests

def test_two_threads_independent_graphs():
    """Forward and backward of two independent graphs at once equal single-threaded runs."""
    inputs = [_inputs(1), _inputs(2)]
    expected = [_forward_backward(arr) for arr in inputs]        # one thread at a time
    results = _run_in_threads([lambda: _forward_backward(inputs[0]),
                               lambda: _forward_backward(inputs[1])])
    for i, runs in enumerate(results):
        for k, got in enumerate(runs):
            _assert_same(got, expected[i], f"thread {i}, round {k}")


def test_same_inputs_in_two_threads():
    """Both threads on the same input arrays (read-only sharing) give identical results."""
    arrays = _inputs(3)
    expected = _forward_backward(arrays)
    results = _run_in_threads([lambda: _forward_backward(arrays)] * 2, rounds=1)
    for i, runs in enumerate(results):
        _assert_same(runs[0], expected, f"thread {i}")


def test_grad_mode_is_per_thread():
    """no_grad in one thread does not stop another thread from recording its graph."""
    inside = threading.Event()
    release = threading.Event()
    seen = {}

    def evaluator():
        with torch.no_grad():
            inside.set()
            release.wait(timeout=30)
            seen["eval"] = (torch.ones(2, requires_grad=True) * 2).requires_grad

    def trainer():
        inside.wait(timeout=30)
        y = torch.ones(2, requires_grad=True) * 2
        seen["train"] = y.requires_grad
        release.set()

    _run_in_threads([evaluator, trainer], rounds=1)
    assert seen == {"eval": False, "train": True}


def test_autograd_grad_alongside_backward():
    """autograd.grad in one thread while another thread runs a whole backward(): the
    gradient is returned, and autograd.grad never touches `.grad`.

    The interleaving is forced, not left to chance: a hook on the linear's output pauses
    autograd.grad in the middle of its graph until the other thread's backward is done.
    """
    rng = np.random.default_rng(4)
    x = torch.tensor(rng.standard_normal((64, 32)).astype(np.float32))
    wa = torch.tensor(rng.standard_normal((16, 32)).astype(np.float32), requires_grad=True)
    wb = torch.tensor(rng.standard_normal((16, 32)).astype(np.float32), requires_grad=True)
    expected = np.tile(x.numpy().sum(0), (16, 1))            # d sum(x @ w.T) / dw
    paused, other_done = threading.Event(), threading.Event()
    got = {}

    def pause(grad):
        paused.set()
        other_done.wait(timeout=30)

    def grad_thread():
        out = F.linear(x, wb)
        out.register_hook(pause)
        try:
            got["grad"] = torch.autograd.grad(out.sum(), [wb])[0].numpy()
        except RuntimeError as exc:
            got["error"] = str(exc)
        got["wb.grad"] = wb.grad

    def backward_thread():
        paused.wait(timeout=30)
        F.linear(x, wa).sum().backward()
        other_done.set()

    _run_in_threads([grad_thread, backward_thread], rounds=1)
    np.testing.assert_allclose(wa.grad.numpy(), expected, rtol=1e-5, atol=1e-4)
    assert "error" not in got, got["error"]
    np.testing.assert_allclose(got["grad"], expected, rtol=1e-5, atol=1e-4)
    assert got["wb.grad"] is None, "autograd.grad wrote into wb.grad"


# ----------------------------------------------------------------------------- processes

def _run_script(body: str, timeout: float, tmp_path) -> subprocess.CompletedProcess:
    """Run `body` as a script file in a fresh interpreter (spawned workers re-import it)."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        return subprocess.run([sys.executable, "-X", "faulthandler", str(script)], env=env,
                              capture_output=True, text=True, timeout=timeout,
                              cwd=str(tmp_path), check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the subprocess hung (no exit within {timeout} s); its output so far:\n"
                    f"{exc.stdout}\n{exc.stderr}")


_OPENMP_FIRST = """
    import microtorch as torch
    from microtorch import _kernels

    def use_openmp():
        # above the kernels' parallel thresholds: OpenMP regions run (if built with OpenMP)
        s = torch.sigmoid(torch.zeros(1_000_000))
        p = torch.softmax(torch.zeros(1000, 1000), dim=1)
        return round(float(s.sum()) + float(p.sum()))
"""


def test_dataloader_workers_after_openmp(tmp_path):
    """DataLoader(num_workers=2) in a process that already ran OpenMP kernels, with workers
    that run OpenMP kernels themselves: no hang, and the same batches as num_workers=0."""
    result = _run_script(_OPENMP_FIRST + """
    import numpy as np
    from microtorch.utils.data import DataLoader, Dataset

    class Squares(Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            use_openmp()                       # a parallel kernel inside the worker
            return torch.tensor([float(i)]), i * i

    def batches(**kw):
        return [(x.numpy().copy(), y.numpy().copy())
                for x, y in DataLoader(Squares(), batch_size=5, **kw)]

    if __name__ == "__main__":
        assert use_openmp() == 501_000
        serial = batches()
        parallel = batches(num_workers=2, timeout=60)
        assert len(serial) == len(parallel) == 3
        for (x0, y0), (x1, y1) in zip(serial, parallel):
            np.testing.assert_array_equal(x0, x1)
            np.testing.assert_array_equal(y0, y1)
        print("OK", _kernels.openmp_enabled(), _kernels.get_num_threads())
    """, timeout=240, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("OK")


def test_fork_child_after_openmp(tmp_path):
    """A multiprocessing child started with fork after the parent ran OpenMP kernels can run
    kernels itself (Python 3.11's default start method on Linux is fork): libgomp's pool
    does not survive fork, so the child must take the serial path."""
    result = _run_script(_OPENMP_FIRST + """
    import multiprocessing as mp
    import sys

    def child(q):
        q.put(use_openmp())

    if __name__ == "__main__":
        use_openmp()
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(q,))
        p.start()
        p.join(timeout=5)           # the kernel takes milliseconds; a hang never returns
        if p.is_alive():
            p.kill()
            p.join()
            print("HANG: the forked child did not finish")
            sys.exit(2)
        assert p.exitcode == 0 and q.get(timeout=5) == 501_000
        print("OK")
    """, timeout=120, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
