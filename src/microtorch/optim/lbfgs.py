"""L-BFGS: a quasi-Newton method that re-evaluates the loss through a closure.

Each `step(closure)` runs up to `max_iter` iterations. An iteration picks a search direction
from the last `history_size` gradient and position differences (the two-loop recursion,
which applies an approximate inverse Hessian without forming it), then moves along it by a
fixed step `lr` or by a step found with a strong-Wolfe line search (cubic interpolation,
bracketing then zooming). The stopping rules, the first step (min(1, 1/|g|_1) * lr), the
conditions for keeping a curvature pair (y.s > 1e-10) and the state kept between steps are
PyTorch's, so runs from equal weights give PyTorch's numbers.

All the work happens on one flat vector of the parameters' values, in their dtype.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, no_grad
from ._validate import check_lr
from .optimizer import Optimizer


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2,
    clamped to `bounds` (the interval [x1, x2] by default); the bounds' midpoint when the
    cubic has no minimum."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """A step t along d satisfying the strong Wolfe conditions.

    `evaluate(t)` returns (loss, flat gradient) at x + t d. Returns (loss, gradient, t,
    number of evaluations).
    """
    d_norm = float(np.abs(d).max())
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    # bracketing: grow the step until an interval is known to contain a good one
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [[t, f_new, g_new, gtd_new]]
            done = True
            break
        if gtd_new >= 0:
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        step = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                              bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = step
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = [[0, f, g, None], [t, f_new, g_new, None]]

    # zoom: shrink the bracket around a point that satisfies both conditions
    insufficient = False
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and ls_iter < max_ls:
        (t0, f0, _, gtd0), (t1, f1, _, gtd1) = bracket
        if abs(t1 - t0) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(t0, f0, gtd0, t1, f1, gtd1)
        top, bottom = max(t0, t1), min(t0, t1)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            # too close to an end: move away from it unless the last try was fine
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """L-BFGS (PyTorch's defaults): `optimizer.step(closure)`, where `closure` clears the
    gradients, computes the loss, calls backward and returns the loss. One parameter group
    only."""

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ---- the flat parameter vector ----------------------------------------------------
    def _flat_grad(self) -> np.ndarray:
        parts = [np.zeros(p._data.size, p._data.dtype) if p.grad is None
                 else p.grad._data.reshape(-1) for p in self._params]
        return np.concatenate(parts) if parts else np.zeros(0)

    def _add_to_params(self, step, direction: np.ndarray) -> None:
        """params += step * direction (one in-place update per parameter)."""
        offset = 0
        for p in self._params:
            n = p._data.size
            update = direction[offset:offset + n].reshape(p._data.shape)
            p._data += (p._data.dtype.type(step) * update).astype(p._data.dtype, copy=False)
            p._version[0] += 1
            offset += n

    def _values(self) -> list:
        return [p._data.copy() for p in self._params]

    def _restore(self, values: list) -> None:
        for p, v in zip(self._params, values):
            p._data[...] = v
            p._version[0] += 1

    @staticmethod
    def _loss(closure: Callable) -> float:
        with enable_grad():
            return float(closure())

    # ---- the step -----------------------------------------------------------------------
    def step(self, closure: Callable):
        """Up to `max_iter` L-BFGS iterations; returns the loss from the first evaluation."""
        if closure is None:
            raise RuntimeError("LBFGS requires a closure that re-evaluates the model")
        group = self.param_groups[0]
        lr = group["lr"]
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        with no_grad():
            loss = float(orig_loss)
            evals = 1
            state["func_evals"] += 1
            flat_grad = self._flat_grad()
            if np.abs(flat_grad).max(initial=0) <= tolerance_grad:
                return orig_loss
            memory = _Memory.load(state)
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    memory.start(flat_grad)
                else:
                    memory.update(flat_grad, history_size)
                memory.prev_flat_grad = flat_grad.copy()
                memory.prev_loss = loss
                if state["n_iter"] == 1:
                    total = np.abs(flat_grad).sum()
                    memory.t = min(1.0, 1.0 / total) * lr
                else:
                    memory.t = lr
                d = memory.d
                gtd = flat_grad.dot(d)
                if gtd > -tolerance_change:
                    break
                spent = 0
                if line_search_fn is not None:
                    if line_search_fn != "strong_wolfe":
                        raise RuntimeError("only 'strong_wolfe' is supported")
                    start = self._values()

                    def evaluate(t, start=start, d=d):
                        self._add_to_params(t, d)
                        with enable_grad():
                            output = closure()
                        value = float(output)
                        grad = self._flat_grad()
                        self._restore(start)
                        return value, grad

                    loss, flat_grad, memory.t, spent = _strong_wolfe(
                        evaluate, memory.t, d, loss, flat_grad, gtd)
                    self._add_to_params(memory.t, d)
                    converged = np.abs(flat_grad).max() <= tolerance_grad
                else:
                    self._add_to_params(memory.t, d)
                    converged = False
                    if n_iter != max_iter:
                        loss = self._loss(closure)
                        flat_grad = self._flat_grad()
                        converged = np.abs(flat_grad).max(initial=0) <= tolerance_grad
                        spent = 1
                evals += spent
                state["func_evals"] += spent
                if (n_iter == max_iter or evals >= max_eval or converged
                        or np.abs(d * memory.t).max(initial=0) <= tolerance_change
                        or abs(loss - memory.prev_loss) < tolerance_change):
                    break
            memory.save(state)
        return orig_loss


class _Memory:
    """The state L-BFGS carries between iterations and steps: the direction d, the step t,
    the curvature pairs (y = gradient change, s = position change, 1 / y.s) and the
    initial inverse-Hessian scale H_diag. Stored in `optimizer.state` as tensors under
    PyTorch's keys."""

    def __init__(self) -> None:
        self.d = self.t = self.H_diag = self.prev_flat_grad = self.prev_loss = None
        self.old_dirs, self.old_stps, self.ro, self.al = [], [], [], None

    @classmethod
    def load(cls, state: dict) -> _Memory:
        m = cls()
        arr = _array
        m.d, m.t = arr(state.get("d")), arr(state.get("t"))
        m.H_diag = arr(state.get("H_diag"))
        m.prev_flat_grad, m.prev_loss = arr(state.get("prev_flat_grad")), state.get("prev_loss")
        m.old_dirs = [arr(v) for v in state.get("old_dirs") or []]
        m.old_stps = [arr(v) for v in state.get("old_stps") or []]
        m.ro = [arr(v) for v in state.get("ro") or []]
        m.al = None if state.get("al") is None else [arr(v) for v in state["al"]]
        return m

    def save(self, state: dict) -> None:
        wrap = _tensor
        state.update(d=wrap(self.d), t=wrap(self.t), old_dirs=[wrap(v) for v in self.old_dirs],
                     old_stps=[wrap(v) for v in self.old_stps], ro=[wrap(v) for v in self.ro],
                     H_diag=wrap(self.H_diag), prev_flat_grad=wrap(self.prev_flat_grad),
                     prev_loss=self.prev_loss)
        if self.al is not None:
            state["al"] = [wrap(v) for v in self.al]

    def start(self, flat_grad: np.ndarray) -> None:
        """First iteration: steepest descent, no curvature pairs yet."""
        self.d = -flat_grad
        self.old_dirs, self.old_stps, self.ro = [], [], []
        self.H_diag = 1

    def update(self, flat_grad: np.ndarray, history_size: int) -> None:
        """Record the last move's curvature pair (when y.s > 1e-10), then set d to the
        two-loop recursion's approximation of -H^{-1} g."""
        y = flat_grad - self.prev_flat_grad
        s = self.d * self.t
        ys = y.dot(s)
        if ys > 1e-10:
            if len(self.old_dirs) == history_size:
                self.old_dirs.pop(0)
                self.old_stps.pop(0)
                self.ro.pop(0)
            self.old_dirs.append(y)
            self.old_stps.append(s)
            self.ro.append(1.0 / ys)
            self.H_diag = ys / y.dot(y)
        n = len(self.old_dirs)
        if self.al is None:
            self.al = [None] * history_size
        al = self.al
        q = -flat_grad
        for i in range(n - 1, -1, -1):
            al[i] = self.old_stps[i].dot(q) * self.ro[i]
            q = q - al[i] * self.old_dirs[i]
        r = q * self.H_diag
        for i in range(n):
            beta = self.old_dirs[i].dot(r) * self.ro[i]
            r = r + (al[i] - beta) * self.old_stps[i]
        self.d = r


def _array(value):
    """A state value as numpy (tensors) or as is (numbers, None)."""
    return value._data if isinstance(value, Tensor) else value


def _tensor(value):
    """A state value as PyTorch stores it: arrays and numpy scalars as tensors."""
    if isinstance(value, (np.ndarray, np.generic)):
        return Tensor._wrap(np.asarray(value))
    return value
