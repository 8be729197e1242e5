"""`save` and `load` for state_dicts, in the safetensors format and without pickle.

File layout (safetensors):

    8 bytes          N, the header length, unsigned little-endian
    N bytes          a JSON object, UTF-8, padded with spaces to a multiple of 8 bytes:
                       {"__metadata__": {str: str},
                        "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
                        ...}
    the rest         the tensors' bytes, little-endian, C order; tensor <name> occupies
                     bytes [b, e) of this data section

dtypes: F64 F32 F16 I64 I32 I16 I8 U8 BOOL. A flat state_dict (str -> Tensor) is stored
under its own keys, so `safetensors.numpy.load_file` / `safetensors.torch.load_file` read
it. Everything else (nesting, int dict keys, tuples, numbers, strings, None: an
optimizer's state_dict) is described by a JSON tree in `__metadata__["microtorch.structure"]`
that refers to tensors by name:

    JSON null/bool/int/str/float    themselves
    [...]                           a list
    {"tuple": [...]}                a tuple
    {"dict": [[key, value], ...]}   a dict ("odict" for an OrderedDict); keys are scalars
    {"tensor": "<name>"}            a Tensor ({"ndarray": ...} for a numpy array)
    {"float": "nan"|"inf"|"-inf"}   a float JSON cannot spell

`load` never executes anything from the file and checks every field before allocating:
the header length is bounded (100 MB) and fits in the file, the JSON is strict (no
duplicate keys, no NaN), dtypes come from the list above, shapes are non-negative ints whose
byte size equals the span of `data_offsets`, and the spans tile the data section exactly
(in order, no overlap, no gap, nothing past the end). Anything else raises ValueError.
So the memory allocated is at most the file's size.
"""
from __future__ import annotations

import collections
import contextlib
import io
import json
import math
import os
import secrets
import stat
import struct
import sys

import numpy as np

from ._device import check_device
from ._tensor import Tensor

__all__ = ["load", "save"]

MAX_HEADER_BYTES = 100_000_000
STRUCTURE_KEY = "microtorch.structure"
STRUCTURE_VERSION = 1
_MAX_DEPTH = 200                      # nesting of saved containers (also bounds recursion)
_MAX_NDIM = 64 if int(np.__version__.split(".")[0]) >= 2 else 32

_NUMPY_OF = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_CODE_OF = {(d.kind, d.itemsize): code for code, d in _NUMPY_OF.items()}


# ----------------------------------------------------------------------------- saving
def save(obj, f, pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False) -> None:
    """Write `obj` (a state_dict: tensors in dicts/lists/tuples with numbers, strings,
    None) to `f`, a path or a writable binary file.

    A path is written atomically: to a temporary file in the same directory, flushed and
    fsync-ed, then renamed over `f`; if anything fails, an existing `f` is left intact.
    """
    encoder = _Encoder()
    root = encoder.encode(obj, "", 0)
    payload = _serialize(root, encoder)
    if hasattr(f, "write"):
        payload(f)
    else:
        _write_atomically(f, payload)


