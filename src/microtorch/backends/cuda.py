"""`backends.cuda`: no CUDA here; `matmul.allow_tf32` and friends are accepted and unused."""
from __future__ import annotations


class _MatmulFlags:
    """`backends.cuda.matmul`: TF32/reduced-precision switches (no effect on the CPU)."""

    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    """Always False: microtorch is not built with CUDA."""
    return False
