"""Parity with PyTorch 2.13 (the oracle): values, gradients, dtypes and exception classes.

Every registry case runs on the same inputs in microtorch (`mt`) and PyTorch, in float32
and float64: outputs (dtype, shape, values), whether they require grad, and the gradients
of every input for a random cotangent must agree.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from registry import draw_inputs, params, run_examples

import microtorch as mt

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
TOL = {
    np.float32: {"rtol": 4 * EPS32, "atol": 4 * EPS32},
    np.float64: {"rtol": 64 * EPS64, "atol": 64 * EPS64},
}
"""A few rounding errors: `atol` is relative to the magnitudes involved (`assert_close`).

In float32, microtorch and PyTorch may also differ by as much as PyTorch's own float32
result differs from its float64 result on the same inputs (times `SLACK`): ill-conditioned
values (gradients summed over broadcast dims with cancellation, layer norm with a small
spread, 1 - tanh(x)**2 near saturation) lose accuracy in any float32 implementation, and
only comparable accuracy is asked for, not identical rounding."""
SLACK = 4.0


def to_torch(t: mt.Tensor, requires_grad: bool, np_dtype=None):
    out = torch.from_numpy(np.array(t._data, dtype=np_dtype))
    return out.requires_grad_() if requires_grad else out


def to_mt(t: mt.Tensor, np_dtype, requires_grad: bool) -> mt.Tensor:
    out = mt.from_numpy(t._data.astype(np_dtype, order="K"))    # keeps the layout
    return out.requires_grad_() if requires_grad else out


def as_tuple(result) -> tuple:
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def assert_close(got: np.ndarray, expected: np.ndarray, what: str, rtol: float,
                 atol: float, scale: float = 1.0, slack=0.0) -> None:
    """|got - expected| <= atol * max(1, scale, max|expected|) + rtol * |expected| + slack."""
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    if expected.dtype.kind in "biu":
        assert np.array_equal(got, expected), f"{what}: {got} != {expected}"
        return
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, scale, float(finite.max()) if finite.size else 0.0)
    g, e = got.astype(np.float64), expected.astype(np.float64)
    allowed = atol * scale + rtol * np.abs(e) + np.nan_to_num(slack)
    with np.errstate(invalid="ignore"):
        bad = ~((np.abs(g - e) <= allowed) | (np.isnan(g) & np.isnan(e)) | (g == e))
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} of {bad.size} elements differ beyond tolerance\n"
        f"microtorch: {g[bad][:5]}\nPyTorch:    {e[bad][:5]}\n"
        f"allowed:    {np.broadcast_to(allowed, g.shape)[bad][:5]}")


class _Run:
    """One library's outputs and input gradients for a case on given inputs."""

    def __init__(self, lib, case, inputs, cotangents=None):
        self.inputs = inputs
        self.outputs = as_tuple(case.run(lib, *inputs))
        self.grads = None
        if not case.op.differentiable:
            return
        pairs = [o for o in self.outputs if o.dtype.is_floating_point and o.requires_grad]
        if not pairs:
            return
        if cotangents is None:
            rng = np.random.default_rng(0)
            cotangents = [rng.standard_normal(tuple(o.shape)) for o in pairs]
        self.cotangents = cotangents
        cots = [lib.from_numpy(c.astype(_np(o))) for c, o in zip(cotangents, pairs)]
        self.grads = lib.autograd.grad(pairs, inputs, cots, allow_unused=True)


def _np(t) -> np.dtype:
    return t.detach().numpy().dtype


