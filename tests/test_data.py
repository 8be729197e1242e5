"""microtorch.utils.data against torch.utils.data: datasets, samplers, collation, the
DataLoader (in-process and with worker processes)."""
from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest

import microtorch as mt
from microtorch.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    _worker,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

# torch is imported lazily (fixture), so spawned DataLoader workers that import this module
# to unpickle the datasets below stay quick to start.


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


Point = collections.namedtuple("Point", ["x", "y"])


# ----------------------------------------------------------------- helpers
def assert_same(ours, theirs, torch) -> None:
    """A microtorch batch equals a torch batch: same containers, dtypes, shapes, values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, mt.Tensor), type(ours)
        assert str(ours.dtype) == str(theirs.dtype)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for key in theirs:
            assert_same(ours[key], theirs[key], torch)
    elif isinstance(theirs, (list, tuple)):
        assert type(ours).__name__ == type(theirs).__name__ and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, torch)
    else:
        assert type(ours) is type(theirs) and ours == theirs


def loader_pair(torch, data, **kwargs):
    return list(DataLoader(data, **kwargs)), list(torch.utils.data.DataLoader(data, **kwargs))


def labels(loader) -> list:
    return [y.tolist() for _, y in loader]


XS = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
YS = np.arange(10) * 10


def tensor_datasets(torch):
    return (TensorDataset(mt.tensor(XS), mt.tensor(YS)),
            torch.utils.data.TensorDataset(torch.tensor(XS), torch.tensor(YS)))


# ----------------------------------------------------------------- datasets
def test_tensor_dataset_items_and_length():
    x, y = mt.tensor(XS), mt.tensor(YS)
    ds = TensorDataset(x, y)
    assert len(ds) == 10 and ds.tensors == (x, y)
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.numpy(), XS[3])
    assert yi.item() == 30 and yi.dtype == mt.int64
    assert ds[-1][1].item() == 90


@pytest.mark.parametrize("error", [AssertionError, ValueError])
def test_tensor_dataset_size_mismatch(error):
    with pytest.raises(error, match="Size mismatch between tensors"):
        TensorDataset(mt.zeros(5, 2), mt.zeros(4))


def test_subset_and_concat_and_stack():
    base = list(range(100, 110))
    sub = Subset(base, [4, 0, 7])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [104, 100, 107]
    assert sub.__getitems__([0, 2]) == [104, 107]
    assert Subset(np.arange(100, 110), [4, 0, 7])[[0, 2]].tolist() == [104, 107]
    cat = ConcatDataset([range(3), range(10, 12)])
    assert len(cat) == 5 and cat.cumulative_sizes == [3, 5]
    assert [cat[i] for i in range(5)] == [0, 1, 2, 10, 11] and cat[-1] == 11 and cat[-5] == 0
    with pytest.raises(ValueError, match="absolute value of index"):
        cat[-6]
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        ConcatDataset([])

    class Letters(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return "ab"[i]

    joined = Letters() + Letters()
    assert isinstance(joined, ConcatDataset) and [joined[i] for i in range(4)] == list("abab")
    stacked = StackDataset(range(3), "xyz")
    assert len(stacked) == 3 and stacked[1] == (1, "y")
    assert StackDataset(a=range(2), b="pq")[1] == {"a": 1, "b": "q"}
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(range(2), range(3))


@pytest.mark.filterwarnings("ignore:Length of split at index")
def test_random_split_lengths_and_fractions(torch):
    ds = range(10)
    parts = random_split(ds, [3, 7], generator=mt.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    for lengths, n in [([0.33, 0.33, 0.34], 10), ([0.5, 0.5], 11), ([0.7, 0.2, 0.1], 7),
                       ([1.0], 4), ([0.25] * 4, 13)]:
        ours = [len(p) for p in random_split(range(n), lengths)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), lengths)]
        assert ours == theirs, (lengths, n)
        assert sum(ours) == n


def test_random_split_reproducible_and_errors():
    a = random_split(range(20), [0.5, 0.5], generator=mt.Generator().manual_seed(5))
    b = random_split(range(20), [0.5, 0.5], generator=mt.Generator().manual_seed(5))
    c = random_split(range(20), [0.5, 0.5], generator=mt.Generator().manual_seed(6))
    assert [p.indices for p in a] == [p.indices for p in b] != [p.indices for p in c]
    mt.manual_seed(3)
    d = random_split(range(20), [10, 10])
    mt.manual_seed(3)
    assert [p.indices for p in random_split(range(20), [10, 10])] == [p.indices for p in d]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [0.3, 0.3])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [1.5, -0.5])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(range(10), [12, -2])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        parts = random_split(range(2), [0.1, 0.1, 0.8])
    assert [len(p) for p in parts] == [1, 0, 1]


# ----------------------------------------------------------------- samplers
def test_sequential_and_batch_sampler(torch):
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert all(type(i) is int for i in SequentialSampler(range(4)))
    for bs in (1, 3, 4, 5):
        for drop in (False, True):
            ours = BatchSampler(SequentialSampler(range(10)), bs, drop)
            theirs = torch.utils.data.BatchSampler(range(10), bs, drop)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)
            assert [a.tolist() for a in ours._array_batches()] == list(theirs)
    assert list(BatchSampler([5, 2, 9], 2, False)) == [[5, 2], [9]]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
            BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(3), 2, 1)


def test_random_sampler():
    g = mt.Generator().manual_seed(0)
    s = RandomSampler(range(50), generator=g)
    first, second = list(s), list(s)
    assert sorted(first) == sorted(second) == list(range(50)) and first != second
    assert len(s) == 50 and all(type(i) is int for i in first)
    again = RandomSampler(range(50), generator=mt.Generator().manual_seed(0))
    assert list(again) == first
    chained = list(RandomSampler(range(4), num_samples=10, generator=g))
    assert len(chained) == 10
    assert sorted(chained[:4]) == sorted(chained[4:8]) == [0, 1, 2, 3]
    assert set(chained[8:]) <= {0, 1, 2, 3} and len(set(chained[8:])) == 2
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=300, generator=g))
    assert len(drawn) == 300 and set(drawn) == {0, 1, 2}
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler([])


def test_subset_and_weighted_samplers():
    g = mt.Generator().manual_seed(2)
    s = SubsetRandomSampler([10, 20, 30, 40], generator=g)
    assert sorted(s) == [10, 20, 30, 40] and len(s) == 4
    w = WeightedRandomSampler([0.0, 1.0, 3.0], 400, generator=g)
    counts = np.bincount(list(w), minlength=3)
    assert counts[0] == 0 and counts[2] > 2 * counts[1] and len(w) == 400
    no_repeat = list(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False, generator=g))
    assert sorted(no_repeat) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1, 2], 0)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1, 2]], 2)
    with pytest.raises(RuntimeError, match="without replacement"):
        list(WeightedRandomSampler([1, 0, 1], 3, replacement=False))


# ----------------------------------------------------------------- collation
SAMPLES = {
    "tensor tuples": None,                                # filled by the test (needs torch)
    "floats": [0.5, 1.5, -2.0],
    "ints": [1, 2, 3],
    "bools": [True, False, True],
    "strings": ["a", "bc", "d"],
    "numpy arrays": [np.arange(6, dtype=np.int16).reshape(2, 3) + i for i in range(3)],
    "numpy scalars": [np.float32(1.5), np.float32(2.5), np.float32(3)],
    "numpy ints": [np.int32(1), np.int32(2), np.int32(3)],
    "numpy 0-d": [np.array(1.5), np.array(2.5), np.array(3.5)],
    "dicts": [{"a": i, "b": [i, float(i)], "c": {"d": np.float64(i)}} for i in range(3)],
    "nested tuples": [(i, (float(i), "s"), [i, i + 1]) for i in range(3)],
    "namedtuples": [Point(i, np.ones(2) * i) for i in range(3)],
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("batch_size", [None, 1, 2])
def test_collation_matches_torch(torch, kind, batch_size):
    data = SAMPLES[kind]
    if data is None:
        theirs = [(torch.tensor(XS[i]), torch.tensor(YS[i])) for i in range(3)]
        ours = [(mt.tensor(XS[i]), mt.tensor(YS[i])) for i in range(3)]
    else:
        theirs = ours = data
    got = list(DataLoader(ours, batch_size=batch_size))
    want = list(torch.utils.data.DataLoader(theirs, batch_size=batch_size))
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert_same(a, b, torch)


def test_collate_functions_directly():
    batch = default_collate([{"x": mt.ones(2), "n": 1}, {"x": mt.zeros(2), "n": 2}])
    assert batch["x"].tolist() == [[1, 1], [0, 0]] and batch["n"].tolist() == [1, 2]
    assert default_collate([1.0, 2.0]).dtype == mt.float64
    assert default_collate([True, False]).dtype == mt.bool
    assert default_collate([np.int16(1)]).dtype == mt.int16
    converted = default_convert({"a": np.arange(3), "b": (np.float64(2.0), 5), "s": "x"})
    assert isinstance(converted["a"], mt.Tensor) and converted["a"].dtype == mt.int64
    assert isinstance(converted["b"], list) and converted["b"][1] == 5
    assert converted["b"][0].dtype == mt.float64 and converted["s"] == "x"


def test_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers"):
        default_collate([object()])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"])])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([mt.zeros(2), mt.zeros(3)])


def test_collate_keeps_autograd():
    x = mt.randn(4, 2, requires_grad=True)
    (batch,) = next(iter(DataLoader(TensorDataset(x), batch_size=4)))
    assert batch.requires_grad and batch.grad_fn is not None
    batch.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((4, 2), np.float32))


# ----------------------------------------------------------------- the DataLoader
@pytest.mark.parametrize("batch_size", [1, 3, 4, 10, 16])
@pytest.mark.parametrize("drop_last", [False, True])
def test_tensor_dataset_batches_match_torch(torch, batch_size, drop_last):
    ours_ds, theirs_ds = tensor_datasets(torch)
    ours = DataLoader(ours_ds, batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(theirs_ds, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert_same(a, b, torch)


def test_unbatched_loading_matches_torch(torch):
    ours_ds, theirs_ds = tensor_datasets(torch)
    got = list(DataLoader(ours_ds, batch_size=None))
    want = list(torch.utils.data.DataLoader(theirs_ds, batch_size=None))
    assert len(got) == 10
    for a, b in zip(got, want):
        assert_same(a, b, torch)


def test_fast_path_indexes_each_tensor_once(monkeypatch):
    """TensorDataset batches come from one fancy index per tensor, not per-sample access,
    and equal what per-sample collation gives (also through random_split's Subsets)."""
    ds = TensorDataset(mt.tensor(XS), mt.tensor(YS), mt.tensor(YS > 40))
    train, _ = random_split(ds, [0.7, 0.3], generator=mt.Generator().manual_seed(0))
    slow = [list(DataLoader(d, batch_size=3, collate_fn=lambda b: default_collate(b)))
            for d in (ds, train)]

    def per_sample_access(self, index):
        raise AssertionError("per-sample __getitem__ used")

    monkeypatch.setattr(TensorDataset, "__getitem__", per_sample_access)
    for d, expected in zip((ds, train), slow):
        fast = list(DataLoader(d, batch_size=3))
        assert len(fast) == len(expected)
        for a, b in zip(fast, expected):
            assert isinstance(a, list) and len(a) == 3
            for u, v in zip(a, b):
                assert u.dtype == v.dtype and u.shape == v.shape
                np.testing.assert_array_equal(u.numpy(), v.numpy())
    batch = next(iter(DataLoader(ds, batch_size=4)))
    batch[0][0, 0] = 99.0
    assert ds.tensors[0][0, 0].item() != 99.0          # batches do not alias the dataset


def test_shuffle_is_a_fresh_permutation_each_epoch():
    ds = TensorDataset(mt.arange(40))
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=mt.Generator().manual_seed(0))
    epochs = [[i for (b,) in loader for i in b.tolist()] for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(40))
    assert epochs[0] != epochs[1] != epochs[2] and epochs[0] != list(range(40))
    again = DataLoader(ds, batch_size=8, shuffle=True, generator=mt.Generator().manual_seed(0))
    assert [[i for (b,) in again for i in b.tolist()] for _ in range(3)] == epochs
    mt.manual_seed(11)
    first = [b.tolist() for (b,) in DataLoader(ds, batch_size=8, shuffle=True)]
    mt.manual_seed(11)
    assert [b.tolist() for (b,) in DataLoader(ds, batch_size=8, shuffle=True)] == first


