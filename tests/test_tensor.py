"""Unit tests of the Tensor class: dtypes, factories, attributes and methods, printing,
Python protocols, random seeds, indexing, item assignment and in-place ops.

Expected strings and values are PyTorch 2.13's (written out, so these tests do not need
torch installed).
"""
import copy
import pickle
import warnings

import numpy as np
import pytest

import microtorch as mt

# ---- dtypes ------------------------------------------------------------------------------

def test_dtype_objects():
    assert mt.float is mt.float32 and mt.double is mt.float64 and mt.long is mt.int64
    assert mt.half is mt.float16 and mt.int is mt.int32 and mt.short is mt.int16
    assert repr(mt.float32) == "torch.float32" and str(mt.int64) == "torch.int64"
    assert mt.float32.is_floating_point and not mt.int64.is_floating_point
    assert mt.float64.itemsize == 8


def test_default_dtype():
    assert mt.get_default_dtype() is mt.float32
    try:
        mt.set_default_dtype(mt.float64)
        assert mt.tensor([1.5]).dtype == mt.float64 and mt.zeros(1).dtype == mt.float64
    finally:
        mt.set_default_dtype(mt.float32)
    with pytest.raises(TypeError):
        mt.set_default_dtype(mt.int64)


@pytest.mark.parametrize("a, b, expected", [
    (mt.int64, mt.float32, mt.float32),
    (mt.int32, mt.int64, mt.int64),
    (mt.uint8, mt.int8, mt.int16),
    (mt.bool, mt.int32, mt.int32),
    (mt.float16, mt.float64, mt.float64),
])
def test_promotion_of_tensors(a, b, expected):
    x, y = mt.ones(2, dtype=a), mt.ones(2, dtype=b)
    assert (x + y).dtype == expected and (y + x).dtype == expected


def test_promotion_with_zero_dim_and_python_scalars():
    f32, i64 = mt.ones(2), mt.ones(2, dtype=mt.int64)
    assert (f32 + mt.tensor(1.0, dtype=mt.float64)).dtype == mt.float32   # same category
    assert (i64 + mt.tensor(1.5)).dtype == mt.float32                     # higher category
    assert (i64 + 1).dtype == mt.int64 and (i64 * 1.5).dtype == mt.float32
    assert (f32 * 2).dtype == mt.float32
    assert (mt.ones(2, dtype=mt.bool) + 1).dtype == mt.int64
    assert (i64 / 2).dtype == mt.float32


# ---- factories -----------------------------------------------------------------------------

@pytest.mark.parametrize("data, dtype", [
    ([1.0, 2.0], mt.float32), (1.5, mt.float32), ([1, 2], mt.int64), (3, mt.int64),
    ([True, False], mt.bool), (True, mt.bool), ([1, 2.5], mt.float32), ([True, 2], mt.int64),
    ([[1, 2], [3, 4]], mt.int64), (np.array([1.0]), mt.float64),
    (np.array([1], dtype=np.int32), mt.int32), (np.float64(2.0), mt.float64),
])
def test_tensor_infers_dtype(data, dtype):
    assert mt.tensor(data).dtype == dtype


def test_tensor_copies_its_data():
    arr = np.array([1.0, 2.0])
    t = mt.tensor(arr)
    arr[0] = 9.0
    assert t.tolist() == [1.0, 2.0]


def test_tensor_from_python_floats_keeps_float64_precision():
    assert mt.tensor([0.1], dtype=mt.float64).item() == 0.1
    assert mt.tensor(0.1, dtype=mt.float64).item() == 0.1


def test_from_numpy_shares_memory():
    arr = np.array([1.0, 2.0, 3.0])
    t = mt.from_numpy(arr)
    assert t.dtype == mt.float64
    arr[0] = 7.0
    assert t[0].item() == 7.0
    t.add_(1)
    assert arr[1] == 3.0
    with pytest.raises(TypeError):
        mt.from_numpy([1.0])


