"""The `Optimizer` base class: parameter groups, per-parameter state, state_dict.

Subclasses validate their hyper-parameters, pass them as `defaults`, and implement
`step()`: for each group, read the hyper-parameters once, collect the parameters with
a gradient (making their state on first use), then update them through the kernels of
`microtorch._kernels._optim`, which update the parameters' storages in place; each
update bumps the parameter's version counter, as PyTorch's in-place updates do.

Two paths, chosen per group by PyTorch's `foreach`/`fused` flags (`_one_call`): by
default one ``*_step_foreach`` kernel call updates the whole group; with
``foreach=False`` or ``fused=False`` one ``*_step`` call per parameter (`_update`).
Both run the same per-element loop, so their results are bit-identical.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from .._dtype import default_np
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter every group must set (`defaults={'lr': required}`)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

_KERNEL_DTYPES = frozenset({np.dtype(np.float32), np.dtype(np.float64)})


def _typename(obj) -> str:
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, of `(name, Tensor)` pairs, or of dicts, each
            dict a parameter group: ``{'params': [...], 'lr': ..., ...}``; a group's
            missing hyper-parameters are filled in from `defaults`.
        defaults: the optimizer's hyper-parameters and their default values.
    """

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ---- parameter groups ------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own hyper-parameters, to optimize."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        named = [isinstance(p, tuple) for p in params]
        if any(named):
            if not all(named):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        param_group["params"] = params

        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not self.defaults.get("differentiable", None) and not (
                p.grad_fn is None or p._retains_grad
            ):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set(chain.from_iterable(g["params"] for g in self.param_groups))
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients and steps ---------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to None by default)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g._requires_grad = False
                if g._data.flags.writeable:
                    g._data[...] = 0
                else:                               # e.g. a broadcast view
                    g._data = np.zeros(g._data.shape, g._data.dtype)
                g._version[0] += 1

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step; `closure` re-evaluates the model and returns the loss."""
        raise NotImplementedError

    @staticmethod
    def _closure_loss(closure: Callable[[], Any] | None):
        """The closure's loss, evaluated with gradients enabled (steps run without them)."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ---- state_dict ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as ``{'state': {index: {...}}, 'param_groups': [...]}``.

        Parameters are replaced by their index over all groups, in order; state tensors
        are returned as they are (not copied), as in PyTorch.
        """
        index: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a `state_dict()`; state tensors are cast to their parameter's dtype."""
        saved_groups = deepcopy(state_dict["param_groups"])
        groups = self.param_groups
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = {key: _cast_state(param, key, value) for key, value in v.items()}
            else:
                state[k] = v
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for group in self.param_groups:          # saves from older versions may lack new keys
            for name, default in self.defaults.items():
                if default is not required:
                    group.setdefault(name, default)

    def __repr__(self) -> str:
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _cast_state(param: Tensor, key: str, value):
    """A loaded state value made usable for `param`: tensors other than `step` take the
    parameter's dtype (and are made contiguous for the kernels); same-dtype contiguous
    tensors are kept, not copied, as PyTorch does."""
    if isinstance(value, Tensor):
        if key == "step":
            return value
        data = value._data
        if data.dtype != param._data.dtype or not data.flags.c_contiguous:
            return Tensor._wrap(np.ascontiguousarray(data, dtype=param._data.dtype))
        return value
    if isinstance(value, dict):
        return {k: _cast_state(param, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, key, v) for v in value)
    return value


# ---- helpers for the subclasses' step() ------------------------------------------------
def _zeros(p: Tensor) -> Tensor:
    """A zero state buffer shaped like `p`, C-contiguous (the kernels need that)."""
    return Tensor._wrap(np.zeros(p._data.shape, p._data.dtype))


def _step_tensor(value: float = 0.0) -> Tensor:
    """A 0-d `step` counter in the default float dtype, as PyTorch stores it."""
    return Tensor._wrap(np.array(value, dtype=default_np()))


def _count_step(state: dict[str, Any]) -> float:
    """Add one to the state's `step` counter (in place) and return its new value."""
    t = state["step"]
    if not isinstance(t, Tensor):                     # a plain number from an old checkpoint
        t = state["step"] = _step_tensor(float(t))
    step = t._data.item() + 1.0
    t._data.fill(step)                  # (`+= 1` on a 0-d array costs ~8x more)
    return step


def _one_call(group: dict[str, Any]) -> bool:
    """Whether a group is updated by one foreach kernel call: unless `foreach` or `fused`
    is False (PyTorch's way of asking for the per-parameter for-loop) without the other
    being True."""
    foreach, fused = group.get("foreach"), group.get("fused")
    return bool(foreach or fused) or (foreach is None and fused is None)


def _check_fused_params(group: dict[str, Any], params: list[Tensor]) -> None:
    """With ``fused=True``, every parameter must be a floating-point tensor (PyTorch's check)."""
    if not group.get("fused"):
        return
    for p in params:
        if p._data.dtype.kind != "f":
            raise RuntimeError(
                "`fused=True` requires all the params to be floating point Tensors of supported "
                f"devices: {_FUSED_DEVICES} but {p.dtype} and {p.device.type}")


_FUSED_DEVICES = ["mps", "cuda", "xpu", "hpu", "cpu", "mtia", "privateuseone"]


def _storages(tensors: list) -> list:
    return [t._data for t in tensors]


def _after_foreach(params: list[Tensor], skipped: list[int], single) -> None:
    """Bump the version of every parameter a foreach kernel updated; update the ones it
    skipped (float16, strided, ...) one by one through ``single(i)``, which bumps them."""
    if not skipped:
        for p in params:
            p._version[0] += 1
        return
    skip = set(skipped)
    for i, p in enumerate(params):
        if i in skip:
            single(i)
        else:
            p._version[0] += 1


def _update(kernel, p: Tensor, g: Tensor, states: tuple, hyper: Sequence) -> None:
    """Run ``kernel(param, grad, *states, *hyper)`` on flat views of the storages (`states`:
    the parameter's state tensors, or None where absent), then bump p's version counter.

    Parameters that are not C-contiguous float32/float64 (float16, strided views) are
    updated through contiguous float32/float64 working copies, written back after.
    """
    pd = p._data
    gd = g._data
    if pd.flags.c_contiguous and pd.dtype in _KERNEL_DTYPES:
        if gd.dtype is not pd.dtype or not gd.flags.c_contiguous:
            gd = np.ascontiguousarray(gd, dtype=pd.dtype)    # a copy: .grad is never written
        kernel(pd.ravel(), gd.ravel(), *[None if t is None else t._data.ravel() for t in states],
               *hyper)
    else:
        work = np.float64 if pd.dtype == np.float64 else np.float32
        tensors = (p, *states)
        arrays = [None if t is None else np.array(t._data, dtype=work).ravel() for t in tensors]
        kernel(arrays[0], np.array(g._data, dtype=work).ravel(), *arrays[1:], *hyper)
        for t, a in zip(tensors, arrays):
            if t is not None:
                t._data[...] = a.reshape(t._data.shape)
    p._version[0] += 1
