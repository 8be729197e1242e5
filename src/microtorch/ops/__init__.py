"""Differentiable operations: each op's forward and its backward node side by side."""