def test_numpy_shares_memory_and_refuses_requires_grad():
    t = mt.zeros(3)
    arr = t.numpy()
    arr[1] = 5.0
    assert t[1].item() == 5.0
    x = mt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0, 1.0]


def test_as_tensor_shares_when_it_can():
    arr = np.ones(2, dtype=np.float32)
    assert np.shares_memory(mt.as_tensor(arr).numpy(), arr)
    assert mt.as_tensor(arr, dtype=mt.float64).dtype == mt.float64


@pytest.mark.parametrize("make, shape, dtype", [
    (lambda: mt.zeros(2, 3), (2, 3), mt.float32),
    (lambda: mt.ones((2, 3)), (2, 3), mt.float32),
    (lambda: mt.empty(4), (4,), mt.float32),
    (lambda: mt.full((2,), 3), (2,), mt.int64),
    (lambda: mt.full((2,), 1.5), (2,), mt.float32),
    (lambda: mt.full((2,), True), (2,), mt.bool),
    (lambda: mt.arange(5), (5,), mt.int64),
    (lambda: mt.arange(0, 1, 0.25), (4,), mt.float32),
    (lambda: mt.linspace(0, 1, 5), (5,), mt.float32),
    (lambda: mt.eye(3), (3, 3), mt.float32),
    (lambda: mt.eye(2, 3, dtype=mt.int64), (2, 3), mt.int64),
    (lambda: mt.rand(2, 2), (2, 2), mt.float32),
    (lambda: mt.randn(3, dtype=mt.float64), (3,), mt.float64),
    (lambda: mt.randint(0, 5, (3,)), (3,), mt.int64),
    (lambda: mt.randperm(4), (4,), mt.int64),
    (lambda: mt.zeros_like(mt.ones(2, dtype=mt.int32)), (2,), mt.int32),
    (lambda: mt.ones_like(mt.ones(2), dtype=mt.float64), (2,), mt.float64),
    (lambda: mt.full_like(mt.ones(2), 7), (2,), mt.float32),
    (lambda: mt.randn_like(mt.ones(1, 2)), (1, 2), mt.float32),
    (lambda: mt.zeros(()), (), mt.float32),
    (lambda: mt.zeros(0, 2), (0, 2), mt.float32),
])
def test_factories(make, shape, dtype):
    t = make()
    assert t.shape == shape and t.dtype == dtype and t.is_leaf and not t.requires_grad