def test_drop_last_and_len():
    ds = TensorDataset(mt.arange(10))
    assert [len(b) for (b,) in DataLoader(ds, batch_size=4)] == [4, 4, 2]
    assert [len(b) for (b,) in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=None)) == 10
    shuffled = DataLoader(ds, batch_size=4, shuffle=True, drop_last=True)
    assert all(len(b) == 4 for (b,) in shuffled) and len(list(shuffled)) == 2


def test_samplers_and_batch_samplers_in_loader(torch):
    data = list(range(10, 20))
    got, want = loader_pair(torch, data, batch_size=2, sampler=[9, 0, 3])
    assert [b.tolist() for b in got] == [b.tolist() for b in want] == [[19, 10], [13]]
    got, want = loader_pair(torch, data, batch_sampler=[[0, 1], [9]])
    assert [b.tolist() for b in got] == [b.tolist() for b in want] == [[10, 11], [19]]
    assert len(DataLoader(data, batch_sampler=[[0, 1], [9]])) == 2

    class Evens(Sampler):
        def __iter__(self):
            return iter(range(0, 10, 2))

        def __len__(self):
            return 5

    ds = TensorDataset(mt.arange(10) * 2)
    assert [b.tolist() for (b,) in DataLoader(ds, sampler=Evens(), batch_size=2)] == \
        [[0, 4], [8, 12], [16]]

    class Reversed(SequentialSampler):                  # overrides __iter__: no fast path
        def __iter__(self):
            return reversed(range(len(self.data_source)))

    assert [b.tolist() for (b,) in DataLoader(ds, sampler=Reversed(ds), batch_size=4)] == \
        [[18, 16, 14, 12], [10, 8, 6, 4], [2, 0]]
    collate_calls = list(DataLoader(data, batch_size=3, collate_fn=lambda b: tuple(b)))
    assert collate_calls == [(10, 11, 12), (13, 14, 15), (16, 17, 18), (19,)]


