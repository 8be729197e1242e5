"""Plain-numpy twins of the optimizer kernels in `microtorch._kernels._optim`.

The tests' oracle: same arguments, same in-place effect on `param` and the state
buffers, written as whole-array numpy expressions in the order of operations of
PyTorch's documented single-tensor updates.  Scalars are rounded to the array dtype
first, as the kernels (and PyTorch's float32 CPU updates) do.
"""
from __future__ import annotations

import math

import numpy as np


def _lerp(start: np.ndarray, end: np.ndarray, weight) -> np.ndarray:
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def sgd_step(param, grad, momentum_buf, lr, momentum, dampening, weight_decay,
             nesterov, maximize, first_step) -> None:
    f = param.dtype.type
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = d + f(weight_decay) * param
    if momentum_buf is not None:
        buf = d if first_step else momentum_buf * f(momentum) + f(1 - dampening) * d
        momentum_buf[...] = buf
        d = d + f(momentum) * buf if nesterov else buf
    param[...] = param + f(-lr) * d


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2,
              eps, weight_decay, amsgrad, maximize, decoupled) -> None:
    f = param.dtype.type
    g = -grad if maximize else grad
    p = param
    if weight_decay != 0:
        if decoupled:
            p = p * f(1 - lr * weight_decay)
        else:
            g = g + f(weight_decay) * p
    exp_avg[...] = _lerp(exp_avg, g, f(1 - beta1))
    exp_avg_sq[...] = exp_avg_sq * f(beta2) + f(1 - beta2) * g * g
    v = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    step_size = lr / (1 - beta1 ** step)
    bc2_sqrt = math.sqrt(1 - beta2 ** step)
    param[...] = p + f(-step_size) * (exp_avg / (np.sqrt(v) / f(bc2_sqrt) + f(eps)))


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buf, lr, alpha, eps,
                 weight_decay, momentum, centered, maximize) -> None:
    f = param.dtype.type
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + f(weight_decay) * param
    square_avg[...] = square_avg * f(alpha) + f(1 - alpha) * g * g
    if centered:
        grad_avg[...] = _lerp(grad_avg, g, f(1 - alpha))
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + f(eps)
    else:
        avg = np.sqrt(square_avg) + f(eps)
    if momentum > 0:
        momentum_buf[...] = momentum_buf * f(momentum) + g / avg
        param[...] = param + f(-lr) * momentum_buf
    else:
        param[...] = param + f(-lr) * (g / avg)


def adagrad_step(param, grad, state_sum, step, lr, lr_decay, weight_decay, eps,
                 maximize) -> None:
    f = param.dtype.type
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + f(weight_decay) * param
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum[...] = state_sum + g * g
    param[...] = param + f(-clr) * (g / (np.sqrt(state_sum) + f(eps)))
