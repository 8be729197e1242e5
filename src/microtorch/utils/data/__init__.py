"""Datasets, samplers and the DataLoader, mirroring `torch.utils.data`.

A map-style `Dataset` answers `dataset[i]` and `len(dataset)`; an `IterableDataset` is
iterated. A sampler yields indices, a `BatchSampler` groups them, and the `DataLoader` turns
each group of samples into a batch with `collate_fn` (by default `default_collate`, which
stacks tensors, turns numbers and numpy arrays into tensors and recurses into dicts and
sequences). `num_workers > 0` loads batches in worker processes started with the platform's
default method, fork on Linux (see `_worker.py`).
"""
from __future__ import annotations

from ._collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate",
    "default_convert", "get_worker_info", "random_split",
]
