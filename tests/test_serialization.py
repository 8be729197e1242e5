"""microtorch.save / microtorch.load: the safetensors layout, round trips, interop with the
safetensors package, atomic writes, and hostile files."""
from __future__ import annotations

import collections
import io
import json
import math
import os
import struct
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import microtorch as mt
from microtorch import serialization
from microtorch.serialization import load, save

ALL_DTYPES = [mt.float32, mt.float64, mt.float16, mt.int64, mt.int32, mt.int16, mt.int8,
              mt.uint8, mt.bool]


def sample(dtype, shape=(2, 3), seed=0):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) * 50
    if dtype == mt.bool:
        values = values > 0
    elif dtype == mt.uint8:
        values = np.abs(values)
    return mt.tensor(np.asarray(values).astype(dtype.np))


def model_state():
    sd = collections.OrderedDict()
    for i, d in enumerate(ALL_DTYPES):
        sd[f"layer{i}.{d.name}"] = sample(d, seed=i)
    sd["scalar"] = mt.tensor(2.5)
    sd["scalar_int"] = mt.tensor(7)
    sd["empty"] = mt.zeros(0, 3)
    sd["empty_int"] = mt.zeros(4, 0, dtype=mt.int32)
    sd["transposed"] = mt.arange(12.0).reshape(3, 4).t()
    sd["strided"] = mt.arange(20, dtype=mt.int16)[::3]
    return sd


def saved_bytes(obj) -> bytes:
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()


def assert_tensors_equal(a, b):
    assert isinstance(a, mt.Tensor) and isinstance(b, mt.Tensor)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def small_valid_file() -> bytes:
    return saved_bytes({"w": mt.arange(6.0).reshape(2, 3), "n": mt.tensor([1, 2], dtype=mt.int8),
                        "f": mt.tensor([True, False]), "meta": {"step": 3, "eps": 1e-8}})


