"""RMSprop, optionally centered and with momentum."""
from __future__ import annotations

from .._kernels._optim import rmsprop_step
from ._validate import check_lr, check_nonnegative
from .optimizer import Optimizer, _count_step, _step_tensor, _update, _zeros

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
            hyper = (group["lr"], group["alpha"], group["eps"], group["weight_decay"],
                     momentum, centered, group["maximize"])
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
                _update(rmsprop_step, p, g,
                        (st["square_avg"], st.get("grad_avg"), st.get("momentum_buffer")), hyper)
        return loss
