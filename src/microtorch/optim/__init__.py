"""`microtorch.optim`: PyTorch's optimizers and learning-rate schedulers.

Each optimizer keeps PyTorch's names, defaults, parameter groups, per-parameter state
and `state_dict()` layout; the per-parameter updates run in the fused Cython kernels of
`microtorch._kernels._optim` (see `optimizer.py` for how a step reaches them).
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["LBFGS", "SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