def _check_dtype(case, np_dtype, drawn) -> None:
    diff = case.op.differentiable
    tol = TOL[np_dtype]
    xs = [to_mt(t, np_dtype, diff) for t in drawn]
    ours = _Run(mt, case, xs)
    theirs = _Run(torch, case, [to_torch(x, diff) for x in xs])
    exact = None
    if np_dtype == np.float32:        # PyTorch in float64 on the same float32 values
        exact = _Run(torch, case, [to_torch(x, diff, np.float64) for x in xs],
                     getattr(theirs, "cotangents", None))
    scale = max([1.0] + [float(np.abs(x._data).max()) for x in xs if x._data.size])

    def slack(ref, k, which):
        if exact is None or ref.dtype not in (torch.float32, torch.float16):
            return 0.0
        hi = getattr(exact, which)[k]
        if hi is None:
            return 0.0
        return SLACK * np.abs(ref.detach().numpy().astype(np.float64)
                              - hi.detach().numpy().astype(np.float64))

    assert len(ours.outputs) == len(theirs.outputs)
    for k, (a, b) in enumerate(zip(ours.outputs, theirs.outputs)):
        assert repr(a.dtype) == str(b.dtype), f"output {k}: dtype {a.dtype} vs {b.dtype}"
        assert tuple(a.shape) == tuple(b.shape), f"output {k}: shape {a.shape} vs {b.shape}"
        assert_close(a._data, b.detach().numpy(), f"output {k}", scale=scale,
                     slack=slack(b, k, "outputs"), **tol)
        if diff and b.dtype.is_floating_point:
            assert a.requires_grad == b.requires_grad, (
                f"output {k}: requires_grad {a.requires_grad}, PyTorch {b.requires_grad}")
    if theirs.grads is None:
        return
    cot_scale = max([1.0] + [float(np.abs(c).max()) for c in theirs.cotangents if c.size])
    for i, (a, b) in enumerate(zip(ours.grads, theirs.grads)):
        if b is None:
            assert a is None or not np.any(a._data), f"gradient {i}: PyTorch has none"
            continue
        if a is None:                 # no edge: the same as a zero gradient
            assert not np.any(b.numpy()), f"gradient {i}: microtorch has none, PyTorch {b}"
            continue
        assert repr(a.dtype) == str(b.dtype), f"gradient {i}: dtype {a.dtype} vs {b.dtype}"
        assert_close(a._data, b.numpy(), f"gradient {i}", scale=scale * cot_scale,
                     slack=slack(b, i, "grads"), **tol)


@pytest.mark.parametrize("case", params("parity"))
def test_parity_with_torch(case):
    def body(data):
        drawn = draw_inputs(data, case)
        for np_dtype in (np.float64, np.float32):
            _check_dtype(case, np_dtype, drawn)

    run_examples(case, "parity", body)


# ---- dtype promotion --------------------------------------------------------------------

