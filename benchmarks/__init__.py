"""microtorch benchmark suite: kernels, per-op overhead and end-to-end training.

Run ``python -m benchmarks --help``; see benchmarks/README.md.
"""
