"""Stochastic gradient descent, optionally with (Nesterov) momentum."""
from __future__ import annotations

from .._kernels._optim import sgd_step, sgd_step_foreach
from ._validate import check_fused, check_lr, check_nonnegative
from .optimizer import (
    Optimizer,
    _after_foreach,
    _check_fused_params,
    _one_call,
    _storages,
    _update,
    _zeros,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's update, per parameter):

    .. math::
        d = \pm g + \lambda\theta;\quad
        b = d \text{ (first step) or } \mu b + (1-\tau) d;\quad
        d = d + \mu b \text{ (Nesterov) or } b;\quad \theta = \theta - \gamma d

    with ``-g`` when ``maximize``.  State: ``momentum_buffer`` (only with momentum).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        check_lr(lr)
        check_nonnegative(momentum, "momentum")
        check_nonnegative(weight_decay, "weight_decay")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        check_fused(foreach, fused, differentiable)

    def step(self, closure=None):
        """Perform one update of every parameter that has a gradient; return the closure's loss."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            momentum = group["momentum"]
            params, grads, bufs, firsts = [], [], [], []
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                params.append(p)
                grads.append(g)
                if momentum != 0:
                    st = state[p]
                    buf = st.get("momentum_buffer")
                    firsts.append(buf is None)           # first step: the buffer starts as d
                    if buf is None:
                        buf = st["momentum_buffer"] = _zeros(p)
                    bufs.append(buf)
            if not params:
                continue
            _check_fused_params(group, params)
            hyper = (group["lr"], momentum, group["dampening"], group["weight_decay"],
                     group["nesterov"], group["maximize"])

            def single(i, params=params, grads=grads, bufs=bufs, firsts=firsts, hyper=hyper):
                first = bool(firsts[i]) if firsts else False
                _update(sgd_step, params[i], grads[i], (bufs[i] if bufs else None,),
                        (*hyper, first))

            if _one_call(group):
                skipped = sgd_step_foreach(_storages(params), _storages(grads),
                                           _storages(bufs) if momentum != 0 else None,
                                           firsts if momentum != 0 else None, *hyper)
                _after_foreach(params, skipped, single)
            else:
                for i in range(len(params)):
                    single(i)
        return loss
