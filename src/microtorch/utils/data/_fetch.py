"""Turning indices into batches: what the DataLoader (or each of its workers) runs.

The fast path: for a `TensorDataset` (possibly inside `Subset`s, e.g. from
`random_split`) and the default collate, a batch is `[t[index_array] for t in tensors]`,
one numpy fancy index per tensor, instead of indexing sample by sample and stacking.
The result is the same as `default_collate` of the samples.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..._tensor import Tensor
from ._collate import default_collate
from ._worker import EXHAUSTED
from .dataset import Subset, TensorDataset


def _plain(obj, cls) -> bool:
    """`obj` is a `cls` whose item access is `cls`'s own (not overridden by a subclass)."""
    return (isinstance(obj, cls) and type(obj).__getitem__ is cls.__getitem__
            and getattr(type(obj), "__getitems__", None) is getattr(cls, "__getitems__", None))


def tensor_batcher(dataset):
    """For a TensorDataset, possibly inside Subsets, a function `index array -> batch`
    (None when the fast path cannot be used for that batch); None for other datasets."""
    remaps = []                                   # Subset index arrays, outermost first
    while _plain(dataset, Subset):
        try:
            remap = np.asarray(dataset.indices, dtype=np.int64)
        except (TypeError, ValueError):
            return None
        if remap.ndim != 1:
            return None
        remaps.append(remap)
        dataset = dataset.dataset
    if not _plain(dataset, TensorDataset) or not dataset.tensors:
        return None
    tensors = dataset.tensors

    def batch(index):
        idx = np.asarray(index)
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or any(t._requires_grad for t in tensors):
            return None                           # let the general path decide (or raise)
        for remap in remaps:
            idx = remap[idx]
        return [Tensor._wrap(t._data[idx]) for t in tensors]

    return batch


class Fetcher:
    """Builds batches from indices (map-style) or from a stream (IterableDataset)."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, batch_size, drop_last: bool,
                 iterable: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.iterable = iterable
        self._batcher = None                      # built on first use, never pickled
        self._batcher_ready = False

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_batcher"], state["_batcher_ready"] = None, False
        return state

    def fetch(self, index):
        """The batch for a list/array of indices (auto-collation) or for one index."""
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if not self._batcher_ready:
            fast = self.collate_fn is default_collate and not self.iterable
            self._batcher = tensor_batcher(self.dataset) if fast else None
            self._batcher_ready = True
        if self._batcher is not None:
            batch = self._batcher(index)
            if batch is not None:
                return batch
        if isinstance(index, np.ndarray):
            index = index.tolist()
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(samples)

    def start_stream(self):
        return iter(self.dataset)

    def next_batch(self, stream):
        """The next batch from an IterableDataset's stream, or EXHAUSTED at its end."""
        if not self.auto_collation:
            for sample in stream:
                return self.collate_fn(sample)
            return EXHAUSTED
        samples = list(itertools.islice(stream, self.batch_size))
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            return EXHAUSTED
        return self.collate_fn(samples)
