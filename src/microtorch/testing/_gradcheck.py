"""`gradcheck`: compare autograd's gradients with central finite differences.

For a function f of some tensors, the Jacobian J (one row per output element, one column
per input element) is computed twice:

- numerically, a column at a time: J[:, j] ~ (f(x + eps e_j) - f(x - eps e_j)) / (2 eps),
  perturbing one element of one input's storage (`_data`) and restoring it afterwards;
- analytically, a row at a time: the backward pass with a one-hot `grad_output` gives
  e_iᵀ J, the gradient of output element i with respect to every input.

With `fast_mode=True` only a few random projections vᵀ J u are compared: two forward
passes per input and one backward pass per output for each projection, instead of two
per input element and one per output element.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad, no_grad

FAST_MODE_PROBES = 3
"""How many random (u, v) pairs `fast_mode` compares."""

_SHOW_JACOBIAN_MAX = 64
"""Jacobians with at most this many elements are printed in full in the error message."""


class GradcheckError(RuntimeError):
    """Raised by `gradcheck` when analytic and numerical gradients disagree."""


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              fast_mode: bool = False, *, raise_exception: bool = True) -> bool:
    """Check the gradients of `fn` at `inputs` against central finite differences.

    Args:
        fn: a function of the inputs returning a Tensor or a tuple of Tensors. Outputs
            that are not floating point (indices, masks) are not differentiated.
        inputs: a Tensor or a tuple of arguments for `fn`. Tensors with
            `requires_grad=True` are checked and must be float64; other arguments are
            passed to `fn` unchanged.
        eps: the finite-difference step.
        atol, rtol: an analytic value `a` matches a numerical value `n` when
            |a - n| <= atol + rtol * |n|.
        fast_mode: compare random projections vᵀ J u instead of the full Jacobian.
        raise_exception: raise `GradcheckError` on a mismatch (else return False).

    Returns:
        True when every checked gradient matches.

    Raises:
        GradcheckError: naming the worst element: the input index and position, the
            output index and position, and the analytic and numerical values.
        ValueError: when no input requires grad, a checked input is not float64, or its
            storage cannot be perturbed element by element (expanded, read-only).
    """
    args = inputs if isinstance(inputs, tuple) else (
        tuple(inputs) if isinstance(inputs, list) else (inputs,))
    checked = _checked_inputs(args)
    check = _fast_check if fast_mode else _full_check
    failure = check(fn, args, checked, eps, atol, rtol)
    if failure is None:
        return True
    if raise_exception:
        raise GradcheckError(failure)
    return False


# ---- inputs and outputs ---------------------------------------------------------------

def _checked_inputs(args: tuple) -> list[tuple[int, Tensor]]:
    """(argument index, tensor) of every input that requires grad, after validation."""
    checked = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")
    for i, t in checked:
        data = t._data
        if data.dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {i} requires grad but has dtype {t.dtype}; finite "
                "differences are only accurate enough in float64 (pass `x.double()`)."
            )
        overlapping = data.size > 1 and any(s == 0 and n > 1 for s, n in
                                            zip(data.strides, data.shape))
        if overlapping or not data.flags.writeable:
            raise ValueError(
                f"gradcheck: input {i} has a dimension with stride 0 or read-only storage "
                "(an expanded view?); gradcheck perturbs each element of the storage "
                "separately, so pass a copy (`x.clone().detach().requires_grad_()`)."
            )
    return checked


def _as_outputs(result) -> tuple:
    """`fn`'s result as a tuple (a single Tensor becomes a 1-tuple)."""
    if isinstance(result, Tensor):
        return (result,)
    if isinstance(result, (tuple, list)):
        return tuple(result)
    raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, "
                    f"not {type(result).__name__}")


