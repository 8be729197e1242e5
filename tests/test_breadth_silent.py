"""Regression tests for silent differences from PyTorch found by running teaching code:
the dtype `torch.tensor` infers, tensor printing, the warning of float() on a tensor that
requires grad, and DataLoader workers in a script without a `__main__` guard."""
from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import microtorch as mt
from microtorch import _tensor


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# ---- dtype of torch.tensor(data) --------------------------------------------------------

class ArrayLike:
    """An object exposing its values through __array__ only (like a pandas Series)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


class SeriesLike(ArrayLike):
    """A sequence with a numpy dtype: what pandas' Series looks like to torch.tensor."""

    @property
    def dtype(self):
        return self.values.dtype

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i):
        return self.values[i]


def test_array_likes_keep_their_numpy_dtype(torch):
    for values in (np.array([1.5, 2.5]), np.array([1, 2], dtype=np.int32),
                   np.array([1.0], dtype=np.float16)):
        assert mt.tensor(ArrayLike(values)).dtype.name == values.dtype.name
        got, want = mt.tensor(SeriesLike(values)), torch.tensor(SeriesLike(values))
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_pandas_series_keeps_float64():
    pd = pytest.importorskip("pandas")
    assert mt.tensor(pd.Series([0.5, 1.5])).dtype == mt.float64
    assert mt.tensor(pd.Series([1, 2])).dtype == mt.int64


SEQUENCES = {
    "numpy float64 scalars": lambda l: [np.float64(1.5)],
    "numpy int32 scalars": lambda l: [np.int32(1)],
    "numpy int32 scalar": lambda l: np.int32(1),
    "numpy float32 scalar": lambda l: np.float32(1.5),
    "python float then float64": lambda l: [1.5, np.float64(2.0)],
    "float16 then python float": lambda l: [np.float16(2.0), 1.5],
    "float16 then python int": lambda l: [np.float16(2.0), 1],
    "uint8 then python int": lambda l: [np.uint8(2), 1],
    "uint8 and int8": lambda l: [np.uint8(2), np.int8(1)],
    "uint8 and bool": lambda l: [np.uint8(2), True],
    "nested float32 and float": lambda l: [[np.float32(1.0)], [1.5]],
    "int32 array and ints": lambda l: [np.array([1, 2], dtype=np.int32), [1, 2]],
    "float64 tensor and float": lambda l: [l.tensor(1.5, dtype=l.float64), 1.5],
    "python floats": lambda l: [[1.0, 2.0], [3.0, 4.5]],
    "python ints": lambda l: [1, 2, 3],
    "bools": lambda l: [True, False],
    "range": lambda l: range(4),
    "empty": lambda l: [],
    "float": lambda l: 2.5,
}


