"""`DataLoader`: iterate a dataset in batches, with PyTorch's arguments and checks.

With `num_workers=0` (the default) batches are built in the calling process. With
`num_workers > 0` they are built by worker processes started with the platform's default
method (fork on Linux; see `_worker.py`): a new pool per epoch, or one kept across epochs with
`persistent_workers=True`. `pin_memory` is accepted and ignored (there is no GPU).
"""
from __future__ import annotations

import math
import numbers

from . import _worker
from ._collate import default_collate, default_convert
from ._fetch import Fetcher
from ._worker import get_worker_info
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]

_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
           "persistent_workers")


class DataLoader:
    """Batches of `dataset`: `for x, y in DataLoader(TensorDataset(X, Y), batch_size=32)`.

    `shuffle=True` draws a new permutation every epoch from `generator` (default: the
    global stream). `sampler` / `batch_sampler` replace the default index order; with
    `batch_size=None` samples are returned one by one, converted by `default_convert`.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None:
            if num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got num_workers={num_workers}")
            _worker.get_context(multiprocessing_context)       # validate now, not mid-epoch

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value}")
        else:
            if sampler is not None and shuffle:
                raise ValueError("sampler option is mutually exclusive with shuffle")
            if batch_sampler is not None:
                if batch_size != 1 or shuffle or sampler is not None or drop_last:
                    raise ValueError("batch_sampler option is mutually exclusive with "
                                     "batch_size, shuffle, sampler, and drop_last")
                batch_size, drop_last = None, False
            elif batch_size is None and drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is "
                                 "mutually exclusive with drop_last")
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle \
                    else SequentialSampler(dataset)
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if iterable and batch_size is not None:
            BatchSampler([], batch_size, drop_last)              # same checks as map-style

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterable = iterable
        self._auto_collation = batch_size is not None if iterable else batch_sampler is not None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._pool = None                             # persistent workers, started lazily
        self._initialized = True

    def __setattr__(self, name: str, value) -> None:
        if name in _FROZEN and self.__dict__.get("_initialized"):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return self._batches_in_process()
        return self._batches_from_workers()

    def _fetcher(self) -> Fetcher:
        return Fetcher(self.dataset, self._auto_collation, self.collate_fn, self.batch_size,
                       self.drop_last, self._iterable)

    def _index_batches(self):
        """The epoch's indices: index arrays or lists (auto-collation) or single indices."""
        if isinstance(self._index_sampler, BatchSampler):
            return self._index_sampler._array_batches()
        return iter(self._index_sampler)

    def _batches_in_process(self):
        fetcher = self._fetcher()
        if self._iterable:
            stream = fetcher.start_stream()
            while not _worker.is_exhausted(batch := fetcher.next_batch(stream)):
                yield batch
            return
        for index in self._index_batches():
            yield fetcher.fetch(index)

    def _batches_from_workers(self):
        pool = self._pool
        if pool is None or not pool.alive():
            if pool is not None:                  # a persistent pool that lost a worker
                pool.shutdown(wait=False)
            pool = _worker.WorkerPool(self, self._fetcher())
            if self.persistent_workers:
                self._pool = pool
        index_batches = None if self._iterable else self._index_batches()
        finished = broken = False
        try:
            yield from _worker.run_epoch(pool, index_batches, self._iterable,
                                         self.prefetch_factor, self.in_order, self.timeout)
            finished = True
        except _worker.WorkerError:
            broken = True
            raise
        finally:
            if broken or not self.persistent_workers:
                pool.shutdown(wait=finished)      # an abandoned epoch's work is not awaited
            if broken and self._pool is pool:
                self._pool = None

    def __del__(self) -> None:
        pool = self.__dict__.get("_pool")
        if pool is not None:
            try:
                pool.shutdown()
            except Exception:                     # interpreter shutdown: best effort
                pass
