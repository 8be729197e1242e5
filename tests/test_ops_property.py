"""Property tests over the op registry: coverage, forward values, float32 vs float64.

For every registry case, hypothesis draws shapes (0-d, size-0 and size-1 dims,
mutually broadcastable shapes, non-contiguous layouts) and values from the op's domain:

- the float64 forward matches the numpy reference declared in the registry;
- float32 and float64 agree within float32 tolerance, for values and gradients, on the
  same (float32-representable) inputs.

Gradients are checked against finite differences in test_gradcheck.py and against
PyTorch in test_ops_parity.py.
"""
import importlib
import inspect
import types

import numpy as np
import pytest
from registry import (
    CASES,
    NOT_FUNCTIONAL_OPS,
    NOT_OPS,
    NOT_TENSOR_OPS,
    OPS,
    draw_inputs,
    params,
    run_examples,
)

import microtorch as mt

# ---- the registry covers every op ---------------------------------------------------------

def _public_callables(module, names) -> set:
    """Names of functions among `names` (classes, modules and dtypes are not ops)."""
    out = set()
    for name in names:
        obj = getattr(module, name, None)
        if name.startswith("_") or not callable(obj):
            continue
        if isinstance(obj, (type, types.ModuleType, mt.dtype)):
            continue
        out.add(name)
    return out


def _covered(namespace: str) -> set:
    prefix = f"{namespace}." if namespace else ""
    return {op.api[len(prefix):] for op in OPS
            if op.api.startswith(prefix) and "." not in op.api[len(prefix):]}


def test_registry_complete():
    """Every public op of `microtorch` has a registry entry (or an allow-listed reason)."""
    names = _public_callables(mt, dir(mt))
    covered = _covered("")
    functions = {getattr(mt, n) for n in covered}
    missing = sorted(n for n in names
                     if n not in covered and n not in NOT_OPS and getattr(mt, n) not in functions)
    assert not missing, (f"ops without a registry entry in tests/registry.py: {missing}. Add an "
                         "Op(...) line (or, if it is not an op, a reason in NOT_OPS).")


def test_tensor_methods_complete():
    """Every public Tensor method/property is an op of the registry or allow-listed.

    A method that calls the registered function of the same name (defined in _tensor.py as a
    one-line entry to that op) is covered by the function's entry."""
    names = [n for n in dir(mt.Tensor) if not n.startswith("_")]
    covered_methods = _covered("Tensor")
    covered_functions = {n for n in _covered("") if hasattr(mt, n)}
    static = inspect.getattr_static
    covered_objects = {id(static(mt.Tensor, n)) for n in covered_methods | covered_functions
                       if hasattr(mt.Tensor, n)}
    missing = [n for n in names
               if n not in covered_methods and n not in NOT_TENSOR_OPS
               and n not in covered_functions and id(static(mt.Tensor, n)) not in covered_objects]
    assert not missing, (f"Tensor methods without a registry entry: {missing}. Add an "
                         "Op('Tensor.<name>', ...) line or a reason in NOT_TENSOR_OPS.")


def test_nn_functional_complete():
    """Every function of `microtorch.nn.functional` has a registry entry (once it exists)."""
    try:
        F = importlib.import_module("microtorch.nn.functional")
    except ImportError:
        pytest.skip("microtorch.nn.functional does not exist yet")
    names = getattr(F, "__all__", None) or [n for n in dir(F) if not n.startswith("_")]
    names = {n for n in _public_callables(F, names)
             if getattr(getattr(F, n), "__module__", "").startswith("microtorch")}
    missing = sorted(names - _covered("nn.functional") - set(NOT_FUNCTIONAL_OPS))
    assert not missing, (f"nn.functional ops without a registry entry: {missing}. Add an "
                         "Op('nn.functional.<name>', ...) line or a reason in "
                         "NOT_FUNCTIONAL_OPS.")


