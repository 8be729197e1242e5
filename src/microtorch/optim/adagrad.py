"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""
from __future__ import annotations

import numpy as np

from .._kernels._optim import adagrad_step, adagrad_step_foreach
from .._tensor import Tensor
from ._validate import check_fused, check_lr, check_nonnegative
from .optimizer import (
    Optimizer,
    _after_foreach,
    _check_fused_params,
    _count_step,
    _one_call,
    _step_tensor,
    _storages,
    _update,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (PyTorch's update, per parameter, at step t):

    .. math::
        g = \pm\nabla + \lambda\theta;\quad s = s + g^2;\quad
        \theta = \theta - \frac{\gamma}{1 + (t-1)\eta}\,\frac{g}{\sqrt{s} + \epsilon}

    State (made for every parameter at construction): ``step`` and ``sum``, which starts at
    ``initial_accumulator_value``.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_lr(lr)
        check_nonnegative(lr_decay, "lr_decay")
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(initial_accumulator_value, "initial_accumulator_value")
        check_nonnegative(eps, "epsilon")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        check_fused(foreach, fused, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                _init_state(self.state[p], p, group["initial_accumulator_value"])

    def share_memory(self) -> None:
        """No-op: state tensors live in this process's memory (kept for API parity)."""

    def step(self, closure=None):
        """Perform one update of every parameter that has a gradient; return the closure's loss."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            params, grads, sums, steps = [], [], [], []
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                st = state[p]
                if not st:                            # a group added after construction
                    _init_state(st, p, group["initial_accumulator_value"])
                params.append(p)
                grads.append(g)
                sums.append(st["sum"])
                steps.append(_count_step(st))
            if not params:
                continue
            _check_fused_params(group, params)
            hyper = (group["lr"], group["lr_decay"], group["weight_decay"], group["eps"],
                     group["maximize"])

            def single(i, params=params, grads=grads, sums=sums, steps=steps, hyper=hyper):
                _update(adagrad_step, params[i], grads[i], (sums[i],), (steps[i], *hyper))

            if _one_call(group):
                skipped = adagrad_step_foreach(_storages(params), _storages(grads),
                                               _storages(sums), steps, *hyper)
                _after_foreach(params, skipped, single)
            else:
                for i in range(len(params)):
                    single(i)
        return loss


def _init_state(st: dict, p: Tensor, initial_accumulator_value: float) -> None:
    st["step"] = _step_tensor()
    st["sum"] = Tensor._wrap(np.full(p._data.shape, initial_accumulator_value, p._data.dtype))
