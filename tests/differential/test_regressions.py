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


# ---- dtypes PyTorch refuses: bool inputs, float bitwise ops, integer division by zero ----

def _b(lib):
    return lib.tensor([True, False])


def _bm(lib):
    return lib.ones(2, 2, dtype=lib.bool)


REFUSED = {
    "abs(bool)": lambda l: l.abs(_b(l)),
    "relu(bool)": lambda l: l.relu(_b(l)),
    "F.relu(bool, inplace)": lambda l: l.nn.functional.relu(_b(l), inplace=True),
    "F.leaky_relu(int)": lambda l: l.nn.functional.leaky_relu(l.tensor([1, -2])),
    "F.hardtanh(bool)": lambda l: l.nn.functional.hardtanh(_b(l)),
    "float - bool": lambda l: l.tensor([1.0]) - _b(l),
    "1 - bool": lambda l: 1 - _b(l),
    "bool - 1": lambda l: _b(l) - 1,
    "bool.sub_(1)": lambda l: _b(l).sub_(1),
    "argmax(bool)": lambda l: _b(l).argmax(),
    "argmin(bool, dim)": lambda l: _b(l).argmin(0),
    "bool ** bool": lambda l: _b(l) ** _b(l),
    "True ** bool": lambda l: True ** _b(l),
    "bool % True": lambda l: _b(l) % True,
    "bool // bool": lambda l: _b(l) // _b(l),
    "div(bool, trunc)": lambda l: l.div(_b(l), _b(l), rounding_mode="trunc"),
    "bool @ bool": lambda l: _bm(l) @ _bm(l),
    "bool mv": lambda l: _bm(l) @ _b(l),
    "bool bmm": lambda l: _bm(l)[None].bmm(_bm(l)[None]),
    "bool dot": lambda l: _b(l).dot(_b(l)),
    "topk(bool)": lambda l: _b(l).topk(1),
    "empty bool dot": lambda l: l.zeros(0, dtype=l.bool) @ l.zeros(0, dtype=l.bool),
    "argmax(0-d, dim=-2)": lambda l: l.tensor(1.0).argmax(dim=-2),
    "round(bool)": lambda l: _b(l).round(),
    "floor_(bool)": lambda l: _b(l).floor_(),
    "float & float": lambda l: l.tensor([1.0]) & l.tensor([2.0]),
    "1 ^ float": lambda l: 1 ^ l.tensor([2.0]),
    "~float": lambda l: ~l.tensor([2.0]),
    "bitwise_not(float)": lambda l: l.bitwise_not(l.tensor([2.0])),
    "int % 0": lambda l: l.tensor([1, 0]) % 0,
    "5 % int": lambda l: 5 % l.tensor([1, 0]),
    "int // int": lambda l: l.tensor([1, 0]) // l.tensor([1, 0]),
    "div(int, floor) by 0": lambda l: l.div(l.tensor([3]), l.tensor([0]), rounding_mode="floor"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_dtypes_raise_pytorchs_error(name):
    errors = []
    for lib in (mt, torch):
        with pytest.raises(Exception) as info:
            REFUSED[name](lib)
        errors.append((type(info.value).__name__, str(info.value)))
    assert errors[0] == errors[1]


ACCEPTED = {
    "bool ** True": lambda l: _b(l) ** True,
    "bool ** False": lambda l: _b(l) ** False,
    "2 ** bool": lambda l: 2 ** _b(l),
    "float % bool": lambda l: l.tensor([1.5]) % l.tensor([True]),
    "int // 0.0": lambda l: l.tensor([5, 0]) // 0.0,
    "int % 0.0": lambda l: l.tensor([5]) % 0.0,
    "empty int // 0": lambda l: l.zeros(0, dtype=l.int64) // 0,
    "int ** negative int": lambda l: l.tensor([-3, -1, 0, 1, 2, -1]) ** l.tensor([-1, -3, -2, -5, -1, -2]),
    "hardtanh(int)": lambda l: l.nn.functional.hardtanh(l.tensor([3, -4])),
    "empty bool mm": lambda l: l.zeros(3, 0, dtype=l.bool).mm(l.zeros(0, 3, dtype=l.bool)),
    "bool (3, 1) @ (1, 0)": lambda l: l.ones(3, 1, dtype=l.bool) @ l.zeros(1, 0, dtype=l.bool),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", list(ACCEPTED))
def test_accepted_dtypes_match_pytorch(name):
    assert str(_outcome(ACCEPTED[name], mt)) == str(_outcome(ACCEPTED[name], torch))


# ---- %=, //=, **= are in place; in-place results cast back as PyTorch does -----------------

def _in_place_program(lib, op):
    x = lib.tensor([3.0, -5.0], requires_grad=True)
    w = lib.tensor([2.0, 3.0], requires_grad=True)
    y = x * 1
    r = op(y, w)
    assert r is y
    name = r.grad_fn.name() if callable(r.grad_fn.name) else r.grad_fn.name
    try:
        r.sum().backward()
    except RuntimeError as err:
        return r.tolist(), name, str(err)
    return r.tolist(), name, x.grad.tolist(), None if w.grad is None else w.grad.tolist()


def _imod(y, w):
    y %= w
    return y


def _ifloordiv(y, w):
    y //= 2
    return y


def _ipow(y, w):
    y **= w
    return y


@pytest.mark.parametrize("op", [_imod, _ifloordiv, _ipow,
                                lambda y, w: y.remainder_(2), lambda y, w: y.pow_(2),
                                lambda y, w: y.floor_divide_(w),
                                lambda y, w: y.div_(w, rounding_mode="floor")])
def test_augmented_assignments_are_in_place_with_pytorchs_graph(op):
    ours, theirs = _in_place_program(mt, op), _in_place_program(torch, op)
    assert ours[:2] == theirs[:2] and len(ours) == len(theirs)
    for a, b in zip(ours[2:], theirs[2:]):
        if a is None or isinstance(a, str):
            assert a == b
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6)


IN_PLACE = {
    "leaf %= 2": lambda l: l.tensor([1.0], requires_grad=True).__imod__(2),
    "int %= 2.5": lambda l: l.tensor([5]).__imod__(2.5),
    "int //= 0": lambda l: l.tensor([5]).__ifloordiv__(0),
    "int **= 2": lambda l: l.tensor([5, 7]).__ipow__(2),
    "int **= -1": lambda l: l.tensor([5]).__ipow__(-1),
    "bool **= 2": lambda l: l.tensor([True]).__ipow__(2),
    "0-d int **= itself": lambda l: l.tensor(-4).__ipow__(l.tensor(-4)),
    "0-d **= 1-d": lambda l: l.tensor(5).pow_(l.tensor([1, 2])),
    "f32 += f64": lambda l: l.tensor([1.5]).__iadd__(l.tensor([1e-9], dtype=l.float64)),
    "f32 **= f64": lambda l: l.tensor([2.0]).__ipow__(l.tensor([2.0], dtype=l.float64)),
    "f16 *= f32": lambda l: l.tensor([1.5], dtype=l.float16).__imul__(l.tensor([2.0])),
    "int += bool": lambda l: l.tensor([1]).__iadd__(l.tensor([True])),
    "bool += int": lambda l: l.tensor([True]).__iadd__(l.tensor([1])),
    "f32.clamp_min_(f64)": lambda l: l.tensor([1.5, -2.0]).clamp_min_(l.tensor([0.5], dtype=l.float64)),
    "f32.hypot_(f64)": lambda l: l.tensor([3.0]).hypot_(l.tensor([4.0], dtype=l.float64)),
    "f32.addcmul_(f64, f64)": lambda l: l.tensor([1.0]).addcmul_(l.tensor([2.0], dtype=l.float64),
                                                                 l.tensor([3.0], dtype=l.float64)),
    "int.div_(int, floor)": lambda l: l.tensor([7, -7]).div_(l.tensor([2]), rounding_mode="floor"),
    "bool.div_(f32, trunc)": lambda l: l.tensor([True]).div_(l.tensor(2.0), rounding_mode="trunc"),
    "expanded.add_(1)": lambda l: l.tensor([1.0]).expand(3).add_(1),
    "expanded.div_(floor)": lambda l: l.tensor([1.0]).expand(3).div_(2.0, rounding_mode="floor"),
    "expanded.clamp_(0)": lambda l: l.tensor([1.0]).expand(3).clamp_(0),
    "expanded.sin_()": lambda l: l.tensor([1.0]).expand(3).sin_(),
    "expanded.copy_(x)": lambda l: l.tensor([True]).expand(2).copy_(l.tensor(True)),
}


@pytest.mark.parametrize("name", list(IN_PLACE))
def test_in_place_casts_and_checks_match_pytorch(name):
    assert _outcome(IN_PLACE[name], mt) == _outcome(IN_PLACE[name], torch)


def test_floor_divide_and_number_remainder_record_a_node_without_derivative():
    for expr in (lambda x: x // 2, lambda x: 5 % x):
        outs = []
        for lib in (mt, torch):
            r = expr(lib.tensor([3.0, 4.0], requires_grad=True))
            with pytest.raises(RuntimeError) as info:
                r.sum().backward()
            outs.append((r.requires_grad, r.grad_fn.name(), repr(r), str(info.value)))
        assert outs[0] == outs[1]
