"""The `Tensor`: a numpy array plus what autograd needs to differentiate through it.

Storage is `_data`, a numpy array. A tensor made by a differentiable op has a `grad_fn`
(the graph node that made it); a leaf has none. Views share `_version`, a one-element
list counting in-place changes, so backward can tell when a saved value was modified.
Math lives in `microtorch.ops`; the methods here are thin entries to it.
"""
from __future__ import annotations

import builtins

import numpy as np

from . import _dtype
from ._device import CPU, check_device, device
from ._size import Size


class Tensor:
    """A multi-dimensional array that can record the operations made on it."""

    __slots__ = ("_data", "_requires_grad", "grad", "grad_fn", "_version", "_base",
                 "_grad_acc", "_retains_grad", "__weakref__", "__dict__")

    def __init__(self, *args) -> None:
        if len(args) == 1 and not isinstance(args[0], (builtins.int, np.integer)):
            data = np.array(_factories.tensor(args[0], dtype=_dtype.float32)._data)
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
            data = np.empty(tuple(shape), dtype=_dtype.default_np())
        _init(self, data)

    @classmethod
    def _wrap(cls, data: np.ndarray) -> Tensor:
        """Wrap an array without copying or checking (the ops' fast constructor)."""
        t = object.__new__(cls)
        t._data = data
        t._requires_grad = False
        t.grad = None
        t.grad_fn = None
        t._version = [0]
        t._base = None
        t._grad_acc = None
        t._retains_grad = False
        return t

    def _view_of(self, data: np.ndarray) -> Tensor:
        """A tensor sharing `self`'s version counter (for ops returning numpy views)."""
        t = Tensor._wrap(data)
        t._version = self._version
        t._base = self if self._base is None else self._base
        return t

    # ---- metadata -------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_ops_shape.wrap_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def ndimension(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> device:
        return CPU

    is_cuda = False

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        """Strides in elements, as PyTorch reports them."""
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_ops_shape.wrap_dim(dim, self._data.ndim)]

    def is_contiguous(self) -> bool:
        return self._data.flags.c_contiguous

    def data_ptr(self) -> int:
        return self._data.ctypes.data

    # ---- autograd state -------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if not flag and self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set `requires_grad` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def data(self) -> Tensor:
        """The same storage without autograd history (changes to it are not tracked)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        new = value._data if isinstance(value, Tensor) else np.asarray(value)
        if new.shape != self._data.shape or new.dtype != self._data.dtype:
            self._grad_acc = None
        self._data = new

    def detach(self) -> Tensor:
        """A new leaf sharing storage (and the version counter) with this tensor."""
        return self._view_of(self._data)

    def detach_(self) -> Tensor:
        """Make this tensor a leaf that does not require grad."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        import weakref

        ref = weakref.ref(self)

        def keep(grad: Tensor) -> None:
            me = ref()
            if me is not None:
                me.grad = Tensor._wrap(grad._data.copy()) if me.grad is None else \
                    Tensor._wrap(me.grad._data + grad._data)

        self.grad_fn.register_prehook(keep)

    def register_hook(self, hook):
        """Call `hook(grad)` with this tensor's gradient in backward; a returned tensor replaces it."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node = self.grad_fn
        if node is None:
            from .autograd.node import grad_accumulator

            node = grad_accumulator(self)
            self.__dict__.setdefault("_hooked_acc", node)
        node.register_prehook(hook)
        return _RemovableHandle(node, hook)

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs)

    # ---- conversion -----------------------------------------------------------------
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(-1)[0].item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The storage as a numpy array (shared, not copied)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        return self._data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def clone(self, *, memory_format=None) -> Tensor:
        return _ops_shape.clone(self)

    def contiguous(self, memory_format=None) -> Tensor:
        return self if self._data.flags.c_contiguous else _ops_shape.clone(self)

    def to(self, *args, **kwargs) -> Tensor:
        """Convert dtype and/or device ('cpu' only); returns self when nothing changes."""
        dtype, copy = parse_to_args(args, kwargs)
        out = self if dtype is None else _ops_shape.to_dtype(self, dtype)
        return out.clone() if copy and out is self else out

    def cpu(self) -> Tensor:
        return self

    def cuda(self, *args, **kwargs) -> Tensor:
        check_device("cuda")

    def float(self) -> Tensor:
        return _ops_shape.to_dtype(self, _dtype.float32)

    def double(self) -> Tensor:
        return _ops_shape.to_dtype(self, _dtype.float64)

    def half(self) -> Tensor:
        return _ops_shape.to_dtype(self, _dtype.float16)

    def long(self) -> Tensor:
        return _ops_shape.to_dtype(self, _dtype.int64)

    def int(self) -> Tensor:
        return _ops_shape.to_dtype(self, _dtype.int32)

    def bool(self) -> Tensor:
        return _ops_shape.to_dtype(self, _dtype.bool)

    def type(self, dtype=None):
        """Without argument, PyTorch's type string ('torch.FloatTensor'); else convert."""
        if dtype is None:
            names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                     "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                     "bool": "Bool"}
            return f"torch.{names[self.dtype.name]}Tensor"
        return _ops_shape.to_dtype(self, dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return _ops_shape.to_dtype(self, other.dtype)

    def new_tensor(self, data, dtype=None, requires_grad: bool = False) -> Tensor:
        return _factories.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        return _factories.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        return _factories.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
        return _factories.full(size, fill_value, dtype=dtype or self.dtype,
                               requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        return _factories.empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    # ---- Python protocol ------------------------------------------------------------
    def __repr__(self) -> str:
        return _formatting.tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size > 1 else "Boolean value of Tensor with no values is ambiguous"
            )
        return builtins.bool(self._data.reshape(-1)[0])

    def __float__(self) -> builtins.float:
        return builtins.float(self._scalar())

    def __int__(self) -> builtins.int:
        return builtins.int(self._scalar())

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(-1)[0].item()

    def __index__(self) -> builtins.int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    __hash__ = object.__hash__

    def __deepcopy__(self, memo) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        new = type(self).__new__(type(self))
        _init(new, self._data.copy())
        new._requires_grad = self._requires_grad
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        for k, v in self.__dict__.items():
            if k != "_hooked_acc":
                new.__dict__[k] = __import__("copy").deepcopy(v, memo)
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._data, self._requires_grad))

    def __getitem__(self, index) -> Tensor:
        return _ops_index.getitem(self, index)

    def __setitem__(self, index, value) -> None:
        _ops_index.setitem(self, index, value)

    # ---- arithmetic ------------------------------------------------------------------
    def __add__(self, other):
        return _ops_ar.add(self, other)

    def __radd__(self, other):
        return _ops_ar.add(self, other)

    def __sub__(self, other):
        return _ops_ar.sub(self, other)

    def __rsub__(self, other):
        return _ops_ar.rsub(self, other)

    def __mul__(self, other):
        return _ops_ar.mul(self, other)

    def __rmul__(self, other):
        return _ops_ar.mul(self, other)

    def __truediv__(self, other):
        return _ops_ar.div(self, other)

    def __rtruediv__(self, other):
        return _ops_ar.rdiv(self, other)

    def __floordiv__(self, other):
        return _ops_ar.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops_ar.floor_divide(other, self)

    def __mod__(self, other):
        return _ops_ar.remainder(self, other)

    def __pow__(self, other):
        return _ops_ar.pow(self, other)

    def __rpow__(self, other):
        return _ops_ar.rpow(self, other)

    def __matmul__(self, other):
        return _ops_mm.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops_mm.matmul(_factories.as_tensor(other), self)

    def __neg__(self):
        return _ops_ar.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops_un.abs(self)

    def __invert__(self):
        return _ops_cmp.bitwise_not(self)

    def __and__(self, other):
        return _ops_cmp.bitwise(self, other, np.bitwise_and)

    def __or__(self, other):
        return _ops_cmp.bitwise(self, other, np.bitwise_or)

    def __xor__(self, other):
        return _ops_cmp.bitwise(self, other, np.bitwise_xor)

    def __iadd__(self, other):
        return _ops_inplace.add_(self, other)

    def __isub__(self, other):
        return _ops_inplace.sub_(self, other)

    def __imul__(self, other):
        return _ops_inplace.mul_(self, other)

    def __itruediv__(self, other):
        return _ops_inplace.div_(self, other)

    def __eq__(self, other):
        return _ops_cmp.compare(self, other, np.equal)

    def __ne__(self, other):
        return _ops_cmp.compare(self, other, np.not_equal)

    def __lt__(self, other):
        return _ops_cmp.compare(self, other, np.less)

    def __le__(self, other):
        return _ops_cmp.compare(self, other, np.less_equal)

    def __gt__(self, other):
        return _ops_cmp.compare(self, other, np.greater)

    def __ge__(self, other):
        return _ops_cmp.compare(self, other, np.greater_equal)

    eq = __eq__
    ne = __ne__
    lt = __lt__
    le = __le__
    gt = __gt__
    ge = __ge__

    @property
    def T(self) -> Tensor:
        return _ops_shape.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        return _ops_shape.transpose(self, -2, -1)