def _differentiable(outputs: tuple) -> list[int]:
    """Indices of the floating-point tensor outputs (the ones with gradients)."""
    return [k for k, o in enumerate(outputs) if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def _evaluate(fn, args: tuple, out_idx: list[int]) -> list[np.ndarray]:
    """The differentiable outputs of fn(*args) as flat float64 copies (no graph)."""
    with no_grad():
        outputs = _as_outputs(fn(*args))
    return [np.array(outputs[k]._data, dtype=np.float64).reshape(-1) for k in out_idx]


# ---- full Jacobians ---------------------------------------------------------------------

def _full_check(fn, args, checked, eps, atol, rtol) -> str | None:
    with enable_grad():
        outputs = _as_outputs(fn(*args))
    out_idx = _differentiable(outputs)
    analytic = _analytic_jacobians(outputs, out_idx, checked)
    worst = None
    for j, (i, t) in enumerate(checked):
        numeric = _numeric_jacobians(fn, args, t, out_idx, eps)
        for n, k in enumerate(out_idx):
            found = _worst(analytic[j][n], numeric[n], atol, rtol)
            if found is not None and (worst is None or found[0] > worst[0]):
                worst = found + (i, t, k, outputs[k], analytic[j][n], numeric[n])
    if worst is None:
        return None
    _, (row, col), i, t, k, out, a, n = worst
    in_pos = np.unravel_index(col, t._data.shape) if t._data.ndim else ()
    out_pos = np.unravel_index(row, out._data.shape) if out._data.ndim else ()
    msg = (
        f"Jacobian mismatch for output {k} with respect to input {i}.\n"
        f"Worst element: input {i} at position {_pos(in_pos)}, output {k} at position "
        f"{_pos(out_pos)}:\n"
        f"  analytic:  {float(a[row, col])!r}\n"
        f"  numerical: {float(n[row, col])!r}\n"
        f"(eps={eps}, atol={atol}, rtol={rtol}; rows are output elements, columns input "
        "elements)"
    )
    if a.size <= _SHOW_JACOBIAN_MAX:
        msg += f"\nanalytic Jacobian:\n{a}\nnumerical Jacobian:\n{n}"
    return msg


def _analytic_jacobians(outputs, out_idx, checked) -> list[list[np.ndarray]]:
    """jac[j][n]: d output out_idx[n] / d checked input j, one backward per output element."""
    tensors = [t for _, t in checked]
    jac = [[np.zeros((outputs[k]._data.size, t._data.size)) for k in out_idx] for t in tensors]
    for n, k in enumerate(out_idx):
        out = outputs[k]
        if not out.requires_grad:
            continue                       # constant output: its Jacobian is zero
        if out._data.size == 0:
            _check_empty_backward(out, tensors, [i for i, _ in checked])
        for row in range(out._data.size):
            onehot = np.zeros(out._data.shape, dtype=out._data.dtype)
            onehot.reshape(-1)[row] = 1
            grads = _autograd_grad(out, tensors, grad_outputs=Tensor._wrap(onehot),
                                   retain_graph=True, allow_unused=True)
            for j, g in enumerate(grads):
                if g is not None:
                    _check_grad_shape(g, tensors[j], checked[j][0])
                    jac[j][n][row] = g._data.reshape(-1)
    return jac


def _check_empty_backward(out: Tensor, tensors: list, arg_index: list) -> None:
    """An output without elements has no Jacobian rows, but backward must still run and
    give every input a zero gradient of its own shape."""
    empty = Tensor._wrap(np.zeros(out._data.shape, dtype=out._data.dtype))
    try:
        grads = _autograd_grad(out, tensors, grad_outputs=empty, retain_graph=True,
                               allow_unused=True)
    except Exception as err:
        raise GradcheckError(f"backward of an output with no elements (shape "
                             f"{tuple(out._data.shape)}) raised {type(err).__name__}: {err}") \
            from err
    for g, t, i in zip(grads, tensors, arg_index):
        if g is not None:
            _check_grad_shape(g, t, i)
            if np.any(g._data != 0):
                raise GradcheckError(f"input {i} got a non-zero gradient from an output with "
                                     "no elements")


def _check_grad_shape(g: Tensor, t: Tensor, i: int) -> None:
    if g._data.shape != t._data.shape:
        raise GradcheckError(f"gradient of input {i} has shape {tuple(g._data.shape)}, "
                             f"but the input has shape {tuple(t._data.shape)}")


def _numeric_jacobians(fn, args, t: Tensor, out_idx, eps) -> list[np.ndarray]:
    """jac[n]: central differences of output out_idx[n], one column per element of t."""
    data = t._data
    jac = None
    for col, pos in enumerate(np.ndindex(data.shape)):
        orig = data[pos]
        try:
            data[pos] = orig + eps
            plus = _evaluate(fn, args, out_idx)
            data[pos] = orig - eps
            minus = _evaluate(fn, args, out_idx)
        finally:
            data[pos] = orig
        if jac is None:
            jac = [np.zeros((p.size, data.size)) for p in plus]
        for n, k in enumerate(out_idx):
            if not jac[n].shape[0] == plus[n].size == minus[n].size:
                raise GradcheckError(
                    f"output {k} changed its number of elements when an input element at "
                    f"position {_pos(pos)} moved by eps={eps}: a data-dependent shape (e.g. "
                    "masked indexing) too close to a threshold; keep inputs away from it"
                )
            jac[n][:, col] = (plus[n] - minus[n]) / (2 * eps)
    if jac is None:                        # an input without elements: no columns
        jac = [np.zeros((o.size, 0)) for o in _evaluate(fn, args, out_idx)]
    return jac


def _worst(a: np.ndarray, n: np.ndarray, atol, rtol):
    """(excess, (row, col)) of the element furthest outside tolerance, or None."""
    if a.size == 0:
        return None
    with np.errstate(invalid="ignore"):
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
    excess = np.where(np.isnan(excess), np.inf, excess)
    flat = int(np.argmax(excess))
    if excess.reshape(-1)[flat] <= 0:
        return None
    return float(excess.reshape(-1)[flat]), np.unravel_index(flat, a.shape)


def _pos(pos) -> str:
    return str(tuple(int(p) for p in pos))


# ---- fast mode: random projections -------------------------------------------------------

def _fast_check(fn, args, checked, eps, atol, rtol) -> str | None:
    rng = np.random.default_rng(0)
    with enable_grad():
        outputs = _as_outputs(fn(*args))
    out_idx = _differentiable(outputs)
    arg_index = [i for i, _ in checked]
    tensors = [t for _, t in checked]
    for probe in range(FAST_MODE_PROBES):
        us = [_unit(rng, t._data.shape) for t in tensors]
        vs = [_unit(rng, outputs[k]._data.shape) for k in out_idx]
        analytic = _analytic_projections(outputs, out_idx, tensors, arg_index, us, vs)
        for j, (i, t) in enumerate(checked):
            if t._data.size == 0:
                continue                   # no direction to perturb in
            derivs = _directional_derivatives(fn, args, t, us[j], out_idx, eps)
            for n, k in enumerate(out_idx):
                num = float(np.dot(vs[n].reshape(-1), derivs[n]))
                ana = analytic[j][n]
                if not abs(ana - num) <= atol + rtol * abs(num):
                    return (
                        f"Jacobian mismatch for output {k} with respect to input {i} "
                        f"(fast mode, random projection {probe}: vᵀ J u with unit random u "
                        f"over input {i} and v over output {k}):\n"
                        f"  analytic:  {ana!r}\n  numerical: {num!r}\n"
                        f"(eps={eps}, atol={atol}, rtol={rtol}); rerun with fast_mode=False "
                        "to find the worst element"
                    )
    return None


def _unit(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    v = rng.standard_normal(shape)
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def _analytic_projections(outputs, out_idx, tensors, arg_index, us, vs) -> list[list[float]]:
    """proj[j][n] = vs[n]ᵀ J(out n, input j) us[j], one backward per output."""
    proj = [[0.0] * len(out_idx) for _ in tensors]
    for n, k in enumerate(out_idx):
        out = outputs[k]
        if not out.requires_grad or out._data.size == 0:
            continue
        v = Tensor._wrap(vs[n].astype(out._data.dtype))
        grads = _autograd_grad(out, tensors, grad_outputs=v, retain_graph=True,
                               allow_unused=True)
        for j, g in enumerate(grads):
            if g is not None:
                _check_grad_shape(g, tensors[j], arg_index[j])
                proj[j][n] = float(np.sum(g._data * us[j]))
    return proj


def _directional_derivatives(fn, args, t: Tensor, u: np.ndarray, out_idx, eps):
    """(f(x + eps u) - f(x - eps u)) / (2 eps) for each output, flat."""
    data = t._data
    orig = data.copy()
    try:
        data[...] = orig + eps * u
        plus = _evaluate(fn, args, out_idx)
        data[...] = orig - eps * u
        minus = _evaluate(fn, args, out_idx)
    finally:
        data[...] = orig
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