PROMOTION = {
    "int64 + float32": lambda l: l.tensor([1, 2]) + l.tensor([1.5, 2.0]),
    "float32 + float64 0-d": lambda l: l.tensor([1.0, 2.0]) + l.tensor(1.5, dtype=l.float64),
    "float64 0-d - int64": lambda l: l.tensor(1.0, dtype=l.float64) - l.tensor([1, 2]),
    "float32 0-d + int64": lambda l: l.tensor(1.5) + l.tensor([1, 2]),
    "int64 0-d + int32": lambda l: l.tensor(1) + l.tensor([1, 2], dtype=l.int32),
    "int32 + int64": lambda l: l.tensor([1], dtype=l.int32) + l.tensor([1, 2]),
    "uint8 + int8": lambda l: l.tensor([1], dtype=l.uint8) + l.tensor([1, 2], dtype=l.int8),
    "int64 0-d * uint8": lambda l: l.tensor(300) * l.tensor([1], dtype=l.uint8),
    "float16 + float32": lambda l: l.tensor([1.0], dtype=l.float16) + l.tensor([1.0, 2.0]),
    "float16 + float32 0-d": lambda l: l.tensor([1.0], dtype=l.float16) + l.tensor(2.0),
    "float16 + 2.5": lambda l: l.tensor([1.0], dtype=l.float16) + 2.5,
    "int64 + 2.5": lambda l: l.tensor([1, 2]) + 2.5,
    "int32 * 2.5": lambda l: l.tensor([1], dtype=l.int32) * 2.5,
    "int64 * 2": lambda l: l.tensor([1, 2]) * 2,
    "float32 * 2": lambda l: l.tensor([1.0, 2.0]) * 2,
    "float64 * 2.5": lambda l: l.tensor([1.0], dtype=l.float64) * 2.5,
    "2.5 - int64": lambda l: 2.5 - l.tensor([1, 2]),
    "bool + bool": lambda l: l.tensor([True]) + l.tensor([False]),
    "bool + 1": lambda l: l.tensor([True]) + 1,
    "bool + 1.5": lambda l: l.tensor([True]) + 1.5,
    "bool * True": lambda l: l.tensor([True]) * True,
    "int64 / int64": lambda l: l.tensor([1, 2]) / l.tensor([2, 2]),
    "int64 / 2": lambda l: l.tensor([1, 2]) / 2,
    "2 / int64": lambda l: 2 / l.tensor([1, 2]),
    "int64 0-d / int64 0-d": lambda l: l.tensor(3) / l.tensor(2),
    "int64 ** 2": lambda l: l.tensor([1, 2]) ** 2,
    "int64 ** 0.5": lambda l: l.tensor([1, 2]) ** 0.5,
    "2 ** int64": lambda l: 2 ** l.tensor([1, 2]),
    "2.0 ** int64": lambda l: 2.0 ** l.tensor([1, 2]),
    "float32 ** float64 0-d": lambda l: l.tensor([2.0]) ** l.tensor(2.0, dtype=l.float64),
    "int64 // 2": lambda l: l.tensor([3, 4]) // 2,
    "float32 // 2": lambda l: l.tensor([3.0, 4.0]) // 2,
    "int64 % 2.5": lambda l: l.tensor([3, 4]) % 2.5,
    "int64.sum()": lambda l: l.tensor([3, 4]).sum(),
    "bool.sum()": lambda l: l.tensor([True, True]).sum(),
    "int32.sum()": lambda l: l.tensor([3], dtype=l.int32).sum(),
    "sum(dtype=int32)": lambda l: l.sum(l.tensor([1.5, 2.0]), dtype=l.int32),
    "float16.mean()": lambda l: l.tensor([1.0, 2.0], dtype=l.float16).mean(),
    "exp(int64)": lambda l: l.exp(l.tensor([1, 2])),
    "sqrt(int64)": lambda l: l.sqrt(l.tensor([1, 4])),
    "log1p(int64)": lambda l: l.log1p(l.tensor([1])),
    "sigmoid(int64)": lambda l: l.sigmoid(l.tensor([1, 2])),
    "tanh(bool)": lambda l: l.tanh(l.tensor([True])),
    "abs(int64)": lambda l: l.abs(l.tensor([1, -2])),
    "relu(int64)": lambda l: l.relu(l.tensor([1, -2])),
    "where(int64, float32)": lambda l: l.where(l.tensor([True, False]), l.tensor([1, 2]),
                                              l.tensor([1.5, 2.0])),
    "where(float32, 0)": lambda l: l.where(l.tensor([True, False]), l.tensor([1.0, 2.0]), 0),
    "where(int64, 2.5)": lambda l: l.where(l.tensor([True, False]), l.tensor([1, 2]), 2.5),
    "cat(int64, float32)": lambda l: l.cat([l.tensor([1]), l.tensor([1.5])]),
    "stack(int32, float64)": lambda l: l.stack([l.tensor([1], dtype=l.int32),
                                                l.tensor([1.5], dtype=l.float64)]),
    "maximum(int64, float32)": lambda l: l.maximum(l.tensor([1]), l.tensor([1.5])),
    "clamp(int64, 0.5, 2.5)": lambda l: l.clamp(l.tensor([1, 5]), 0.5, 2.5),
    "clamp(int64, 0, 2)": lambda l: l.clamp(l.tensor([1, 5]), 0, 2),
    "int64 == float32": lambda l: l.tensor([1]) == l.tensor([1.0]),
    "int64 @ int64": lambda l: l.tensor([[1, 2]]) @ l.tensor([[1], [2]]),
    "softmax(dtype=float64)": lambda l: l.softmax(l.tensor([1.0, 2.0]), 0, dtype=l.float64),
    "tensor([1, 2.5])": lambda l: l.tensor([1, 2.5]),
    "tensor([True, 2])": lambda l: l.tensor([True, 2]),
    "arange(0, 1, 0.5)": lambda l: l.arange(0, 1, 0.5),
    "full(3)": lambda l: l.full((2,), 3),
    "full(True)": lambda l: l.full((2,), True),
    "zeros_like(int64)": lambda l: l.zeros_like(l.tensor([1, 2])),
}