def test_allow_lists_name_existing_things():
    """Stale allow-list entries hide nothing but confuse readers: each must still exist."""
    assert not [n for n in NOT_OPS if not hasattr(mt, n)]
    assert not [n for n in NOT_TENSOR_OPS if not hasattr(mt.Tensor, n)]


def test_registry_is_well_formed():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "two registry cases share an id"
    kinds = {"gradcheck", "ref", "f32", "parity", "invariants"}
    for op in OPS:
        assert op.ref is not None, f"{op.id} has no numpy reference"
        assert set(op.known_bugs) <= kinds and set(op.skip) <= kinds, op.id
        if isinstance(op.domain, tuple):
            assert len(op.domain) == op.nargs, op.id
    available = [op for op in OPS if op.available()]
    assert len(available) >= 100


# ---- forward values and float32/float64 agreement -------------------------------------------

F32 = {"rtol": 1.3e-6, "atol": 1e-5}


def outputs(result) -> tuple:
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def assert_same_values(got: np.ndarray, expected: np.ndarray, what: str, rtol, atol) -> None:
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    if got.dtype.kind in "biu" or expected.dtype.kind in "biu":
        assert np.array_equal(got, expected), f"{what}: {got} != {expected}"
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=what)


@pytest.mark.parametrize("case", params("ref"))
def test_forward_matches_numpy(case):
    def body(data):
        inputs = draw_inputs(data, case)
        got = outputs(case.run(mt, *inputs))
        expected = outputs(case.ref(*[np.array(t._data) for t in inputs]))
        assert len(got) == len(expected)
        for k, (g, e) in enumerate(zip(got, expected)):
            e = np.asarray(e)
            assert g.dtype.np.kind == e.dtype.kind, f"output {k}: dtype {g.dtype} vs {e.dtype}"
            assert_same_values(g._data, e, f"output {k}", rtol=1e-9, atol=1e-12)

    run_examples(case, "ref", body)


def _as(t: mt.Tensor, np_dtype, requires_grad: bool) -> mt.Tensor:
    """The same values and memory layout in another dtype, as a fresh leaf."""
    out = mt.from_numpy(t._data.astype(np_dtype, order="K"))
    return out.requires_grad_() if requires_grad else out


@pytest.mark.parametrize("case", params("f32"))
def test_float32_agrees_with_float64(case):
    tol = case.op.f32_tol or F32
    diff = case.op.differentiable

    def body(data):
        drawn = draw_inputs(data, case)
        x32 = [_as(t, np.float32, diff) for t in drawn]
        x64 = [_as(t, np.float64, diff) for t in x32]       # exactly the float32 values
        out32, out64 = outputs(case.run(mt, *x32)), outputs(case.run(mt, *x64))
        for k, (a, b) in enumerate(zip(out32, out64)):
            if b.dtype == mt.float64 and not case.op.fixed_dtype:
                assert a.dtype == mt.float32, f"output {k}: float32 inputs gave {a.dtype}"
            elif b.dtype != mt.float64:
                assert a.dtype == b.dtype, f"output {k}: {a.dtype} vs {b.dtype}"
            assert_same_values(a._data.astype(np.float64) if a.dtype.is_floating_point
                               else a._data, b._data, f"output {k}", **tol)
        if not diff or not out64[0].requires_grad:
            return
        rng = np.random.default_rng(0)
        cot = rng.standard_normal(out64[0].shape).astype(np.float32)
        g32 = mt.autograd.grad(out32[0], x32, mt.from_numpy(cot.astype(out32[0].dtype.np)),
                               allow_unused=True)
        g64 = mt.autograd.grad(out64[0], x64, mt.from_numpy(cot.astype(out64[0].dtype.np)),
                               allow_unused=True)
        for i, (a, b) in enumerate(zip(g32, g64)):
            assert (a is None) == (b is None), f"gradient {i} missing in one dtype"
            if a is not None:
                assert a.dtype == mt.float32 and b.dtype == mt.float64
                assert_same_values(a._data.astype(np.float64), b._data, f"gradient {i}", **tol)

    run_examples(case, "f32", body)