def test_factory_values():
    assert mt.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert mt.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    assert mt.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert sorted(mt.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    r = mt.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1


def test_factories_with_requires_grad():
    assert mt.zeros(2, requires_grad=True).requires_grad
    assert mt.tensor([1.0], requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        mt.tensor([1], requires_grad=True)


def test_manual_seed_reproducibility():
    mt.manual_seed(1234)
    a = (mt.randn(5), mt.rand(3), mt.randint(0, 100, (4,)), mt.randperm(6))
    mt.manual_seed(1234)
    b = (mt.randn(5), mt.rand(3), mt.randint(0, 100, (4,)), mt.randperm(6))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    assert mt.initial_seed() == 1234
    assert mt.randn(5).tolist() != a[0].tolist()


def test_generator_and_rng_state():
    g = mt.Generator().manual_seed(7)
    first = mt.randn(3, generator=g).tolist()
    assert mt.randn(3, generator=mt.Generator().manual_seed(7)).tolist() == first
    state = mt.get_rng_state()
    x = mt.rand(4).tolist()
    mt.set_rng_state(state)
    assert mt.rand(4).tolist() == x


# ---- attributes and methods ------------------------------------------------------------------

def test_metadata():
    t = mt.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, mt.Size) and isinstance(t.shape, tuple)
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == 3 and t.ndim == 3 and t.ndimension() == 3
    assert t.numel() == 24 and t.nelement() == 24 and mt.numel(t) == 24
    assert t.dtype == mt.float32 and str(t.device) == "cpu" and t.device.type == "cpu"
    assert t.stride() == (12, 4, 1) and t.is_contiguous() and t.element_size() == 4
    assert t.is_floating_point() and mt.is_floating_point(t) and mt.is_tensor(t)
    assert not t.requires_grad and t.grad is None and t.grad_fn is None and t.is_leaf
    with pytest.raises(IndexError):
        t.size(3)


def test_item_and_tolist():
    assert mt.tensor([[2.5]]).item() == 2.5 and isinstance(mt.tensor(3).item(), int)
    assert isinstance(mt.tensor(True).item(), bool)
    assert mt.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert mt.tensor(1.5).tolist() == 1.5
    with pytest.raises(RuntimeError, match="2 elements"):
        mt.ones(2).item()


def test_T_and_mT():
    t = mt.arange(6).reshape(2, 3)
    assert t.T.shape == (3, 2) and t.T.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert mt.zeros(4, 2, 3).mT.shape == (4, 3, 2)


def test_detach_clone_contiguous():
    x = mt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and np.shares_memory(d.numpy(), x.detach().numpy())
    c = x.clone()
    assert c.grad_fn is not None and not np.shares_memory(c.detach().numpy(),
                                                          x.detach().numpy())
    t = x.detach().t()
    assert not t.is_contiguous() and t.contiguous().is_contiguous()
    assert x.contiguous() is x


def test_requires_grad_():
    x = mt.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad


@pytest.mark.parametrize("method, dtype", [
    ("float", mt.float32), ("double", mt.float64), ("half", mt.float16), ("long", mt.int64),
    ("int", mt.int32), ("bool", mt.bool),
])
def test_conversion_methods(method, dtype):
    t = mt.tensor([0.0, 1.5, -2.5])
    out = getattr(t, method)()
    assert out.dtype == dtype
    expected = {"long": [0, 1, -2], "int": [0, 1, -2], "bool": [False, True, True]}
    assert out.tolist() == expected.get(method, [0.0, 1.5, -2.5])


def test_to_cpu_type_as_and_type():
    t = mt.ones(2)
    assert t.to(mt.float64).dtype == mt.float64 and t.to("cpu") is t and t.cpu() is t
    assert t.to(device="cpu", dtype=mt.int64).dtype == mt.int64
    assert t.to(mt.float32) is t and t.to(mt.float32, copy=True) is not t
    assert t.type_as(mt.ones(1, dtype=mt.int32)).dtype == mt.int32
    assert t.type() == "torch.FloatTensor" and t.type(mt.int64).dtype == mt.int64
    assert mt.ones(1, dtype=mt.int64).type() == "torch.LongTensor"


def test_new_factories_follow_the_tensor():
    t = mt.ones(2, dtype=mt.float64)
    assert t.new_zeros(3).dtype == mt.float64 and t.new_ones(2, 2).shape == (2, 2)
    assert t.new_full((2,), 5).tolist() == [5.0, 5.0]
    assert t.new_tensor([1, 2]).dtype == mt.float64


# ---- grad_fn names (PyTorch 2.13's) ------------------------------------------------------

def _x():
    return mt.from_numpy(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).requires_grad_()


GRAD_FN_NAMES = {
    "MulBackward0": lambda x: x * x, "AddBackward0": lambda x: x + x,
    "SubBackward0": lambda x: x - 1, "RsubBackward1": lambda x: 2 - x,
    "DivBackward0": lambda x: x / x, "NegBackward0": lambda x: -x,
    "PowBackward0": lambda x: x ** 2, "PowBackward1": lambda x: x ** x,
    "PowBackward2": lambda x: 2 ** x, "ExpBackward0": lambda x: x.exp(),
    "LogBackward0": lambda x: x.log(), "SqrtBackward0": lambda x: x.sqrt(),
    "AbsBackward0": lambda x: x.abs(), "ReluBackward0": lambda x: mt.relu(x),
    "SigmoidBackward0": lambda x: mt.sigmoid(x), "TanhBackward0": lambda x: mt.tanh(x),
    "SumBackward0": lambda x: x.sum(), "MeanBackward0": lambda x: x.mean(),
    "VarBackward0": lambda x: x.var(), "StdBackward0": lambda x: x.std(),
    "AmaxBackward0": lambda x: x.amax(0), "LogsumexpBackward0": lambda x: x.logsumexp(0),
    "MmBackward0": lambda x: x @ x.T, "DotBackward0": lambda x: x[0] @ x[1],
    "ViewBackward0": lambda x: x.view(-1), "TransposeBackward0": lambda x: x.transpose(0, 1),
    "PermuteBackward0": lambda x: x.T, "UnsqueezeBackward0": lambda x: x.unsqueeze(0),
    "ExpandBackward0": lambda x: x[None].expand(2, 2, 3), "RepeatBackward0": lambda x: x.repeat(
        2, 1), "CloneBackward0": lambda x: x.clone(), "CatBackward0": lambda x: mt.cat([x, x]),
    "StackBackward0": lambda x: mt.stack([x, x]),
    "WhereBackward0": lambda x: mt.where(x > 2, x, x * 2), "SelectBackward0": lambda x: x[0],
    "IndexBackward0": lambda x: x[[0, 0]], "SoftmaxBackward0": lambda x: mt.softmax(x, 1),
    "LogSoftmaxBackward0": lambda x: mt.log_softmax(x, 1),
    "ClampBackward1": lambda x: x.clamp(0, 1), "MaximumBackward0": lambda x: mt.maximum(x, x),
    "ToCopyBackward0": lambda x: x.float(), "Log1PBackward0": lambda x: x.log1p(),
    "MaxBackward1": lambda x: x.max(), "MaxBackward0": lambda x: x.max(0)[0],
    "MulBackward0 (scalar)": lambda x: x * 2, "DivBackward0 (scalar)": lambda x: x / 2,
    "MulBackward0 (2 / x)": lambda x: 2 / x, "SumBackward1": lambda x: x.sum(0),
    "MeanBackward1": lambda x: x.mean(0), "MvBackward0": lambda x: x @ x[0],
    "UnsafeViewBackward0": lambda x: x[None] @ x.T[None],
    "ViewBackward0 (reshape)": lambda x: x.reshape(-1),
    "UnsafeViewBackward0 (reshape copy)": lambda x: x.T.reshape(-1),
    "TBackward0": lambda x: x.t(), "SqueezeBackward1": lambda x: x[None].squeeze(0),
    "SliceBackward0": lambda x: x[:, 1:], "MaskedFillBackward0": lambda x: x.masked_fill(
        x > 2, 0.0), "ZeroBackward0": lambda x: (x * 1).zero_(),
    "FillBackward2": lambda x: (x * 1).fill_(1.0),
    "CopySlices": lambda x: _set_first_row(x * 1),
}


def _set_first_row(h):
    h[0] = 1.0
    return h


@pytest.mark.parametrize("name", list(GRAD_FN_NAMES))
def test_grad_fn_names_are_pytorchs(name):
    out = GRAD_FN_NAMES[name](_x())
    assert out.grad_fn.name() == name.split(" ")[0] == type(out.grad_fn).__name__


# ---- printing -------------------------------------------------------------------------------

REPRS = {
    "tensor([ 1.0000,  2.5000, -3.0000])": lambda: mt.tensor([1.0, 2.5, -3.0]),
    "tensor([ 1.,  2., -3.])": lambda: mt.tensor([1.0, 2.0, -3.0]),
    "tensor([ 1,  2, -3])": lambda: mt.tensor([1, 2, -3]),
    "tensor([ True, False])": lambda: mt.tensor([True, False]),
    "tensor([1.5000, 2.0000], dtype=torch.float64)": lambda: mt.tensor(
        np.array([1.5, 2.0])),
    "tensor(3.2500)": lambda: mt.tensor(3.25),
    "tensor(7)": lambda: mt.tensor(7),
    "tensor([])": lambda: mt.tensor([]),
    "tensor([], size=(0, 3))": lambda: mt.zeros(0, 3),
    "tensor([], dtype=torch.int64)": lambda: mt.zeros(0, dtype=mt.int64),
    "tensor([[0.0000, 0.1429, 0.2857],\n        [0.4286, 0.5714, 0.7143]])":
        lambda: mt.arange(6.0).reshape(2, 3) / 7,
    "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])":
        lambda: mt.arange(8).reshape(2, 2, 2),
    "tensor([1., 1.], requires_grad=True)": lambda: mt.ones(2, requires_grad=True),
    "tensor([2., 2.], grad_fn=<MulBackward0>)": lambda: mt.ones(2, requires_grad=True) * mt.tensor(
        [2.0, 2.0]),
    "tensor([1.0000e-05, 1.0000e+00])": lambda: mt.tensor([1e-5, 1.0]),
    "tensor([1.0000e+10, 1.0000e+00])": lambda: mt.tensor([1e10, 1.0]),
    "tensor([   nan,    inf,   -inf, 1.5000])": lambda: mt.tensor([np.nan, np.inf, -np.inf,
                                                                  1.5]),
    "tensor([1.5000], dtype=torch.float16)": lambda: mt.tensor([1.5], dtype=mt.float16),
    "tensor([1], dtype=torch.int32)": lambda: mt.tensor([1], dtype=mt.int32),
    "tensor([1], dtype=torch.uint8)": lambda: mt.tensor([1], dtype=mt.uint8),
    "tensor([1.0000e-10])": lambda: mt.tensor([1e-10]),
    "tensor([], size=(2, 0, 1), dtype=torch.float64)": lambda: mt.zeros(2, 0, 1,
                                                                        dtype=mt.float64),
    ("tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
     "        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n"
     "        36, 37, 38, 39])"): lambda: mt.arange(40),
    "tensor([nan, 1.])": lambda: mt.tensor([np.nan, 1.0]),
    "tensor([-0., 1.])": lambda: mt.tensor([-0.0, 1.0]),
    "tensor([1.0000e+00, 2.0000e+03])": lambda: mt.tensor([1.0, 2000.0]),
    ("tensor([[   0,    1,    2,  ...,   27,   28,   29],\n"
     "        [  30,   31,   32,  ...,   57,   58,   59],\n"
     "        [  60,   61,   62,  ...,   87,   88,   89],\n"
     "        ...,\n"
     "        [2910, 2911, 2912,  ..., 2937, 2938, 2939],\n"
     "        [2940, 2941, 2942,  ..., 2967, 2968, 2969],\n"
     "        [2970, 2971, 2972,  ..., 2997, 2998, 2999]])"):
        lambda: mt.arange(3000).reshape(100, 30),
}

@pytest.mark.parametrize("expected", list(REPRS))
def test_repr_as_torch_prints(expected):
    t = REPRS[expected]()
    assert repr(t) == expected and str(t) == expected


def test_format_of_0d_tensors():
    t = mt.tensor(3.14159)
    assert f"{t:.3f}" == "3.142" and f"{mt.tensor(42):>5}" == "   42"
    assert f"{mt.ones(2)}" == str(mt.ones(2))


# ---- Python protocols ----------------------------------------------------------------------

def test_len_iter_bool():
    t = mt.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    rows = list(t)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    assert bool(mt.tensor([1.0])) and not bool(mt.tensor(0))
    with pytest.raises(TypeError):
        len(mt.tensor(1.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mt.ones(2))
    assert float(mt.tensor([2.5])) == 2.5 and int(mt.tensor(3.7)) == 3
    assert [10, 20, 30][mt.tensor(1)] == 20


def test_comparisons_return_bool_tensors():
    a, b = mt.tensor([1, 2, 3]), mt.tensor([3, 2, 1])
    for op, expected in [("__eq__", [False, True, False]), ("__ne__", [True, False, True]),
                         ("__lt__", [True, False, False]), ("__le__", [True, True, False]),
                         ("__gt__", [False, False, True]), ("__ge__", [False, True, True])]:
        out = getattr(a, op)(b)
        assert out.dtype == mt.bool and out.tolist() == expected
    assert (a == 2).tolist() == [False, True, False]
    assert mt.equal(a, mt.tensor([1, 2, 3])) and not mt.equal(a, b)
    assert mt.allclose(mt.tensor([1.0]), mt.tensor([1.0 + 1e-9]))


def test_logical_ops_on_bool_tensors():
    a, b = mt.tensor([True, False]), mt.tensor([True, True])
    assert (a & b).tolist() == [True, False] and (a | b).tolist() == [True, True]
    assert (a ^ b).tolist() == [False, True] and (~a).tolist() == [False, True]


def test_logical_not_of_a_float_tensor():
    assert mt.logical_not(mt.tensor([0.0, 2.0])).tolist() == [True, False]


def test_hash_is_identity():
    a, b = mt.ones(1), mt.ones(1)
    assert len({a, b}) == 2 and a in {a}


def test_deepcopy_and_pickle():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    y = copy.deepcopy(x)
    assert y.tolist() == [1.0, 2.0] and y.requires_grad and y.grad.tolist() == [2.0, 2.0]
    assert not np.shares_memory(y.detach().numpy(), x.detach().numpy())
    z = pickle.loads(pickle.dumps(x))
    assert z.tolist() == [1.0, 2.0] and z.requires_grad
    with pytest.raises(RuntimeError):
        copy.deepcopy(x * 2)


# ---- indexing -------------------------------------------------------------------------------

BASE = np.arange(24.0).reshape(2, 3, 4)
INDICES = {
    "int": 1, "negative int": -1, "tuple": (1, 2), "slice": slice(0, 2),
    "step": (slice(None), slice(None, None, 2)), "None": (None, 0), "Ellipsis": (Ellipsis, 1),
    "ellipsis middle": (0, Ellipsis, 3), "mixed": (1, slice(1, None), None, -1),
    "list": [1, 0, 1], "nested list": ([0, 1], [2, 0]), "mask": BASE > 10,
    "mask on dim 0": np.array([True, False]), "int array": np.array([[0, 1], [1, 0]]),
    "empty slice": slice(5, 10), "int tensor": "tensor",
}


@pytest.mark.parametrize("name", list(INDICES))
def test_getitem_matches_numpy(name):
    index = INDICES[name]
    t = mt.from_numpy(BASE.copy())
    if isinstance(index, str):
        got, expected = t[mt.tensor([1, 0])], BASE[[1, 0]]
    elif isinstance(index, np.ndarray) and index.dtype == bool:
        got, expected = t[mt.from_numpy(index)], BASE[index]
    else:
        got, expected = t[index], BASE[index]
    assert got.shape == expected.shape
    assert np.array_equal(got.numpy(), expected)


def test_basic_indexing_returns_a_view():
    t = mt.zeros(3, 4)
    v = t[1:, ::2]
    v.fill_(5.0)
    assert t.tolist()[1] == [5.0, 0.0, 5.0, 0.0]
    assert np.shares_memory(t[0].numpy(), t.numpy())


def test_advanced_indexing_copies():
    t = mt.zeros(3)
    c = t[[0, 1]]
    c.fill_(1.0)
    assert t.tolist() == [0.0, 0.0, 0.0]


def test_indexing_gradients_accumulate_on_repeated_indices():
    x = mt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x[[0, 0, 2, 0]] * mt.tensor([1.0, 2.0, 3.0, 4.0])
    y.sum().backward()
    assert x.grad.tolist() == [7.0, 0.0, 3.0]
    x.grad = None
    x[mt.tensor([1, 1])].sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 0.0]
    x.grad = None
    (x[x > 1.5] * 2).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 2.0]
    x.grad = None
    (x[1:] * 3).sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 3.0]