@pytest.mark.parametrize("name", list(PROMOTION))
def test_dtype_promotion(name):
    fn = PROMOTION[name]
    got, expected = fn(mt), fn(torch)
    assert repr(got.dtype) == str(expected.dtype)
    assert_close(got._data, expected.numpy(), name, **TOL[np.float32])


def test_default_dtype_changes_promotion():
    prev = mt.get_default_dtype()
    try:
        mt.set_default_dtype(mt.float64)
        torch.set_default_dtype(torch.float64)
        for name in ["int64 + 2.5", "int64 / int64", "exp(int64)", "tensor([1, 2.5])"]:
            got, expected = PROMOTION[name](mt), PROMOTION[name](torch)
            assert repr(got.dtype) == str(expected.dtype) == "torch.float64", name
    finally:
        mt.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)


# ---- the same exception class for common misuses ---------------------------------------------

def _backward_twice(l):
    x = l.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _grad_unused(l):
    x, z = l.ones(2, requires_grad=True), l.ones(2, requires_grad=True)
    l.autograd.grad((x * 2).sum(), [x, z])


def _requires_grad_false_on_non_leaf(l):
    y = l.ones(2, requires_grad=True) * 2
    y.requires_grad = False


def _modified_saved_tensor(l):
    x = l.ones(2, requires_grad=True)
    y = x * 2
    z = y * y
    y.add_(1)
    z.sum().backward()


