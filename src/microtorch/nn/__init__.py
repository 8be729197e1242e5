"""`microtorch.nn`: layers, losses, `functional` and `init`, mirroring `torch.nn`.

    model = nn.Sequential(nn.Linear(1, 5), nn.ReLU(), nn.Linear(5, 1))
    loss = nn.MSELoss()(model(X), y)

Start reading at modules/module.py (the Module base class), then modules/linear.py.
"""
from . import functional, init, utils
from .modules import (
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Identity,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Module,
    ModuleDict,
    ModuleList,
    MSELoss,
    NLLLoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    Unflatten,
)
from .parameter import Parameter

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Flatten",
    "Identity", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss",
    "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "Tanh", "Unflatten", "functional", "init", "utils",
]