def test_indexing_errors():
    t = mt.zeros(2, 3)
    with pytest.raises(IndexError):
        t[2]
    with pytest.raises(IndexError):
        t[0, 0, 0]
    with pytest.raises(IndexError):
        t[mt.tensor([0.0])]
    with pytest.raises(ValueError):
        t[::-1]


# ---- item assignment -----------------------------------------------------------------------

@pytest.mark.parametrize("index, value", [
    (0, 7.0), ((1, 2), 7.0), (slice(None), np.array([1.0, 2.0, 3.0])),
    ((slice(None), 1), np.array([5.0, 6.0])), ([0, 1], 9.0),
    (np.array([[True, False, True], [False, True, False]]), -1.0),
    ((Ellipsis, -1), np.array([1.0, 2.0])), ((None, 1), np.array([[4.0, 5.0, 6.0]])),
])
def test_setitem_matches_numpy(index, value):
    arr = np.zeros((2, 3))
    t = mt.from_numpy(arr.copy())
    key = mt.from_numpy(index) if isinstance(index, np.ndarray) else index
    t[key] = mt.from_numpy(value) if isinstance(value, np.ndarray) else value
    arr[index] = value
    assert np.array_equal(t.numpy(), arr)


def test_setitem_casts_to_the_tensor_dtype():
    t = mt.zeros(3, dtype=mt.int64)
    t[0] = 2.7
    assert t.tolist() == [2, 0, 0] and t.dtype == mt.int64


