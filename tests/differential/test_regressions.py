"""Regression tests for differences the differential tester found (and that were fixed)."""
from __future__ import annotations

import numpy as np
import pytest

import microtorch as mt

torch = pytest.importorskip("torch")


def _outcome(fn, lib):
    """fn(lib) as (value as a list, dtype name) or the builtin exception class raised."""
    try:
        r = fn(lib)
    except Exception as err:  # noqa: BLE001 - the class is what is compared
        return next(c for c in type(err).__mro__ if c.__module__ == "builtins")
    if hasattr(r, "dtype"):
        return np.asarray(r.detach().numpy() if hasattr(r, "detach") else r).tolist(), \
            str(r.dtype).replace("torch.", "")
    return r


# ---- a Tensor's data is always an ndarray (0-d results of numpy ufuncs are scalars) ------

ZERO_D = {
    "neg": lambda x: -x,
    "exp": lambda x: x.exp(),
    "isfinite": lambda x: x.isfinite(),
    "bitwise_not": lambda x: (x > 0).bitwise_not(),
    "std of 1-d": lambda x: x.reshape(1).std(correction=0),
}


@pytest.mark.parametrize("name", list(ZERO_D))
def test_0d_results_are_ndarrays_and_writable(name):
    r = ZERO_D[name](mt.tensor(2.0))
    assert type(r._data) is np.ndarray and r._data.shape == ()
    r[()] = 1
    r.fill_(1)
    assert r.view(1).shape == (1,)


def test_0d_result_in_place_ops_match_pytorch():
    def program(lib):
        r = -lib.tensor(1.5)
        r.add_(1)
        r.mul_(4)
        r[None] = r * 2
        return r
    assert _outcome(program, mt) == _outcome(program, torch)


# ---- detach() is not a view for autograd ----------------------------------------------------

def test_in_place_op_on_detached_tensor_records_its_own_graph():
    results = []
    for lib in (mt, torch):
        x = lib.tensor([2.5, 1.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        y = x * 2
        v = y.detach()
        v.mul_(w)
        assert y.grad_fn.name() == "MulBackward0" and v.grad_fn.name() == "MulBackward0"
        assert v._base is None if lib is mt else not v._is_view()
        v.sum().backward()
        results.append((w.grad.tolist(), x.grad))
    assert results[0] == results[1] == ([5.0, 2.0], None)


@pytest.mark.parametrize("lib", [mt, torch], ids=["microtorch", "torch"])
def test_detached_tensor_shares_the_version_counter(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * y                       # saves y
    y.detach().add_(1)              # changes y's values: backward through z must refuse
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# ---- operators and methods defined on Tensor --------------------------------------------

CASES = {
    "2 % x": lambda l: 2 % l.tensor([1.5, -2.5, 4.0]),
    "-1 % int": lambda l: -1 % l.tensor([3, -2]),
    "True & bool": lambda l: True & l.tensor([True, False]),
    "0 | int": lambda l: 0 | l.tensor([2, 5]),
    "3 ^ int": lambda l: 3 ^ l.tensor([1, 2]),
    "+bool": lambda l: +l.tensor([True]),
    "+float": lambda l: +l.tensor([1.5]),
    "0-d .mT": lambda l: l.tensor(2.0).mT,
    "1-d .mT": lambda l: l.ones(2).mT,
    "view()": lambda l: l.ones(2).view(),
    "reshape()": lambda l: l.ones(2).reshape(),
    "permute() of 0-d": lambda l: l.tensor(1.0).permute(),
    "expand()": lambda l: l.ones(2).expand(),
    "repeat()": lambda l: l.ones(2).repeat(),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", list(CASES))
def test_operator_and_method_forms_match_pytorch(name):
    assert _outcome(CASES[name], mt) == _outcome(CASES[name], torch)


def test_0d_mT_is_the_tensor_itself():
    x = mt.tensor(2.0, requires_grad=True) * 3
    assert x.mT is x