CONFLICTS = [
    dict(sampler=[0], shuffle=True),
    dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], drop_last=True),
    dict(batch_size=None, drop_last=True),
    dict(num_workers=-1),
    dict(prefetch_factor=2),
    dict(persistent_workers=True),
    dict(timeout=-1),
    dict(batch_size=0),
    dict(multiprocessing_context="spawn"),
]


@pytest.mark.parametrize("kwargs", CONFLICTS, ids=lambda k: ",".join(k))
def test_argument_errors_match_torch(torch, kwargs):
    with pytest.raises(Exception) as theirs:
        torch.utils.data.DataLoader(range(3), **kwargs)
    with pytest.raises(type(theirs.value)) as ours:
        DataLoader(range(3), **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_attributes_frozen_after_init():
    loader = DataLoader(range(3), batch_size=2)
    for name in ("batch_size", "sampler", "drop_last", "dataset"):
        with pytest.raises(ValueError, match=f"{name} attribute should not be set after"):
            setattr(loader, name, None)
    loader.num_workers = 0                               # other attributes stay settable


class Countdown(IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(self.n - 1 - start, -1, -step))

    def __len__(self) -> int:
        return self.n


def test_iterable_dataset(torch):
    assert [b.tolist() for b in DataLoader(Countdown(7), batch_size=3)] == [[6, 5, 4], [3, 2, 1],
                                                                            [0]]
    assert [b.tolist() for b in DataLoader(Countdown(7), batch_size=3, drop_last=True)] == \
        [[6, 5, 4], [3, 2, 1]]
    assert list(DataLoader(Countdown(3), batch_size=None)) == [2, 1, 0]
    assert len(DataLoader(Countdown(7), batch_size=3)) == 3
    assert len(DataLoader(Countdown(7), batch_size=3, drop_last=True)) == 2
    for kwargs in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected "
                                             "unspecified"):
            DataLoader(Countdown(3), **kwargs)
    assert get_worker_info() is None