def test_setitem_shape_mismatch_raises():
    with pytest.raises(RuntimeError):
        mt.zeros(2, 3)[0] = mt.ones(4)


# ---- in-place ops ---------------------------------------------------------------------------

def test_in_place_arithmetic():
    t = mt.tensor([1.0, 2.0, 3.0])
    assert t.add_(1) is t and t.tolist() == [2.0, 3.0, 4.0]
    t.sub_(mt.tensor([1.0, 1.0, 1.0]), alpha=2)
    t.mul_(2)
    t.div_(4)
    assert t.tolist() == [0.0, 0.5, 1.0]
    t += 1
    t -= 0.5
    t *= 2
    t /= 2
    assert t.tolist() == [0.5, 1.0, 1.5]


def test_in_place_fill_copy_clamp():
    t = mt.zeros(2, 2)
    t.fill_(3.0)
    assert t.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    t.copy_(mt.tensor([1.0, -1.0]))
    assert t.tolist() == [[1.0, -1.0], [1.0, -1.0]]
    t.clamp_(min=0.0)
    assert t.tolist() == [[1.0, 0.0], [1.0, 0.0]]
    t.zero_()
    assert t.sum().item() == 0.0
    mt.manual_seed(0)
    t.uniform_(2.0, 3.0)
    assert 2.0 <= t.min().item() and t.max().item() <= 3.0
    t.normal_()