class _Encoder:
    """Walks the object, collecting tensors (by name) and building the structure tree."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.name_of: dict[int, str] = {}          # id(tensor) -> name: saved once, shared

    def encode(self, obj, path: str, depth: int):
        if depth > _MAX_DEPTH:
            raise ValueError(f"microtorch.save: object nested deeper than {_MAX_DEPTH} levels "
                             "(or it contains itself)")
        if isinstance(obj, Tensor):
            return {"tensor": self._add(obj, obj._data, path)}
        if isinstance(obj, np.ndarray):
            return {"ndarray": self._add(obj, obj, path)}
        if isinstance(obj, dict):
            tag = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            return {tag: [[self._key(k, path), self.encode(v, _join(path, k), depth + 1)]
                          for k, v in obj.items()]}
        if isinstance(obj, list):
            return [self.encode(v, _join(path, i), depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v, _join(path, i), depth + 1)
                              for i, v in enumerate(obj)]}
        if _is_scalar(obj):
            return _encode_scalar(obj)
        what = f" at {path!r}" if path else ""
        if callable(getattr(obj, "state_dict", None)):
            raise TypeError(
                f"microtorch.save cannot save a {type(obj).__name__} object{what}: it stores "
                "state_dicts, not Python objects (it never uses pickle). Save "
                "obj.state_dict() and restore it with obj.load_state_dict(microtorch.load(f)).")
        raise TypeError(
            f"microtorch.save cannot save an object of type {type(obj).__name__}{what}: only "
            "tensors, numpy arrays, dicts, lists, tuples, str, int, float, bool and None.")

    def _key(self, key, path: str):
        if not _is_scalar(key):
            raise TypeError(f"microtorch.save: dict keys must be str, int, float, bool or None; "
                            f"got {type(key).__name__} at {path!r}")
        return _encode_scalar(key)

    def _add(self, obj, array: np.ndarray, path: str) -> str:
        if id(obj) in self.name_of:
            return self.name_of[id(obj)]
        if (array.dtype.kind, array.dtype.itemsize) not in _CODE_OF:
            raise TypeError(f"microtorch.save: unsupported dtype {array.dtype} at {path!r}")
        name = path or "tensor"
        n = 0
        while name in self.arrays or name == "__metadata__":
            n += 1
            name = f"{path or 'tensor'}#{n}"
        self.arrays[name] = array
        self.name_of[id(obj)] = name
        return name


def _join(path: str, key) -> str:
    return str(key) if not path else f"{path}.{key}"


def _is_scalar(x) -> bool:
    return x is None or isinstance(x, (bool, int, float, str, np.bool_, np.integer, np.floating))


def _encode_scalar(x):
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return {"float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
    return x


def _little_endian_c_order(array: np.ndarray) -> np.ndarray:
    """The array as contiguous little-endian bytes (a copy only when needed)."""
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and sys.byteorder == "big"):
        array = array.astype(array.dtype.newbyteorder("<"))
    return array if array.flags.c_contiguous else array.copy(order="C")   # keeps 0-d as 0-d


def _serialize(root, encoder: _Encoder):
    """Lay out header and data; return a function that writes the file to a binary stream."""
    arrays = {name: _little_endian_c_order(a) for name, a in encoder.arrays.items()}
    # Data order: larger items first, so every tensor starts at a multiple of its item size.
    order = sorted(arrays, key=lambda name: -arrays[name].dtype.itemsize)
    offsets, position = {}, 0
    for name in order:
        offsets[name] = (position, position + arrays[name].nbytes)
        position += arrays[name].nbytes
    structure = {"version": STRUCTURE_VERSION, "root": root}
    header = {"__metadata__": {"format": "pt",
                               STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"),
                                                         allow_nan=False)}}
    for name, a in arrays.items():
        header[name] = {"dtype": _CODE_OF[(a.dtype.kind, a.dtype.itemsize)],
                        "shape": list(a.shape), "data_offsets": list(offsets[name])}
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(f"microtorch.save: the header would be {len(text)} bytes, over the "
                         f"{MAX_HEADER_BYTES}-byte limit (too many tensors or too much metadata)")

    def write(f) -> None:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        _write_arrays(f, [arrays[name] for name in order])

    return write


def _write_arrays(f, arrays) -> None:
    for a in arrays:
        if a.nbytes:
            f.write(memoryview(a.reshape(-1).view(np.uint8)))


def _write_atomically(path, write) -> None:
    path = os.fsdecode(os.fspath(path))
    if os.path.islink(path):
        path = os.path.realpath(path)               # write through a symlink, like open()
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))   # keep an old file's mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- loading
def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Read what `save` wrote (or any safetensors file) from a path or a binary file.

    Tensors come back as fresh, writable microtorch Tensors on the CPU. A safetensors file
    without microtorch's structure entry loads as a dict name -> Tensor in header order.
    `weights_only` is accepted for compatibility: nothing is ever unpickled or executed.
    """
    if map_location is not None and not callable(map_location) \
            and not isinstance(map_location, dict):
        check_device(map_location)                 # everything loads on the CPU
    if hasattr(f, "read"):
        return _load_stream(f)
    with open(os.fspath(f), "rb") as stream:
        return _load_stream(stream)


def _corrupt(message: str) -> ValueError:
    return ValueError(f"microtorch.load: invalid or corrupted file: {message}")