MISUSES = {
    "add broadcast mismatch": lambda l: l.ones(2, 3) + l.ones(4),
    "mul broadcast mismatch": lambda l: l.mul(l.ones(2, 3), l.ones(4)),
    "where broadcast mismatch": lambda l: l.where(l.ones(2, 3) > 0, l.ones(2, 3), l.ones(4)),
    "maximum broadcast mismatch": lambda l: l.maximum(l.ones(2), l.ones(3)),
    "matmul shape mismatch": lambda l: l.ones(2, 3) @ l.ones(2, 3),
    "mm of 1-D": lambda l: l.mm(l.ones(2), l.ones(2)),
    "matmul of 0-d": lambda l: l.matmul(l.tensor(1.0), l.ones(2)),
    "matmul mixed dtypes": lambda l: l.ones(2, 2) @ l.ones(2, 2, dtype=l.float64),
    "bmm batch mismatch": lambda l: l.bmm(l.ones(2, 2, 3), l.ones(3, 3, 2)),
    "dot length mismatch": lambda l: l.dot(l.ones(2), l.ones(3)),
    "batched matmul batch mismatch": lambda l: l.ones(2, 2, 3) @ l.ones(3, 3, 2),
    "in-place broadcast into smaller": lambda l: l.ones(3).add_(l.ones(2, 3)),
    "in-place int <- float": lambda l: l.ones(3, dtype=l.int64).add_(l.ones(3)),
    "setitem shape mismatch": lambda l: l.ones(2, 3).__setitem__(0, l.ones(4)),
    "sum bad dim": lambda l: l.ones(3).sum(dim=2),
    "softmax bad dim": lambda l: l.softmax(l.ones(3), dim=2),
    "transpose bad dim": lambda l: l.ones(2).transpose(0, 2),
    "squeeze bad dim": lambda l: l.ones(2, 3).squeeze(3),
    "unsqueeze bad dim": lambda l: l.ones(2).unsqueeze(3),
    "cat bad dim": lambda l: l.cat([l.ones(2), l.ones(2)], dim=1),
    "cat size mismatch": lambda l: l.cat([l.ones(2, 2), l.ones(2, 3)]),
    "cat of 0-d": lambda l: l.cat([l.tensor(1.0), l.tensor(2.0)]),
    "stack size mismatch": lambda l: l.stack([l.ones(2), l.ones(3)]),
    "view incompatible strides": lambda l: l.ones(2, 3).t().view(-1),
    "reshape wrong numel": lambda l: l.ones(2, 3).reshape(4),
    "reshape two -1": lambda l: l.ones(2, 3).reshape(-1, -1),
    "expand non-singleton": lambda l: l.ones(2, 3).expand(4, 3),
    "permute wrong length": lambda l: l.ones(2, 3).permute(0),
    "unflatten wrong sizes": lambda l: l.ones(6).unflatten(0, (4, 2)),
    "index out of range": lambda l: l.ones(3)[5],
    "float tensor as index": lambda l: l.ones(3)[l.tensor([0.0])],
    "too many indices": lambda l: l.ones(3)[0, 0],
    "backward twice": _backward_twice,
    "backward on non-scalar": lambda l: (l.ones(2, requires_grad=True) * 2).backward(),
    "backward without grad": lambda l: l.ones(2).sum().backward(),
    "backward with wrong grad shape": lambda l: (l.ones(2, requires_grad=True) * 2).backward(
        l.ones(3)),
    "autograd.grad unused input": _grad_unused,
    "in-place on leaf requiring grad": lambda l: l.ones(2, requires_grad=True).add_(1),
    "setitem on leaf requiring grad": lambda l: l.ones(2, requires_grad=True).__setitem__(0, 1.0),
    "saved tensor modified in place": _modified_saved_tensor,
    "requires_grad on int tensor": lambda l: l.ones(2, dtype=l.int64).requires_grad_(),
    "requires_grad=False on non-leaf": _requires_grad_false_on_non_leaf,
    "numpy() on requires_grad": lambda l: l.ones(2, requires_grad=True).numpy(),
    "item() on many elements": lambda l: l.ones(2).item(),
    "item() on no elements": lambda l: l.ones(0).item(),
    "bool() of many elements": lambda l: bool(l.ones(2)),
    "len() of 0-d": lambda l: len(l.tensor(1.0)),
    "iter() of 0-d": lambda l: iter(l.tensor(1.0)),
    "bool - bool": lambda l: l.ones(2, dtype=l.bool) - l.ones(2, dtype=l.bool),
    "-bool": lambda l: -l.tensor([True]),
    "int ** negative int": lambda l: l.tensor([2]) ** -1,
    "mean of int": lambda l: l.tensor([1, 2]).mean(),
    "var of int": lambda l: l.tensor([1, 2]).var(),
    "softmax of int": lambda l: l.softmax(l.tensor([1, 2]), 0),
    "clamp without bounds": lambda l: l.clamp(l.ones(2)),
    "ragged nested list": lambda l: l.tensor([[1, 2], [3]]),
    "tensor from str": lambda l: l.tensor("a"),
    "negative size": lambda l: l.zeros((2, -3)),
    "where condition not bool": lambda l: l.where(l.ones(2), l.ones(2), l.ones(2)),
    "~float": lambda l: ~l.ones(2),
    "int // 0": lambda l: l.tensor([1]) // 0,
    "int % 0": lambda l: l.tensor([1]) % 0,
    "max of empty": lambda l: l.max(l.ones(0)),
    "amax of empty": lambda l: l.ones(0).amax(),
    "argmax of empty": lambda l: l.ones(0).argmax(),
}


def _builtin_class(err: BaseException) -> type:
    """The first builtin exception class of `err` (PyTorch raises some private subclasses)."""
    for cls in type(err).__mro__:
        if cls.__module__ == "builtins":
            return cls
    return Exception


def _raised(fn, lib) -> type | None:
    try:
        fn(lib)
    except Exception as err:  # noqa: BLE001 - the exception class is what is compared
        return _builtin_class(err)
    return None


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", list(MISUSES))
def test_same_exception_as_torch(name):
    expected = _raised(MISUSES[name], torch)
    assert expected is not None, "the misuse must raise in PyTorch"
    assert _raised(MISUSES[name], mt) is expected