def test_in_place_errors():
    with pytest.raises(RuntimeError):
        mt.ones(3, dtype=mt.int64).add_(mt.ones(3))           # float into int
    with pytest.raises(RuntimeError):
        mt.ones(3, dtype=mt.int64).div_(2)
    with pytest.raises(RuntimeError):
        mt.ones(3).add_(mt.ones(2, 3))                        # cannot grow
    with pytest.raises(RuntimeError, match="leaf Variable"):
        mt.ones(2, requires_grad=True).mul_(2)
    with pytest.raises(RuntimeError):
        mt.clamp(mt.ones(2))


def test_in_place_bumps_the_version_under_no_grad():
    x = mt.ones(2, requires_grad=True)
    y = x * 1
    z = y.exp()                                               # saves its output
    with mt.no_grad():
        z.mul_(2)
    with pytest.raises(RuntimeError, match="inplace"):
        z.sum().backward()


# ---- reductions on 0-d tensors ---------------------------------------------------------

@pytest.mark.parametrize("fn, expected", [
    (lambda t: t.sum(dim=0), 2.0), (lambda t: t.mean(dim=-1), 2.0),
    (lambda t: t.amax(dim=0), 2.0), (lambda t: t.var(dim=0, correction=0), 0.0),
    (lambda t: mt.logsumexp(t, dim=0), 2.0),
], ids=["sum", "mean", "amax", "var", "logsumexp"])
def test_reduction_with_dim_on_0d_tensor(fn, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(mt.tensor(2.0))
    assert out.shape == () and out.item() == expected
