"""Worker processes for `DataLoader(num_workers > 0)`.

Workers start with the platform's default method, as in PyTorch: *fork* on Linux, so a
script without an `if __name__ == "__main__":` guard works and the dataset needs no
pickling; `multiprocessing_context=` chooses another ('spawn', 'forkserver'), which needs
a picklable dataset, `collate_fn` and `worker_init_fn`. Forked workers are safe: the
kernels run single-threaded in a forked child (`_kernels/_threads.pyx` resets the thread
count after fork, so libgomp's pool, which does not survive fork, is never entered, as
PyTorch's workers run with `torch.set_num_threads(1)`), and OpenBLAS shuts its threads
down before a fork and restarts them in the child.

Each worker has its own task queue and all share one result queue. A task is
`(epoch, task_id, index)`; the worker answers `(epoch, task_id, pickled result)`, where the
result is a batch, `EXHAUSTED` (an IterableDataset worker has no more data) or a `Failure`
carrying the worker's exception. Results are pickled in the worker, so a batch that cannot
be pickled becomes an error in the main process instead of a lost message.
"""
from __future__ import annotations

import itertools
import multiprocessing
import pickle
import queue
import random
import signal
import time
import traceback

import numpy as np

from ... import random as _random

_info = None                        # this process's WorkerInfo; None in the main process


class WorkerInfo:
    """What `get_worker_info()` returns inside a worker: `id`, `num_workers`, `seed`,
    `dataset` (this worker's copy)."""

    def __init__(self, id: int, num_workers: int, seed: int, dataset) -> None:
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self) -> str:
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


def get_worker_info() -> WorkerInfo | None:
    """Information about the current DataLoader worker process; None in the main process."""
    return _info


class _Exhausted:
    """An IterableDataset worker's answer once its stream has ended."""


EXHAUSTED = _Exhausted()


class Failure:
    """An exception raised in a worker, re-raised in the main process with its traceback."""

    def __init__(self, where: str, exc: BaseException) -> None:
        self.exc_type = type(exc)
        self.message = (f"Caught {type(exc).__name__} {where}.\nOriginal "
                        + "".join(traceback.format_exception(exc)))
        try:
            pickle.loads(pickle.dumps(self.exc_type))
        except Exception:
            self.exc_type = RuntimeError

    def reraise(self):
        try:
            err = self.exc_type(self.message)
        except Exception:
            err = RuntimeError(self.message)
        raise err


class WorkerError(RuntimeError):
    """The worker pool is broken: a worker died, or no result came within `timeout`."""


def is_exhausted(payload) -> bool:
    return isinstance(payload, _Exhausted)


def _seed_process(seed: int) -> None:
    _random.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def worker_loop(worker_id, num_workers, seed, fetcher, worker_init_fn, tasks, results) -> None:
    """The body of one worker process: answer tasks until it receives None."""
    global _info
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the main process's business
    results.cancel_join_thread()            # exit promptly even if nobody reads the rest
    _seed_process(seed)
    _info = WorkerInfo(worker_id, num_workers, seed, fetcher.dataset)
    init_failure = None
    if worker_init_fn is not None:
        try:
            worker_init_fn(worker_id)
        except Exception as exc:
            init_failure = Failure(f"in DataLoader worker process {worker_id}", exc)
    stream_epoch, stream = None, None
    parent = multiprocessing.parent_process()
    while True:
        try:
            task = tasks.get(timeout=5.0)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return                     # the main process died without stopping us
            continue
        if task is None:
            return
        epoch, task_id, index = task
        try:
            if init_failure is not None:
                result = init_failure
            elif fetcher.iterable:
                if stream_epoch != epoch:
                    stream_epoch, stream = epoch, fetcher.start_stream()
                result = fetcher.next_batch(stream)
            else:
                result = fetcher.fetch(index)
            message = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            message = pickle.dumps(Failure(f"in DataLoader worker process {worker_id}", exc))
        results.put((epoch, task_id, message))


def get_context(method):
    """The multiprocessing context for the workers (the platform's default without one)."""
    if method is None:
        return multiprocessing.get_context()
    if isinstance(method, str):
        if method not in multiprocessing.get_all_start_methods():
            raise ValueError(f"multiprocessing_context option should specify a valid start "
                             f"method in {multiprocessing.get_all_start_methods()!r}, but got "
                             f"multiprocessing_context={method!r}")
        method = multiprocessing.get_context(method)
    if not isinstance(method, multiprocessing.context.BaseContext):
        raise TypeError(f"multiprocessing_context option should be a valid context object or "
                        f"a string specifying the start method, but got "
                        f"multiprocessing_context={method}")
    return method


