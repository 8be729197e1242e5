"""Adam, with L2 (coupled) or decoupled (AdamW) weight decay and the AMSGrad variant."""
from __future__ import annotations

from .._kernels._optim import adam_step
from ._validate import check_betas, check_lr, check_nonnegative
from .optimizer import Optimizer, _count_step, _step_tensor, _update, _zeros

__all__ = ["Adam"]


class Adam(Optimizer):
    r"""Adam (PyTorch's update, per parameter, at step t):

    .. math::
        g = \pm\nabla + \lambda\theta \text{ (or } \theta = \theta(1-\gamma\lambda)
        \text{ when decoupled)};\quad m = \beta_1 m + (1-\beta_1) g;\quad
        v = \beta_2 v + (1-\beta_2) g^2;\quad
        \theta = \theta - \frac{\gamma}{1-\beta_1^t}\,
        \frac{m}{\sqrt{\hat v}/\sqrt{1-\beta_2^t} + \epsilon}

    where :math:`\hat v` is v, or its running maximum with ``amsgrad``.  State: ``step``
    (a float tensor), ``exp_avg``, ``exp_avg_sq`` and ``max_exp_avg_sq`` (AMSGrad).
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        check_lr(lr)
        check_nonnegative(eps, "epsilon")
        check_betas(betas)
        check_nonnegative(weight_decay, "weight_decay")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one update of every parameter that has a gradient; return the closure's loss."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            amsgrad = group["amsgrad"]
            hyper = [0.0, group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
                     amsgrad, group["maximize"], group["decoupled_weight_decay"]]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                st = state[p]
                if not st:
                    st["step"] = _step_tensor()
                    st["exp_avg"] = _zeros(p)
                    st["exp_avg_sq"] = _zeros(p)
                    if amsgrad:
                        st["max_exp_avg_sq"] = _zeros(p)
                hyper[0] = _count_step(st)
                _update(adam_step, p, g,
                        (st["exp_avg"], st["exp_avg_sq"], st.get("max_exp_avg_sq")), hyper)
        return loss