def craft(header, data: bytes = b"", declared: int | None = None) -> bytes:
    """A file with the given header (dict -> JSON, or raw bytes) and data section."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if declared is None else declared) + raw + data


# ----------------------------------------------------------------------- round trips
def test_model_state_dict_round_trip(tmp_path):
    sd = model_state()
    path = tmp_path / "model.safetensors"
    save(sd, path)
    back = load(path)
    assert type(back) is collections.OrderedDict and list(back) == list(sd)
    for key in sd:
        assert_tensors_equal(back[key], sd[key])
        data = back[key].numpy()
        assert data.flags.owndata and data.flags.writeable and data.flags.c_contiguous
    back["scalar"].add_(1.0)                                  # fresh and writable
    assert back["scalar"].item() == 3.5 and sd["scalar"].item() == 2.5
    assert back["transposed"].tolist() == sd["transposed"].tolist()


def test_file_layout_is_safetensors():
    raw = saved_bytes({"a": mt.ones(3, dtype=mt.float16), "b": mt.arange(2), "c": mt.tensor(1.0)})
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0 and raw[8:9] == b"{"
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"]["format"] == "pt"
    assert header["a"] == {"dtype": "F16", "shape": [3], "data_offsets": [20, 26]}
    assert header["b"] == {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}
    assert header["c"] == {"dtype": "F32", "shape": [], "data_offsets": [16, 20]}
    data = raw[8 + n:]
    assert len(data) == 26                               # larger items first: aligned
    assert np.frombuffer(data[0:16], "<i8").tolist() == [0, 1]
    assert np.frombuffer(data[16:20], "<f4").tolist() == [1.0]
    structure = json.loads(header["__metadata__"]["microtorch.structure"])
    assert structure == {"version": 1, "root": {"dict": [["a", {"tensor": "a"}],
                                                         ["b", {"tensor": "b"}],
                                                         ["c", {"tensor": "c"}]]}}


def test_optimizer_like_nested_state_round_trip():
    shared = mt.randn(3)
    state = {
        "state": {0: {"step": mt.tensor(10.0), "exp_avg": mt.randn(3), "exp_avg_sq": shared},
                  1: {"momentum_buffer": None}, 2: {}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "maximize": False, "foreach": None,
                          "params": [0, 1, 2], "name": "décor ☃", "big": 2**80,
                          "inf": math.inf, "ninf": -math.inf, "nan": math.nan, "neg0": -0.0}],
        "also": [shared, (1, [2, {"x": None}]), "text"],
        "np": np.arange(4, dtype=np.int32), "np_scalar": np.float32(0.5),
        (None if False else 3.5): "float key", True: "bool key", None: "none key",
    }
    back = load(io.BytesIO(saved_bytes(state)))
    assert list(back) == list(state)
    assert list(back["state"]) == [0, 1, 2] and back["state"][1] == {"momentum_buffer": None}
    assert back["state"][2] == {}
    for key in ("step", "exp_avg", "exp_avg_sq"):
        assert_tensors_equal(back["state"][0][key], state["state"][0][key])
    group, original = back["param_groups"][0], state["param_groups"][0]
    assert group["betas"] == (0.9, 0.999) and isinstance(group["betas"], tuple)
    for key in ("lr", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "params", "name",
                "big", "inf", "ninf"):
        assert group[key] == original[key] and type(group[key]) is type(original[key]), key
    assert math.isnan(group["nan"]) and math.copysign(1, group["neg0"]) == -1
    assert back["also"][0] is back["state"][0]["exp_avg_sq"]   # one tensor, saved once
    assert back["also"][1:] == [(1, [2, {"x": None}]), "text"]
    assert isinstance(back["np"], np.ndarray) and back["np"].tolist() == [0, 1, 2, 3]
    assert back["np_scalar"] == 0.5
    assert back[3.5] == "float key" and back[True] == "bool key" and back[None] == "none key"


@pytest.mark.parametrize("obj", [mt.arange(5), [mt.ones(2), 3], (1, "a"), {}, 42, None],
                         ids=["tensor", "list", "tuple", "empty", "int", "none"])
def test_other_top_level_objects(obj):
    back = load(io.BytesIO(saved_bytes(obj)))
    if isinstance(obj, mt.Tensor):
        assert_tensors_equal(back, obj)
    elif isinstance(obj, list):
        assert_tensors_equal(back[0], obj[0])
        assert back[1] == 3 and len(back) == 2
    else:
        assert back == obj and type(back) is type(obj)


def test_tensor_names_stay_unique():
    weird = {"__metadata__": mt.ones(1), "a": {"b": mt.zeros(1)}, "a.b": mt.full((1,), 2.0)}
    back = load(io.BytesIO(saved_bytes(weird)))
    assert back["__metadata__"].tolist() == [1.0]
    assert back["a"]["b"].tolist() == [0.0] and back["a.b"].tolist() == [2.0]


# ----------------------------------------------------------------------- files and paths
def test_paths_and_file_objects(tmp_path):
    sd = {"w": mt.randn(4, 2)}
    for target in (str(tmp_path / "a.st"), tmp_path / "b.st", os.fsencode(tmp_path / "c.st")):
        save(sd, target)
        assert_tensors_equal(load(target)["w"], sd["w"])
    with open(tmp_path / "d.st", "wb") as f:
        save(sd, f)
    with open(tmp_path / "d.st", "rb") as f:
        assert_tensors_equal(load(f, map_location="cpu", weights_only=False)["w"], sd["w"])
    # A file object positioned after other content: load reads from the current position.
    buf = io.BytesIO()
    buf.write(b"prefix")
    save(sd, buf)
    buf.seek(6)
    assert_tensors_equal(load(buf, map_location=mt.device("cpu"))["w"], sd["w"])

    class ReadOnlyStream:                                     # no seek, no readinto
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def read(self, n=-1):
            return self.inner.read(n)

    assert_tensors_equal(load(ReadOnlyStream(saved_bytes(sd)))["w"], sd["w"])
    with pytest.raises(RuntimeError, match="cpu"):
        load(tmp_path / "a.st", map_location="cuda")


def test_overwrite_keeps_mode_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "ckpt.st"
    save({"v": mt.zeros(2)}, path)
    os.chmod(path, 0o640)
    save({"v": mt.ones(2)}, path)
    assert load(path)["v"].tolist() == [1.0, 1.0]
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["ckpt.st"]


@pytest.mark.parametrize("failure", ["mid-write", "fsync", "rename"])
def test_failed_save_leaves_old_file_intact(tmp_path, monkeypatch, failure):
    path = tmp_path / "ckpt.st"
    save({"v": mt.arange(1000.0)}, path)
    before = path.read_bytes()

    def half_write(f, arrays):
        f.write(b"\0" * 100)
        raise OSError("disk full")

    def boom(*args, **kwargs):
        raise OSError("simulated crash")

    target = {"mid-write": (serialization, "_write_arrays", half_write),
              "fsync": (os, "fsync", boom), "rename": (os, "replace", boom)}[failure]
    monkeypatch.setattr(*target)
    with pytest.raises(OSError):
        save({"v": mt.zeros(5000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.st"]
    assert load(path)["v"].shape == (1000,)


# ----------------------------------------------------------------------- interop
def test_safetensors_packages_read_our_files(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    sd = model_state()
    path = str(tmp_path / "model.safetensors")
    save(sd, path)
    arrays = st_numpy.load_file(path)
    assert set(arrays) == set(sd)
    for key, t in sd.items():
        assert arrays[key].dtype == t.numpy().dtype and arrays[key].shape == tuple(t.shape)
        np.testing.assert_array_equal(arrays[key], t.numpy())
    try:
        import safetensors.torch as st_torch
        import torch
    except ImportError:
        return
    tensors = st_torch.load_file(path)
    for key, t in sd.items():
        assert str(tensors[key].dtype) == str(t.dtype)
        np.testing.assert_array_equal(tensors[key].numpy(), t.numpy())
    model = torch.nn.Linear(3, 2)
    mine = {k: mt.tensor(v.detach().numpy()) for k, v in model.state_dict().items()}
    save(mine, path)
    model.load_state_dict(st_torch.load_file(path))


def test_we_read_safetensors_package_files(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    arrays = {"b": np.ones(3, np.float32), "a": np.arange(6, dtype=np.int16).reshape(2, 3),
              "c": np.array(True), "d": np.zeros((0, 2), np.float64)}
    path = str(tmp_path / "np.safetensors")
    st_numpy.save_file(arrays, path, metadata={"note": "hi"})
    back = load(path)
    assert isinstance(back, dict) and set(back) == set(arrays)
    for key, value in arrays.items():
        assert isinstance(back[key], mt.Tensor) and back[key].numpy().dtype == value.dtype
        np.testing.assert_array_equal(back[key].numpy(), value)


# ----------------------------------------------------------------------- refusals
def test_saving_a_module_suggests_state_dict():
    try:
        from microtorch import nn
        module = nn.Linear(2, 2)
    except (ImportError, AttributeError):
        class Linear:
            def state_dict(self):
                return {}
        module = Linear()
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        save(module, io.BytesIO())
    with pytest.raises(TypeError, match=r"state_dict\(\).*"):
        save({"model": module}, io.BytesIO())


@pytest.mark.parametrize("obj", [{"s": {1, 2}}, object(), {(1, 2): 3}, {"f": lambda: 0},
                                 {"a": np.array(["x"])}])
def test_unsupported_objects(obj):
    with pytest.raises(TypeError):
        save(obj, io.BytesIO())


def test_self_containing_list_is_refused():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested deeper"):
        save(loop, io.BytesIO())


def test_pytorch_zip_checkpoint_is_explained():
    with pytest.raises(ValueError, match="PyTorch zip checkpoint"):
        load(io.BytesIO(b"PK\x03\x04" + b"\0" * 100))


# ----------------------------------------------------------------------- hostile files
def test_every_truncation_is_rejected():
    raw = small_valid_file()
    assert load(io.BytesIO(raw))["meta"] == {"step": 3, "eps": 1e-8}
    for cut in range(len(raw)):
        with pytest.raises(ValueError):
            load(io.BytesIO(raw[:cut]))


def _entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


HOSTILE = {
    "empty file": b"",
    "huge header length": struct.pack("<Q", 2**64 - 1) + b"{}",
    "header over the limit": craft(b"{}", declared=200_000_000),
    "header longer than file": craft(b"{}" + b" " * 6, declared=1_000_000),
    "non-JSON header": craft(b"{not json}   "),
    "non-UTF-8 header": craft(b'{"\xff": 1}'),
    "header not an object": craft(b"[1, 2, 3]"),
    "header with leading space": craft(b' {"a": 1}'),
    "NaN in header": craft(b'{"x": NaN}'),
    "duplicate keys": craft(b'{"a": {}, "a": {}}'),
    "deep nesting": craft(b"{\"a\":" + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "huge shape": craft({"t": _entry(shape=(2**40, 2**40))}, b"\0" * 8),
    "huge shape with a zero": craft({"t": _entry(shape=(0, 2**62, 2**62), offsets=(0, 0))}),
    "shape too large for int64": craft({"t": _entry(shape=(2**64,))}, b"\0" * 8),
    "negative dim": craft({"t": _entry(shape=(-2,))}, b"\0" * 8),
    "float dim": craft({"t": _entry(shape=(2.0,))}, b"\0" * 8),
    "bool dim": craft({"t": _entry(shape=(True, 2))}, b"\0" * 8),
    "too many dims": craft({"t": _entry(shape=(1,) * 65, offsets=(0, 4))}, b"\0" * 4),
    "size mismatch": craft({"t": _entry(shape=(3,))}, b"\0" * 8),
    "offsets beyond EOF": craft({"t": _entry(offsets=(8, 16))}, b"\0" * 8),
    "offsets reversed": craft({"t": _entry(offsets=(8, 0))}, b"\0" * 8),
    "offsets negative": craft({"t": _entry(offsets=(-8, 0))}, b"\0" * 8),
    "offsets not a pair": craft({"t": _entry(offsets=(0, 8, 16))}, b"\0" * 8),
    "overlapping offsets": craft({"a": _entry(), "b": _entry(offsets=(4, 12))}, b"\0" * 12),
    "same offsets twice": craft({"a": _entry(), "b": _entry()}, b"\0" * 8),
    "gap between tensors": craft({"a": _entry(), "b": _entry(offsets=(12, 20))}, b"\0" * 20),
    "trailing bytes": craft({"a": _entry()}, b"\0" * 12),
    "bad dtype": craft({"t": _entry(dtype="BF16", shape=(4,))}, b"\0" * 8),
    "lowercase dtype": craft({"t": _entry(dtype="f32")}, b"\0" * 8),
    "object dtype": craft({"t": _entry(dtype="O")}, b"\0" * 8),
    "numeric dtype": craft({"t": _entry(dtype=5)}, b"\0" * 8),
    "extra entry field": craft({"t": {**_entry(), "x": 1}}, b"\0" * 8),
    "entry not an object": craft({"t": [1, 2]}),
    "metadata not str to str": craft({"__metadata__": {"a": 1}}),
    "bad bool bytes": craft({"t": _entry(dtype="BOOL", shape=(2,), offsets=(0, 2))}, b"\x01\x07"),
    "structure not JSON": craft({"__metadata__": {"microtorch.structure": "{oops"}}),
    "structure wrong version": craft({"__metadata__": {
        "microtorch.structure": '{"version": 99, "root": null}'}}),
    "structure missing tensor": craft({"__metadata__": {
        "microtorch.structure": '{"version": 1, "root": {"tensor": "nope"}}'}}),
    "structure unknown tag": craft({"__metadata__": {
        "microtorch.structure": '{"version": 1, "root": {"pickle": "os.system"}}'}}),
    "structure bad dict item": craft({"__metadata__": {
        "microtorch.structure": '{"version": 1, "root": {"dict": [[[1], 2]]}}'}}),
    "structure too deep": craft({"__metadata__": {
        "microtorch.structure": '{"version": 1, "root": ' + "[" * 500 + "]" * 500 + "}"}}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_rejected_quickly_and_cheaply(name, tmp_path):
    raw = HOSTILE[name]
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError) as info:
            load(io.BytesIO(raw))
        path = tmp_path / "hostile.st"
        path.write_bytes(raw)
        with pytest.raises(ValueError):
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 4 * len(raw) + 10_000_000                      # no allocation from claims
    assert str(info.value).startswith("microtorch.load")


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_are_rejected(seed):
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
    with pytest.raises(ValueError):
        load(io.BytesIO(raw))
    plausible = struct.pack("<Q", len(raw)) + raw              # a length that fits the file
    with pytest.raises(ValueError):
        load(io.BytesIO(plausible))


VALID = small_valid_file()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)),
                      min_size=1, max_size=4),
       cut=st.one_of(st.none(), st.integers(0, len(VALID))))
def test_fuzzed_files_load_or_raise_cleanly(edits, cut):
    raw = bytearray(VALID)
    for position, value in edits:
        raw[position] = value
    if cut is not None:
        raw = raw[:cut]
    try:
        out = load(io.BytesIO(bytes(raw)))
    except (ValueError, RuntimeError):
        return
    assert isinstance(out, dict)