class WorkerPool:
    """`num_workers` worker processes, their task queues and the shared result queue."""

    def __init__(self, loader, fetcher) -> None:
        ctx = get_context(loader.multiprocessing_context)
        n = loader.num_workers
        base_seed = int(_random.rng(loader.generator).integers(2**62))
        self.num_workers = n
        self.epoch = 0
        self.results = ctx.Queue()
        self.tasks, self.processes = [], []
        try:
            for i in range(n):
                tasks = ctx.Queue()
                tasks.cancel_join_thread()
                process = ctx.Process(
                    target=worker_loop, daemon=True,
                    args=(i, n, base_seed + i, fetcher, loader.worker_init_fn, tasks,
                          self.results))
                self.tasks.append(tasks)
                try:
                    process.start()
                except (pickle.PicklingError, AttributeError, TypeError) as err:
                    raise type(err)(
                        f"{err}. With the '{ctx.get_start_method()}' start method the "
                        "dataset, collate_fn and worker_init_fn are sent to the worker "
                        "processes, so they must be picklable (defined at module level: no "
                        "lambdas or local functions)"
                    ) from err
                self.processes.append(process)
        except BaseException:
            self.shutdown()
            raise

    def send(self, worker: int, epoch: int, task_id: int, index) -> None:
        self.tasks[worker].put((epoch, task_id, index))

    def receive(self, epoch: int, timeout: float):
        """The next `(task_id, result)` of `epoch`; results of older epochs are dropped."""
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while True:
            wait = 1.0 if deadline is None else min(1.0, max(deadline - time.monotonic(), 0))
            try:
                got_epoch, task_id, message = self.results.get(timeout=wait)
            except queue.Empty:
                dead = [p.pid for p in self.processes if not p.is_alive()]
                if dead:
                    raise WorkerError(
                        f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited "
                        "unexpectedly") from None
                if deadline is not None and time.monotonic() >= deadline:
                    raise WorkerError(f"DataLoader timed out after {timeout} seconds") from None
                continue
            if got_epoch == epoch:
                return task_id, pickle.loads(message)

    def alive(self) -> bool:
        return bool(self.processes) and all(p.is_alive() for p in self.processes)

    def shutdown(self, wait: bool = True) -> None:
        """Ask every worker to stop and terminate those still running after 5 s (at once
        with `wait=False`, when their current work is not wanted any more)."""
        for tasks in self.tasks:
            try:
                tasks.put(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + (5.0 if wait else 0.0)
        for process in self.processes:
            process.join(timeout=max(deadline - time.monotonic(), 0))
            if process.is_alive():
                process.terminate()
                process.join(timeout=1.0)
        for q in self.tasks + [self.results]:
            q.cancel_join_thread()
            q.close()
        self.tasks, self.processes = [], []


def run_epoch(pool: WorkerPool, index_batches, iterable: bool, prefetch: int,
              in_order: bool, timeout: float):
    """Yield one epoch of batches computed by the pool's workers.

    Up to `prefetch` tasks per worker are in flight. Map-style tasks (index batches) go to
    the workers in turn; IterableDataset tasks ("your next batch") go to the workers whose
    stream has not ended. With `in_order`, batches come out in task order.
    """
    pool.epoch += 1
    epoch, n = pool.epoch, pool.num_workers
    turn = itertools.cycle(range(n))
    active = [True] * n
    owner = {}                       # task_id -> worker, for tasks sent and not yet yielded
    ready = {}                       # task_id -> result, received but not yet yielded
    task_ids = itertools.count()
    no_index = object()

    def dispatch() -> None:
        if iterable:
            worker = next((w for w in itertools.islice(turn, n) if active[w]), None)
            if worker is None:
                return
            index = None
        else:
            index = next(index_batches, no_index)
            if index is no_index:
                return
            worker = next(turn)
        task_id = next(task_ids)
        owner[task_id] = worker
        pool.send(worker, epoch, task_id, index)

    for _ in range(max(prefetch, 1) * n):
        dispatch()
    while owner:
        if pool.epoch != epoch:       # a newer epoch started on these (persistent) workers
            return
        want = min(owner) if in_order else None
        while (want not in ready) if in_order else not ready:
            task_id, result = pool.receive(epoch, timeout)
            ready[task_id] = result
        task_id = want if in_order else next(iter(ready))
        result = ready.pop(task_id)
        worker = owner.pop(task_id)
        if is_exhausted(result):
            active[worker] = False
        dispatch()
        if isinstance(result, Failure):
            result.reraise()
        if not is_exhausted(result):
            yield result
