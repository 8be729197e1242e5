"""RMSprop, optionally centered and with momentum."""
from __future__ import annotations

from .._kernels._optim import rmsprop_step, rmsprop_step_foreach
from ._validate import check_lr, check_nonnegative
from .optimizer import (
    Optimizer,
    _after_foreach,
    _count_step,
    _one_call,
    _step_tensor,
    _storages,
    _update,
    _zeros,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (PyTorch's update, per parameter):

    .. math::
        g = \pm\nabla + \lambda\theta;\quad v = \alpha v + (1-\alpha) g^2;\quad
        \tilde v = v - \bar g^2 \text{ with } \bar g = \alpha\bar g + (1-\alpha) g
        \text{ (centered) or } v;\\
        b = \mu b + g / (\sqrt{\tilde v} + \epsilon),\ \theta = \theta - \gamma b
        \text{ (momentum) or } \theta = \theta - \gamma g / (\sqrt{\tilde v} + \epsilon)

    State: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0) and ``grad_avg``
    (centered).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        check_nonnegative(eps, "epsilon")
        check_nonnegative(momentum, "momentum")
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(alpha, "alpha")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "capturable": capturable,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one update of every parameter that has a gradient; return the closure's loss."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            momentum, centered = group["momentum"], group["centered"]
            params, grads, sqs, gavgs, bufs = [], [], [], [], []
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                st = state[p]
                if not st:
                    st["step"] = _step_tensor()
                    st["square_avg"] = _zeros(p)
                    if momentum > 0:
                        st["momentum_buffer"] = _zeros(p)
                    if centered:
                        st["grad_avg"] = _zeros(p)
                _count_step(st)
                params.append(p)
                grads.append(g)
                sqs.append(st["square_avg"])
                gavgs.append(st.get("grad_avg"))
                bufs.append(st.get("momentum_buffer"))
            if not params:
                continue
            hyper = (group["lr"], group["alpha"], group["eps"], group["weight_decay"],
                     momentum, centered, group["maximize"])

            def single(i, params=params, grads=grads, sqs=sqs, gavgs=gavgs, bufs=bufs,
                       hyper=hyper):
                _update(rmsprop_step, params[i], grads[i], (sqs[i], gavgs[i], bufs[i]), hyper)

            if _one_call(group):
                skipped = rmsprop_step_foreach(_storages(params), _storages(grads),
                                               _storages(sqs),
                                               _storages(gavgs) if centered else None,
                                               _storages(bufs) if momentum > 0 else None,
                                               *hyper)
                _after_foreach(params, skipped, single)
            else:
                for i in range(len(params)):
                    single(i)
        return loss