# ----------------------------------------------------------------- worker processes
class ReluDataset(Dataset):
    """Every sample runs an OpenMP-sized kernel in the worker."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i):
        big = mt.full((1_000_000,), float(i) - 3.0)
        return mt.relu(big).sum(), i, get_worker_info().id


class Faulty(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError("sample 2 is broken")
        return i


def test_workers_do_not_hang_after_openmp_ran():
    """The parent runs an OpenMP kernel first; forked workers would then hang in libgomp,
    spawned ones must not. `timeout` turns a hang into a RuntimeError."""
    mt.relu(mt.randn(1_000_000))
    loader = DataLoader(ReluDataset(), batch_size=2, num_workers=2, timeout=60,
                        persistent_workers=True)
    for _ in range(2):
        batches = list(loader)
        sums = [s.tolist() for s, _, _ in batches]
        assert sums == [[0.0, 0.0], [0.0, 0.0], [1e6, 2e6], [3e6, 4e6]]
        assert [i.tolist() for _, i, _ in batches] == [[0, 1], [2, 3], [4, 5], [6, 7]]
        assert [w.tolist() for _, _, w in batches] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    pool = loader._pool
    assert pool.alive()
    del loader
    assert not pool.processes                            # shut down with the loader


def test_workers_shuffle_tensor_dataset_and_iterable_sharding():
    ds = TensorDataset(mt.arange(30), mt.arange(30) * 2.0)
    g = mt.Generator().manual_seed(4)
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g, num_workers=2,
                        persistent_workers=True, timeout=60)
    epochs = []
    for _ in range(2):
        batches = list(loader)
        assert [len(i) for i, _ in batches] == [4] * 7 + [2]
        for i, doubled in batches:
            np.testing.assert_array_equal(doubled.numpy(), i.numpy() * 2.0)
        epochs.append([v for i, _ in batches for v in i.tolist()])
        assert sorted(epochs[-1]) == list(range(30))
    assert epochs[0] != epochs[1]
    # An IterableDataset: each worker yields its share; batches alternate between workers.
    got = [b.tolist() for b in DataLoader(Countdown(9), batch_size=2, num_workers=2,
                                          timeout=60)]
    assert got == [[8, 6], [7, 5], [4, 2], [3, 1], [0]]


def test_worker_errors_reach_the_main_process():
    loader = DataLoader(Faulty(), batch_size=1, num_workers=1, timeout=60)
    with pytest.raises(KeyError, match="sample 2 is broken") as info:
        list(loader)
    assert "DataLoader worker process" in str(info.value)


class Stalls(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        if i == 1:
            import os
            os._exit(3)                                  # a worker crash
        import time
        time.sleep(30)                                   # a worker that never answers


def test_worker_timeout_and_crash_raise_instead_of_hanging():
    import time

    start = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        list(DataLoader(Stalls(), batch_size=None, sampler=[0, 2], num_workers=1, timeout=0.5))
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited"):
        list(DataLoader(Stalls(), batch_size=None, sampler=[1], num_workers=1))
    assert time.monotonic() - start < 15


def test_unpicklable_arguments_are_explained_with_spawn():
    loader = DataLoader(TensorDataset(mt.arange(4)), num_workers=1, collate_fn=lambda b: b,
                        multiprocessing_context="spawn")
    with pytest.raises(Exception, match="must be picklable"):
        list(loader)


def test_default_start_method_is_the_platforms_and_others_can_be_chosen():
    import multiprocessing

    loader = DataLoader(range(4), batch_size=2, num_workers=1, collate_fn=lambda b: b,
                        timeout=60)
    assert _worker.get_context(None).get_start_method() == \
        multiprocessing.get_context().get_start_method()
    assert list(loader) == [[0, 1], [2, 3]]          # forked: a lambda needs no pickling
    assert _worker.get_context("spawn").get_start_method() == "spawn"
    with pytest.raises(ValueError, match="valid start method"):
        DataLoader(range(3), num_workers=1, multiprocessing_context="nope")


def test_no_warnings_in_plain_loading():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(DataLoader(TensorDataset(mt.arange(5)), batch_size=2, shuffle=True))
