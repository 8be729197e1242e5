"""`microtorch.amp`: automatic mixed precision, as far as it applies to a CPU float32 world.

`autocast` is accepted (as a context manager or decorator) but changes no dtype: microtorch
has no bfloat16, and float16 matmuls would only be slower on the CPU. Requesting it for
'cuda' (or another absent device) warns and disables it, as PyTorch does without CUDA.
`GradScaler` on the CPU scales and unscales exactly as PyTorch's; for other devices it
warns and is disabled.
"""
from .autocast_mode import autocast, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "is_autocast_enabled"]
