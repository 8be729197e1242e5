"""`microtorch.compile`: record a model's kernel calls once, replay them on later calls.

recorder.py runs one call eagerly and notes its ops; plans.py turns each supported op into
kernel calls over fixed buffers; program.py holds the replayable program and its one graph
node; api.py is PyTorch's entry point with its guards and cache.
"""
from .api import CompiledCallable, OptimizedModule, Unsupported, compile

__all__ = ["CompiledCallable", "OptimizedModule", "Unsupported", "compile"]
