"""Adam, with L2 (coupled) or decoupled (AdamW) weight decay and the AMSGrad variant."""
from __future__ import annotations

from .._kernels._optim import adam_step, adam_step_foreach
from .._tensor import Tensor
from ._validate import check_betas, check_fused, check_lr, check_nonnegative
from .optimizer import (
    Optimizer,
    _after_foreach,
    _check_fused_params,
    _count_step,
    _one_call,
    _step_tensor,
    _storages,
    _update,
    _zeros,
)

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
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        check_lr(lr)
        check_nonnegative(eps, "epsilon")
        check_betas(betas)
        check_nonnegative(weight_decay, "weight_decay")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        check_fused(foreach, fused, differentiable)

    def step(self, closure=None):
        """Perform one update of every parameter that has a gradient; return the closure's loss."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            amsgrad = group["amsgrad"]
            params, grads, avgs, sqs, maxes, steps = [], [], [], [], [], []
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
                params.append(p)
                grads.append(g)
                avgs.append(st["exp_avg"])
                sqs.append(st["exp_avg_sq"])
                maxes.append(st.get("max_exp_avg_sq"))
                steps.append(_count_step(st))
            if not params:
                continue
            _check_fused_params(group, params)
            beta1, beta2 = group["betas"]
            hyper = (group["lr"], beta1, beta2, group["eps"], group["weight_decay"], amsgrad,
                     group["maximize"], group["decoupled_weight_decay"])

            def single(i, params=params, grads=grads, avgs=avgs, sqs=sqs, maxes=maxes,
                       steps=steps, hyper=hyper):
                _update(adam_step, params[i], grads[i], (avgs[i], sqs[i], maxes[i]),
                        (steps[i], *hyper))

            if _one_call(group):
                skipped = adam_step_foreach(_storages(params), _storages(grads),
                                            _storages(avgs), _storages(sqs),
                                            _storages(maxes) if amsgrad else None, steps,
                                            *hyper)
                _after_foreach(params, skipped, single)
            else:
                for i in range(len(params)):
                    single(i)
        return loss