@pytest.mark.parametrize("name", SEQUENCES)
def test_inferred_dtype_matches_torch(torch, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # torch's "list of numpy.ndarrays" warning
        want = torch.tensor(SEQUENCES[name](torch))
    got = mt.tensor(SEQUENCES[name](mt))
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


# ---- printing ---------------------------------------------------------------------------

def _arrays() -> list:
    rng = np.random.default_rng(0)
    return [
        np.array([1e5, 2.5]), np.array([12345.678, 1.5]), np.array([1e8, 1.0]),
        np.array([1e9, 1.0]), np.array([123456789.0, 0.5]), np.array([1e-5, 1.0]),
        np.array([1e-4, 0.5]), np.array([1.0, 1000.0]), np.array([0.5, 1001.0]),
        np.array([100000.0, 1.0]), np.array([1234567.0, 2.0]), np.array([99999.5, 1.0]),
        np.array([math.nan, 1.0]), np.array([math.inf, -math.inf, 1.5]),
        np.array([1.0, math.nan, 1e9]), np.array([1e20, 0.0]), np.array([0.0, -0.0]),
        np.array(3.14159), np.array(1e10), np.array(-0.5), np.array([1e-10]),
        np.array([5e-5, 6e-5]), np.array([-1e-5, 3.0]), np.array([123.456, 0.001]),
        rng.standard_normal((3, 4)), rng.standard_normal((2, 3, 4)) * 1000,
        rng.standard_normal(2000), rng.standard_normal((40, 40)), rng.standard_normal((2, 2000)),
        rng.standard_normal((3, 1100)), np.arange(1001.0), np.arange(12.0).reshape(3, 4) * 1e6,
        rng.standard_normal(30) * 1e4, np.arange(30).reshape(5, 6) * 10.1,
        np.zeros((0, 3)), np.zeros(0), np.zeros((2, 0)),
        np.arange(2000), np.array([True, False]), np.array([-5, 100000000000]),
        np.array([1, 2], dtype=np.int32), np.array([1.5, 2.5], dtype=np.float16),
    ]


def test_repr_matches_torch_on_a_table_of_arrays(torch):
    mismatches = []
    for a in _arrays():
        dtypes = (np.float32, np.float64) if a.dtype.kind == "f" and a.dtype != np.float16 \
            else (a.dtype,)
        for dt in dtypes:
            b = a.astype(dt)
            ours, theirs = repr(mt.from_numpy(b.copy())), repr(torch.from_numpy(b.copy()))
            if ours != theirs:
                mismatches.append((ours, theirs))
    assert not mismatches, mismatches[:3]


def test_repr_suffixes_match_torch(torch):
    values = np.random.default_rng(1).standard_normal((3, 7)).tolist()
    for make in (lambda l: l.tensor(values[0], requires_grad=True),
                 lambda l: l.tensor(values, dtype=l.float64, requires_grad=True) * 2,
                 lambda l: l.tensor(3.5, requires_grad=True),
                 lambda l: l.zeros(2, 0, dtype=l.float64),
                 lambda l: l.tensor([], dtype=l.int32)):
        assert repr(make(mt)) == repr(make(torch))


@pytest.mark.parametrize("options", [dict(precision=2), dict(sci_mode=True),
                                     dict(sci_mode=False), dict(profile="short"),
                                     dict(threshold=5, edgeitems=1), dict(linewidth=40),
                                     dict(profile="full")], ids=str)
def test_set_printoptions_matches_torch(torch, options):
    rng = np.random.default_rng(2)
    arrays = [np.array([1e5, 2.5, 3.25]), rng.standard_normal(30) * 100, np.arange(20.0),
              np.array([math.nan, 1e-7]), rng.standard_normal((4, 5, 6))]
    try:
        mt.set_printoptions(**options)
        torch.set_printoptions(**options)
        for a in arrays:
            assert repr(mt.tensor(a)) == repr(torch.tensor(a))
    finally:
        mt.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


# ---- float() of a tensor that requires grad -----------------------------------------------

def _warnings_of(action) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [str(w.message) for w in caught]


def test_float_of_a_tensor_requiring_grad_warns_once_like_torch():
    """PyTorch 2.13 warns (once per process, from C++'s TORCH_WARN_ONCE) for float(),
    math functions and other __float__ conversions of a tensor that requires grad under
    grad mode, and never for item(), int(), tolist() or bool()."""
    _tensor._scalar_warning["given"] = False
    x = mt.randn(1, requires_grad=True)
    y = (x * 2).sum()
    quiet = [lambda: y.item(), lambda: int(y), lambda: y.tolist(), lambda: bool(y),
             lambda: float(y.detach()), lambda: float(mt.ones(1))]
    for action in quiet:
        assert _warnings_of(action) == []
    with mt.no_grad():
        assert _warnings_of(lambda: float(y)) == []
    first = _warnings_of(lambda: float(y))
    assert first == ["Converting a tensor with requires_grad=True to a scalar may lead to "
                     "unexpected behavior.\nConsider using tensor.detach() first."]
    assert _warnings_of(lambda: math.exp(x)) == []             # once per process


# ---- DataLoader workers without a __main__ guard ----------------------------------------

def test_dataloader_workers_run_a_script_without_main_guard(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent("""
        import microtorch as torch
        from microtorch.utils.data import DataLoader, Dataset

        torch.relu(torch.randn(1_000_000))              # OpenMP threads in the parent
        (torch.randn(200, 200) @ torch.randn(200, 200)).sum()   # and BLAS threads


        class Work(Dataset):
            def __len__(self):
                return 6

            def __getitem__(self, i):
                big = torch.full((1_000_000,), float(i))
                m = torch.ones(100, 100) @ torch.ones(100, 100)
                return torch.relu(big).sum() / 1e6 + m[0, 0] * 0


        loader = DataLoader(Work(), batch_size=2, num_workers=2, timeout=60,
                            collate_fn=lambda b: [float(v) for v in b])
        print("batches", list(loader))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("batches") == 1                # the script ran exactly once
    assert "batches [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]" in done.stdout