def parse_to_args(args: tuple, kwargs: dict):
    """(dtype or None, copy) from the arguments of `Tensor.to` / `Module.to`, as PyTorch
    accepts them: a dtype, a tensor (its dtype), a device (only the CPU), non_blocking."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, _dtype.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, device)):
            dev = a
        elif a is not None and not isinstance(a, builtins.bool):   # non_blocking positionally
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    check_device(dev)
    return dtype, copy


class _RemovableHandle:
    """What `register_hook` returns: `.remove()` unregisters the hook."""

    def __init__(self, node, hook) -> None:
        self.node, self.hook = node, hook

    def remove(self) -> None:
        if self.node.pre_hooks and self.hook in self.node.pre_hooks:
            self.node.pre_hooks.remove(self.hook)


def _init(t: Tensor, data: np.ndarray) -> None:
    t._data = data
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._version = [0]
    t._base = None
    t._grad_acc = None
    t._retains_grad = False


def _rebuild(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(data)
    t._requires_grad = requires_grad
    return t


from . import _factories, _formatting  # noqa: E402
from .ops import arithmetic as _ops_ar  # noqa: E402
from .ops import comparison as _ops_cmp  # noqa: E402
from .ops import indexing as _ops_index  # noqa: E402
from .ops import inplace as _ops_inplace  # noqa: E402
from .ops import matmul as _ops_mm  # noqa: E402
from .ops import shape as _ops_shape  # noqa: E402
from .ops import unary as _ops_un  # noqa: E402
from .ops.methods import install as _install_methods  # noqa: E402

_install_methods(Tensor)