def _load_stream(f):
    f, start, size = _measured(f)
    first = _read_exact(f, 8, "the 8-byte header length")
    if first[:4] == b"PK\x03\x04":
        raise ValueError("microtorch.load: this looks like a PyTorch zip checkpoint (pickle); "
                         "microtorch reads safetensors files only (save with microtorch.save "
                         "or safetensors.torch.save_file)")
    (n,) = struct.unpack("<Q", first)
    if n > MAX_HEADER_BYTES:
        raise _corrupt(f"declared header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit")
    if 8 + n > size:
        raise _corrupt(f"declared header length {n} exceeds the file size ({size} bytes): "
                       "truncated or not a safetensors file")
    header = _parse_header(_read_exact(f, n, "the header"))
    data_start, data_size = start + 8 + n, size - 8 - n
    entries = _check_entries(header, data_size)
    root = _check_structure(header.get("__metadata__"), entries)
    tensors = {}
    for name, (code, shape, begin, end) in sorted(entries.items(), key=lambda e: e[1][2]):
        tensors[name] = _read_tensor(f, data_start + begin, code, shape, end - begin, name)
    if root is _FLAT:
        return {name: tensors[name] for name in entries}
    return _build(root, tensors)


def _measured(f):
    """`(stream, start, size)`: size counts the bytes from the current position to the end.
    A stream that cannot seek is read into memory first."""
    seekable = getattr(f, "seekable", None)
    if seekable is not None and seekable():
        start = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(start)
        return f, start, end - start
    data = f.read()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("microtorch.load expects a binary file (opened with 'rb')")
    return io.BytesIO(data), 0, len(data)


def _read_exact(f, n: int, what: str) -> bytes:
    data = f.read(n)
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("microtorch.load expects a binary file (opened with 'rb')")
    if len(data) != n:
        raise _corrupt(f"file ends inside {what} (truncated)")
    return bytes(data)


def _strict_json(text: str, what: str):
    def unique(pairs):
        out = {}
        for key, value in pairs:
            if key in out:
                raise _corrupt(f"duplicate key {_short(key)} in {what}")
            out[key] = value
        return out

    def no_constants(name):
        raise _corrupt(f"{what} contains {name}, which is not JSON")

    try:
        return json.loads(text, object_pairs_hook=unique, parse_constant=no_constants)
    except RecursionError:
        raise _corrupt(f"{what} is nested too deeply") from None
    except ValueError as err:
        if str(err).startswith("microtorch.load"):
            raise
        raise _corrupt(f"{what} is not valid JSON ({err})") from None


def _parse_header(raw: bytes) -> dict:
    if raw[:1] != b"{":
        raise _corrupt("the header does not start with '{'")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _corrupt("the header is not UTF-8") from None
    header = _strict_json(text, "the header")
    if not isinstance(header, dict):
        raise _corrupt("the header is not a JSON object")
    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and all(
            isinstance(v, str) for v in meta.values())):
        raise _corrupt("__metadata__ must map strings to strings")
    return header


def _is_int(x) -> bool:
    return type(x) is int


def _check_entries(header: dict, data_size: int) -> dict:
    """Validate every tensor entry; return name -> (dtype code, shape, begin, end)."""
    entries = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        what = f"tensor {_short(name)}"
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise _corrupt(f"{what} must have exactly the fields dtype, shape, data_offsets")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str) or code not in _NUMPY_OF:
            raise _corrupt(f"{what} has unsupported dtype {_short(code)} "
                           f"(supported: {', '.join(_NUMPY_OF)})")
        if not isinstance(shape, list) or len(shape) > _MAX_NDIM or not all(
                _is_int(d) and 0 <= d < 2**63 for d in shape):
            raise _corrupt(f"{what} has an invalid shape {_short(shape)} "
                           f"(expected at most {_MAX_NDIM} non-negative ints)")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_int, offsets))
                and 0 <= offsets[0] <= offsets[1]):
            raise _corrupt(f"{what} has invalid data_offsets {_short(offsets)}")
        itemsize = _NUMPY_OF[code].itemsize
        if math.prod(d for d in shape if d) * itemsize >= 2**62:
            raise _corrupt(f"{what} has an impossibly large shape {_short(shape)}")
        nbytes = math.prod(shape) * itemsize
        begin, end = offsets
        if end - begin != nbytes:
            raise _corrupt(f"{what}: shape {_short(shape)} of {code} needs {nbytes} bytes but "
                           f"data_offsets span {end - begin}")
        if end > data_size:
            raise _corrupt(f"{what} ends at byte {end} of a {data_size}-byte data section "
                           "(truncated?)")
        entries[name] = (code, tuple(shape), begin, end)
    position = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda e: (e[1][2], e[1][3])):
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else \
                "leaves a gap after the previous tensor"
            raise _corrupt(f"tensor {_short(name)} {problem} "
                           "(data_offsets must tile the data section)")
        position = end
    if position != data_size:
        raise _corrupt(f"the data section has {data_size - position} bytes not described by "
                       "the header")
    return entries


def _read_tensor(f, offset: int, code: str, shape: tuple, nbytes: int, name: str) -> Tensor:
    array = np.empty(shape, dtype=_NUMPY_OF[code])           # nbytes <= file size, checked
    buffer = memoryview(array.reshape(-1).view(np.uint8))
    f.seek(offset)
    filled = 0
    while filled < nbytes:
        readinto = getattr(f, "readinto", None)
        if readinto is not None:
            got = readinto(buffer[filled:])
        else:
            chunk = f.read(nbytes - filled)
            got = len(chunk)
            buffer[filled:filled + got] = chunk
        if not got:
            raise _corrupt(f"file ends inside tensor {_short(name)} (truncated)")
        filled += got
    if code == "BOOL" and np.any(array.view(np.uint8) > 1):
        raise _corrupt(f"tensor {_short(name)} holds bool bytes other than 0 and 1")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return Tensor._wrap(array)


# -------------------------------------------------------------------- the structure tree
_SCALAR_TAGS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_FLAT = object()                      # "no structure entry": a plain safetensors file


def _check_structure(meta, entries: dict):
    """The root of the structure tree from the metadata, validated (`_FLAT` when the file
    has none)."""
    if meta is None or STRUCTURE_KEY not in meta:
        return _FLAT
    doc = _strict_json(meta[STRUCTURE_KEY], "the microtorch structure")
    if not isinstance(doc, dict) or set(doc) != {"version", "root"}:
        raise _corrupt("the microtorch structure must be {\"version\": ..., \"root\": ...}")
    if not _is_int(doc["version"]) or doc["version"] != STRUCTURE_VERSION:
        raise _corrupt(f"structure version {_short(doc['version'])} is not supported (this "
                       f"microtorch reads version {STRUCTURE_VERSION})")
    _check_node(doc["root"], entries, 0)
    return doc["root"]


def _check_node(node, entries: dict, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise _corrupt("the structure is nested too deeply")
    if node is None or isinstance(node, (bool, int, float, str)):
        return
    if isinstance(node, list):
        for item in node:
            _check_node(item, entries, depth + 1)
        return
    if not isinstance(node, dict) or len(node) != 1:
        raise _corrupt(f"bad structure node {_short(node)}")
    ((tag, value),) = node.items()
    if tag in ("tensor", "ndarray"):
        if not isinstance(value, str) or value not in entries:
            raise _corrupt(f"the structure refers to a missing tensor {_short(value)}")
    elif tag == "float":
        if value not in _SCALAR_TAGS:
            raise _corrupt(f"bad float {_short(value)} in the structure")
    elif tag == "tuple":
        if not isinstance(value, list):
            raise _corrupt("a tuple node must hold a list")
        _check_node(value, entries, depth + 1)
    elif tag in ("dict", "odict"):
        if not isinstance(value, list):
            raise _corrupt("a dict node must hold a list of [key, value] pairs")
        for pair in value:
            if not (isinstance(pair, list) and len(pair) == 2 and _is_key(pair[0])):
                raise _corrupt(f"bad dict item {_short(pair)} in the structure")
            _check_node(pair[1], entries, depth + 1)
    else:
        raise _corrupt(f"unknown structure tag {_short(tag)}")


def _is_key(node) -> bool:
    if node is None or isinstance(node, (bool, int, float, str)):
        return True
    return isinstance(node, dict) and len(node) == 1 and node.get("float") in _SCALAR_TAGS


def _short(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _build(node, tensors: dict):
    """The Python object a (validated) structure node describes."""
    if isinstance(node, list):
        return [_build(item, tensors) for item in node]
    if not isinstance(node, dict):
        return node
    ((tag, value),) = node.items()
    if tag == "tensor":
        return tensors[value]
    if tag == "ndarray":
        return tensors[value]._data
    if tag == "float":
        return _SCALAR_TAGS[value]
    if tag == "tuple":
        return tuple(_build(item, tensors) for item in value)
    out = collections.OrderedDict() if tag == "odict" else {}
    for key, item in value:
        out[_build(key, tensors)] = _build(item, tensors)
    return out
