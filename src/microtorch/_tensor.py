"""The `Tensor`: a numpy array plus what autograd needs to differentiate through it.

Storage is `_data`, a numpy array. A tensor made by a differentiable op has a `grad_fn`
(the graph node that made it); a leaf has none. Views share `_version`, a one-element
list counting in-place changes, so backward can tell when a saved value was modified.
Math lives in `microtorch.ops`; the methods here are thin entries to it.
"""
from __future__ import annotations

import builtins
import copy
import warnings

import numpy as np

from . import _dtype
from ._device import CPU, check_device, device
from ._size import Size


class Tensor:
    """A multi-dimensional array that can record the operations made on it."""

    __slots__ = ("_data", "_requires_grad", "grad", "_grad_fn", "_output_nr", "_version", "_base",
                 "_attr_version", "_creation", "_grad_acc", "_retains_grad", "__weakref__",
                 "__dict__")

    def __init__(self, *args) -> None:
        if len(args) == 1 and not isinstance(args[0], (builtins.int, np.integer)):
            data = np.array(_factories.tensor(args[0], dtype=_dtype.float32)._data)
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
            data = np.empty(tuple(shape), dtype=_dtype.default_np())
        _init(self, data)

    @classmethod
    def _wrap(cls, data: np.ndarray) -> Tensor:
        """Wrap an array without copying (the ops' fast constructor). numpy returns scalars,
        not 0-d arrays, from ufuncs on 0-d input: those become 0-d arrays, so that `_data`
        is always an ndarray (writable, viewable)."""
        t = object.__new__(cls)
        t._data = data if type(data) is np.ndarray else np.asarray(data)
        t._requires_grad = False
        t.grad = None
        t._grad_fn = None
        t._output_nr = 0
        t._version = [0]
        t._base = None
        t._grad_acc = None
        t._retains_grad = False
        return t

    def _view_of(self, data: np.ndarray) -> Tensor:
        """A view tensor of `self` (for ops returning numpy views): it shares the version
        counter, records its root base, the version its grad_fn belongs to, and whether it
        was made under no_grad (a view of such a view inherits that)."""
        t = Tensor._wrap(data)
        t._version = version = self._version
        t._attr_version = version[0]
        base = self._base
        if base is None:
            t._base = self
            t._creation = 0 if _grad_mode.state.enabled else _views.NO_GRAD
        else:
            t._base = base
            t._creation = self._creation if _grad_mode.state.enabled else _views.NO_GRAD
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
        """True for a tensor that records (a view: also when its base does)."""
        return self._requires_grad or self._base is not None and self._base._requires_grad

    @property
    def grad_fn(self):
        """The node that made this tensor (None for a leaf). A view whose base or sibling
        view changed in place since gets its node regenerated here, as in PyTorch."""
        if self._base is not None and self._attr_version != self._version[0]:
            _views.refresh(self)
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node) -> None:
        self._grad_fn = node
        if self._base is not None:
            self._attr_version = self._version[0]

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
        """A new leaf sharing storage (and the version counter) with this tensor. Not a view
        for autograd (as in PyTorch): in-place ops on it may take operands requiring grad."""
        t = Tensor._wrap(self._data)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        """Make this tensor a leaf that does not require grad (views refuse, as in PyTorch)."""
        if self._base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
                "as True, gradients are views of DDP buckets, and hence detach_() cannot be "
                "called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self._grad_fn = None
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
        return node.register_prehook(hook)

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`."""
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs)

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
        return _ops_shape.contiguous(self)

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
            return f"torch.{self.dtype.scalar_name}Tensor"
        return _ops_shape.to_dtype(self, dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return _ops_shape.to_dtype(self, other.dtype)

    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return _factories.tensor(data, dtype=dtype or self.dtype, device=device,
                                 requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return _factories.zeros(*size, dtype=dtype or self.dtype, device=device,
                                requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return _factories.ones(*size, dtype=dtype or self.dtype, device=device,
                               requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None,
                 requires_grad: bool = False) -> Tensor:
        return _factories.full(size, fill_value, dtype=dtype or self.dtype, device=device,
                               requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return _factories.empty(*size, dtype=dtype or self.dtype, device=device,
                                requires_grad=requires_grad)

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
        if self._requires_grad and _grad_mode.state.enabled:
            _warn_scalar_of_grad()
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
            new.__dict__[k] = copy.deepcopy(v, memo)
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

    def __rmod__(self, other):
        return _ops_ar.remainder(other, self)

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
        if self._data.dtype == np.bool_:
            raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
        return self

    def __abs__(self):
        return _ops_un.abs(self)

    def __invert__(self):
        if self._data.dtype.kind == "f":
            raise TypeError("~ (operator.invert) is only implemented on integer and "
                            "Boolean-type tensors")
        return _ops_cmp.bitwise_not(self)

    def __and__(self, other):
        return _ops_cmp.bitwise(self, other, np.bitwise_and)

    def __or__(self, other):
        return _ops_cmp.bitwise(self, other, np.bitwise_or)

    def __xor__(self, other):
        return _ops_cmp.bitwise(self, other, np.bitwise_xor)

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    def __iadd__(self, other):
        return _ops_inplace.add_(self, other)

    def __isub__(self, other):
        return _ops_inplace.sub_(self, other)

    def __imul__(self, other):
        return _ops_inplace.mul_(self, other)

    def __itruediv__(self, other):
        return _ops_inplace.div_(self, other)

    def __imod__(self, other):
        return _ops_ar.remainder_(self, other)

    def __ifloordiv__(self, other):
        return _ops_ar.floor_divide_(self, other)

    def __ipow__(self, other):
        return _ops_ar.pow_(self, other)

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

    # ---- arithmetic ----------------------------------------------------------------------
    def add(self, other, *, alpha=1):
        """input + alpha * other."""
        return _ops_ar.add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        """input - alpha * other."""
        return _ops_ar.sub(self, other, alpha=alpha)

    def mul(self, other):
        """input * other."""
        return _ops_ar.mul(self, other)

    def div(self, other, *, rounding_mode=...):
        """input / other (true division; `rounding_mode` 'trunc' or 'floor' as PyTorch)."""
        return _ops_ar.div(self, other, rounding_mode=rounding_mode)

    def neg(self):
        """-input."""
        return _ops_ar.neg(self)

    def pow(self, exponent):
        """input ** exponent (tensor or scalar exponent; a scalar base goes through `rpow`)."""
        return _ops_ar.pow(self, exponent)

    def maximum(self, other):
        """Elementwise maximum (NaN propagates; ties share the gradient)."""
        return _ops_ar.maximum(self, other)

    def minimum(self, other):
        """Elementwise minimum (NaN propagates; ties share the gradient)."""
        return _ops_ar.minimum(self, other)

    def floor_divide(self, other):
        """input // other (no derivative, as in PyTorch: backward through it raises)."""
        return _ops_ar.floor_divide(self, other)

    def remainder(self, other):
        """input % other with the sign of the divisor (Python's and PyTorch's convention)."""
        return _ops_ar.remainder(self, other)

    # ---- unary ---------------------------------------------------------------------------
    def exp(self):
        """e ** input, elementwise."""
        return _ops_un.exp(self)

    def log(self):
        """Natural logarithm, elementwise (-inf at 0, NaN below)."""
        return _ops_un.log(self)

    def log1p(self):
        """log(1 + input), accurate for small input."""
        return _ops_un.log1p(self)

    def sqrt(self):
        """Square root, elementwise (NaN below 0)."""
        return _ops_un.sqrt(self)

    def abs(self):
        """|input| (gradient 0 at 0, as PyTorch)."""
        return _ops_un.abs(self)

    def square(self):
        """input ** 2."""
        return _ops_un.square(self)

    def sign(self):
        """-1, 0 or 1 by the sign of each element (not differentiable: gradient zero)."""
        return _ops_un.sign(self)

    def clamp(self, min=None, max=None):
        """Limit every element to [min, max]; the gradient passes where min <= x <= max."""
        return _ops_un.clamp(self, min, max)

    def clip(self, min=None, max=None):
        """Alias of clamp."""
        return _ops_un.clip(self, min, max)

    # ---- activation ----------------------------------------------------------------------
    def relu(self):
        """max(input, 0) elementwise; NaN stays NaN."""
        return _ops_act.relu(self)

    def sigmoid(self):
        """1 / (1 + exp(-input)), computed without overflow at either end."""
        return _ops_act.sigmoid(self)

    def tanh(self):
        """Hyperbolic tangent, elementwise."""
        return _ops_act.tanh(self)

    def softmax(self, dim=None, dtype=None):
        """exp(x) / sum(exp(x)) along `dim` (max-shifted, so large inputs do not overflow)."""
        return _ops_act.softmax(self, dim, dtype)

    def log_softmax(self, dim=None, dtype=None):
        """log(softmax(x)) along `dim`, computed directly (stable for large |x|)."""
        return _ops_act.log_softmax(self, dim, dtype)

    def logsumexp(self, dim, keepdim=False, *, keepdims=None):
        """log(sum(exp(x))) over `dim`, max-shifted for stability."""
        return _ops_act.logsumexp(self, dim, keepdim, keepdims=keepdims)

    # ---- reduction -----------------------------------------------------------------------
    def sum(self, *args, **kwargs):
        """Sum over `dim` (all elements by default). Integer and bool tensors sum to int64.
        Arguments as microtorch.sum (keepdim needs a dim, as PyTorch's overloads)."""
        return _ops_red.sum(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        """Arithmetic mean over `dim` (floating tensors only), as microtorch.mean."""
        return _ops_red.mean(self, *args, **kwargs)

    def var(self, *args, **kwargs):
        """Variance over `dim`, with Bessel's correction by default, as microtorch.var."""
        return _ops_red.var(self, *args, **kwargs)

    def std(self, *args, **kwargs):
        """Standard deviation over `dim`, with Bessel's correction by default, as
        microtorch.std."""
        return _ops_red.std(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        """The largest element; with `dim`, (values, indices) along it; with a tensor, maximum."""
        return _ops_red.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        """The smallest element; with `dim`, (values, indices) along it; with a tensor, minimum."""
        return _ops_red.min(self, *args, **kwargs)

    def amax(self, dim=(), keepdim=False, *, axis=None, keepdims=None):
        """Maximum over `dim` (all dims for ()); ties share the gradient evenly."""
        return _ops_red.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(self, dim=(), keepdim=False, *, axis=None, keepdims=None):
        """Minimum over `dim` (all dims for ()); ties share the gradient evenly."""
        return _ops_red.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Index of the largest element (over all elements, or along `dim`)."""
        return _ops_red.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Index of the smallest element (over all elements, or along `dim`)."""
        return _ops_red.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def any(self, dim=None, keepdim=False, *, keepdims=None):
        """True where any element (along `dim`) is non-zero."""
        return _ops_red.any(self, dim, keepdim, keepdims=keepdims)

    def all(self, dim=None, keepdim=False, *, keepdims=None):
        """True where every element (along `dim`) is non-zero."""
        return _ops_red.all(self, dim, keepdim, keepdims=keepdims)

    # ---- shape ---------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same elements in a new shape (a view when possible, else a copy); -1 is inferred."""
        if not shape:
            raise TypeError('reshape() missing 1 required positional arguments: "shape"')
        return _ops_shape.reshape(self, *shape)

    def view(self, *shape):
        """The same storage seen with a new shape; raises when the strides do not allow it."""
        if not shape:
            raise TypeError('view() received an invalid combination of arguments - got ()')
        return _ops_shape.view(self, *shape)

    def view_as(self, other):
        return _ops_shape.view_as(self, other)

    def reshape_as(self, other):
        return _ops_shape.reshape_as(self, other)

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge dims start_dim..end_dim into one."""
        return _ops_shape.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        """Split one dim into `sizes`."""
        return _ops_shape.unflatten(self, dim, sizes)

    def permute(self, *dims):
        """Reorder the dims (a view)."""
        if not dims:
            raise TypeError('permute() missing 1 required positional arguments: "dims"')
        return _ops_shape.permute(self, *dims)

    def transpose(self, dim0, dim1):
        """Swap two dims (a view)."""
        return _ops_shape.transpose(self, dim0, dim1)

    def swapaxes(self, dim0, dim1):
        """Swap two dims (a view)."""
        return _ops_shape.swapaxes(self, dim0, dim1)

    def t(self):
        """Transpose a matrix (a 0-d or 1-d tensor is returned as is)."""
        return _ops_shape.t(self)

    def unsqueeze(self, dim):
        """Insert a size-1 dim at `dim`."""
        return _ops_shape.unsqueeze(self, dim)

    def squeeze(self, dim=None):
        """Remove size-1 dims (all of them, or those in `dim`)."""
        return _ops_shape.squeeze(self, dim)

    def expand(self, *sizes):
        """Broadcast to a larger shape without copying (-1 keeps a dim)."""
        if not sizes:
            raise TypeError('expand() missing 1 required positional arguments: "size"')
        return _ops_shape.expand(self, *sizes)

    def expand_as(self, other):
        return _ops_shape.expand_as(self, other)

    def repeat(self, *repeats):
        """Tile the tensor `repeats` times along each dim (copies)."""
        if not repeats:
            raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
        return _ops_shape.repeat(self, *repeats)

    # ---- matmul --------------------------------------------------------------------------
    def matmul(self, other):
        """Matrix product with numpy/PyTorch semantics for 1-D, 2-D and batched operands."""
        return _ops_mm.matmul(self, other)

    def mm(self, mat2):
        """Product of two matrices (2-D only)."""
        return _ops_mm.mm(self, mat2)

    def bmm(self, mat2):
        """Batched product of two 3-D tensors with equal batch sizes."""
        return _ops_mm.bmm(self, mat2)

    def dot(self, other):
        """Inner product of two 1-D tensors of the same length."""
        return _ops_mm.dot(self, other)

    # ---- inplace -------------------------------------------------------------------------
    def add_(self, other, *, alpha=1):
        """t += alpha * other."""
        return _ops_inplace.add_(self, other, alpha=alpha)

    def sub_(self, other, *, alpha=1):
        """t -= alpha * other."""
        return _ops_inplace.sub_(self, other, alpha=alpha)

    def mul_(self, other):
        """t *= other."""
        return _ops_inplace.mul_(self, other)

    def div_(self, other, *, rounding_mode=...):
        """t /= other (true division, or rounded: `rounding_mode` 'trunc' or 'floor')."""
        return _ops_ar.div_(self, other, rounding_mode=rounding_mode)

    def remainder_(self, other):
        """t %= other (the sign of the divisor)."""
        return _ops_ar.remainder_(self, other)

    def floor_divide_(self, other):
        """t //= other."""
        return _ops_ar.floor_divide_(self, other)

    def pow_(self, exponent):
        """t **= exponent."""
        return _ops_ar.pow_(self, exponent)

    def zero_(self):
        """Set every element to 0."""
        return _ops_inplace.zero_(self)

    def fill_(self, value):
        """Set every element to `value`."""
        return _ops_inplace.fill_(self, value)

    def copy_(self, src, non_blocking=False):
        """Copy `src` (broadcast, cast to t's dtype) into t."""
        return _ops_inplace.copy_(self, src, non_blocking)

    def clamp_(self, min=None, max=None):
        """Limit t's elements to [min, max] in place."""
        return _ops_un.clamp_(self, min, max)

    def clip_(self, min=None, max=None):
        """Limit t's elements to [min, max] in place."""
        return _ops_un.clip_(self, min, max)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with samples from U(a, b)."""
        return _ops_inplace.uniform_(self, a, b, generator=generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with samples from N(mean, std**2)."""
        return _ops_inplace.normal_(self, mean, std, generator=generator)

    # ---- comparison ----------------------------------------------------------------------
    def isnan(self):
        return _ops_cmp.isnan(self)

    def isinf(self):
        return _ops_cmp.isinf(self)

    def isfinite(self):
        return _ops_cmp.isfinite(self)

    def equal(self, other):
        """True if both tensors have the same shape and elements."""
        return _ops_cmp.equal(self, other)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """True if |input - other| <= atol + rtol * |other| everywhere."""
        return _ops_cmp.allclose(self, other, rtol, atol, equal_nan)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops_cmp.isclose(self, other, rtol, atol, equal_nan)

    def logical_not(self):
        """True where input is zero (a bool tensor, for any input dtype)."""
        return _ops_cmp.logical_not(self)

    def bitwise_not(self):
        """~input: logical not for bool tensors, bitwise not for integers."""
        return _ops_cmp.bitwise_not(self)

    # ---- join ----------------------------------------------------------------------------
    def nonzero(self, *, as_tuple=False):
        """Indices of the non-zero elements: an (n, ndim) int64 tensor, or a tuple of 1-D ones."""
        return _ops_join.nonzero(self, as_tuple=as_tuple)

    multiply = mul
    divide = div
    true_divide = div
    subtract = sub
    negative = neg
    absolute = abs

    def where(self, condition, other):
        """self where condition is True, other elsewhere."""
        return _ops_join.where(condition, self, other)

    def masked_fill(self, mask, value):
        """Elements where the bool `mask` is True replaced by `value` (a number or 0-d tensor)."""
        return _ops_mask.masked_fill(self, mask, value)

    # ---- split, order, scan, counting, sampling (ops/split, sort, scan, histogram, sampling)
    def split(self, split_size, dim=0):
        """Pieces of `split_size` elements along `dim` (or of the sizes in a list)."""
        return _ops_split.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        """At most `chunks` pieces of equal size (the last may be smaller) along `dim`."""
        return _ops_split.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        """The slices along `dim`, each without that dim."""
        return _ops_split.unbind(self, dim)

    def sort(self, dim=-1, descending=False, stable=False):
        """(values, indices) sorted along `dim`; NaN counts as the largest value."""
        return _ops_sort.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        """Indices that sort the tensor along `dim`."""
        return _ops_sort.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """(values, indices) of the k largest (or smallest) elements along `dim`."""
        return _ops_sort.topk(self, k, dim, largest, sorted)

    def flip(self, *dims):
        """A copy reversed along `dims` (ints, or one list of them)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = dims[0]
        return _ops_sort.flip(self, dims)

    def fliplr(self):
        """Reverse dim 1."""
        return _ops_sort.fliplr(self)

    def flipud(self):
        """Reverse dim 0."""
        return _ops_sort.flipud(self)

    def roll(self, shifts, dims=None):
        """Elements shifted cyclically along `dims` (the flattened tensor without dims)."""
        return _ops_sort.roll(self, shifts, dims)

    def cumsum(self, dim, *, dtype=None):
        """Running sums along `dim`."""
        return _ops_scan.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim, *, dtype=None):
        """Running products along `dim`."""
        return _ops_scan.cumprod(self, dim, dtype=dtype)

    def prod(self, *args, **kwargs):
        """Product of all elements, or along `dim`, as microtorch.prod."""
        return _ops_scan.prod(self, *args, **kwargs)

    def histc(self, bins=100, min=0, max=0):
        """Counts in `bins` equal bins over [min, max] (the data's range when equal)."""
        return _ops_hist.histc(self, bins, min, max)

    def histogram(self, bins=100, *, range=None, weight=None, density=False):
        """(hist, bin_edges) of the elements."""
        return _ops_hist.histogram(self, bins, range=range, weight=weight, density=density)

    def bincount(self, weights=None, minlength=0):
        """How often each non-negative integer occurs (or its summed weights)."""
        return _ops_hist.bincount(self, weights, minlength)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """Category indices drawn with the weights in each row."""
        return _ops_sample.multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        """1 with probability self (or `p`) per element, else 0."""
        return _ops_sample.bernoulli(self, p, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        """Fill with 1 with probability `p` (a number or a tensor), else 0."""
        return _ops_sample.bernoulli_(self, p, generator=generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        """Fill with samples from the exponential distribution of rate `lambd`."""
        return _ops_sample.exponential_(self, lambd, generator=generator)

    def random_(self, *args, generator=None, **kwargs):
        """Fill with integers from [from, to) (`random_(to)`, or the dtype's full range)."""
        return _ops_sample.random_(self, *args, generator=generator, **kwargs)

    # ---- pointwise math, masks, norms (ops/pointwise, masking, linalg) ------------------
    def sin(self):
        """Sine, elementwise (radians)."""
        return _ops_pw.sin(self)

    def sin_(self):
        """In-place sin."""
        return _ops_pw.sin_(self)

    def cos(self):
        """Cosine, elementwise (radians)."""
        return _ops_pw.cos(self)

    def cos_(self):
        """In-place cos."""
        return _ops_pw.cos_(self)

    def tan(self):
        """Tangent, elementwise (radians)."""
        return _ops_pw.tan(self)

    def tan_(self):
        """In-place tan."""
        return _ops_pw.tan_(self)

    def asin(self):
        """Arcsine, elementwise."""
        return _ops_pw.asin(self)

    def asin_(self):
        """In-place asin."""
        return _ops_pw.asin_(self)

    def acos(self):
        """Arccosine, elementwise."""
        return _ops_pw.acos(self)

    def acos_(self):
        """In-place acos."""
        return _ops_pw.acos_(self)

    def atan(self):
        """Arctangent, elementwise."""
        return _ops_pw.atan(self)

    def atan_(self):
        """In-place atan."""
        return _ops_pw.atan_(self)

    def sinh(self):
        """Hyperbolic sine, elementwise."""
        return _ops_pw.sinh(self)

    def sinh_(self):
        """In-place sinh."""
        return _ops_pw.sinh_(self)

    def cosh(self):
        """Hyperbolic cosine, elementwise."""
        return _ops_pw.cosh(self)

    def cosh_(self):
        """In-place cosh."""
        return _ops_pw.cosh_(self)

    def asinh(self):
        """Inverse hyperbolic sine, elementwise."""
        return _ops_pw.asinh(self)

    def asinh_(self):
        """In-place asinh."""
        return _ops_pw.asinh_(self)

    def acosh(self):
        """Inverse hyperbolic cosine, elementwise."""
        return _ops_pw.acosh(self)

    def acosh_(self):
        """In-place acosh."""
        return _ops_pw.acosh_(self)

    def atanh(self):
        """Inverse hyperbolic tangent, elementwise."""
        return _ops_pw.atanh(self)

    def atanh_(self):
        """In-place atanh."""
        return _ops_pw.atanh_(self)

    def log10(self):
        """Base-10 logarithm, elementwise."""
        return _ops_pw.log10(self)

    def log10_(self):
        """In-place log10."""
        return _ops_pw.log10_(self)

    def log2(self):
        """Base-2 logarithm, elementwise."""
        return _ops_pw.log2(self)

    def log2_(self):
        """In-place log2."""
        return _ops_pw.log2_(self)

    def exp2(self):
        """2 ** self, elementwise."""
        return _ops_pw.exp2(self)

    def exp2_(self):
        """In-place exp2."""
        return _ops_pw.exp2_(self)

    def expm1(self):
        """exp(self) - 1, accurate for small values."""
        return _ops_pw.expm1(self)

    def expm1_(self):
        """In-place expm1."""
        return _ops_pw.expm1_(self)

    def reciprocal(self):
        """1 / self, elementwise."""
        return _ops_pw.reciprocal(self)

    def reciprocal_(self):
        """In-place reciprocal."""
        return _ops_pw.reciprocal_(self)

    def rsqrt(self):
        """1 / sqrt(self), elementwise."""
        return _ops_pw.rsqrt(self)

    def rsqrt_(self):
        """In-place rsqrt."""
        return _ops_pw.rsqrt_(self)

    def erf(self):
        """The Gauss error function, elementwise."""
        return _ops_pw.erf(self)

    def erf_(self):
        """In-place erf."""
        return _ops_pw.erf_(self)

    def erfc(self):
        """1 - erf(self), elementwise."""
        return _ops_pw.erfc(self)

    def erfc_(self):
        """In-place erfc."""
        return _ops_pw.erfc_(self)

    def floor(self):
        """Largest integer <= self (zero gradient)."""
        return _ops_pw.floor(self)

    def floor_(self):
        """In-place floor."""
        return _ops_pw.floor_(self)

    def ceil(self):
        """Smallest integer >= self (zero gradient)."""
        return _ops_pw.ceil(self)

    def ceil_(self):
        """In-place ceil."""
        return _ops_pw.ceil_(self)

    def trunc(self):
        """self rounded toward zero (zero gradient)."""
        return _ops_pw.trunc(self)

    def trunc_(self):
        """In-place trunc."""
        return _ops_pw.trunc_(self)

    def fix(self):
        """self rounded toward zero (trunc's alias)."""
        return _ops_pw.fix(self)

    def fix_(self):
        """In-place fix."""
        return _ops_pw.fix_(self)

    def frac(self):
        """self - trunc(self)."""
        return _ops_pw.frac(self)

    def frac_(self):
        """In-place frac."""
        return _ops_pw.frac_(self)

    def round(self, *, decimals=0):
        """Round half to even, at `decimals` decimal places (zero gradient)."""
        return _ops_pw.round(self, decimals=decimals)

    def round_(self, *, decimals=0):
        """In-place round."""
        return _ops_pw.round_(self, decimals=decimals)

    def atan2(self, other):
        """Elementwise angle of the point (other, self), in (-pi, pi]."""
        return _ops_pw.atan2(self, other)

    def atan2_(self, other):
        """In-place atan2."""
        return _ops_pw.atan2_(self, other)

    def hypot(self, other):
        """sqrt(self**2 + other**2), elementwise."""
        return _ops_pw.hypot(self, other)

    def hypot_(self, other):
        """In-place hypot."""
        return _ops_pw.hypot_(self, other)

    def logaddexp(self, other):
        """log(exp(self) + exp(other)), elementwise."""
        return _ops_pw.logaddexp(self, other)

    def fmod(self, other):
        """Remainder of self / other with the sign of self."""
        return _ops_pw.fmod(self, other)

    def fmod_(self, other):
        """In-place fmod."""
        return _ops_pw.fmod_(self, other)

    def clamp_min(self, min):
        """max(self, min), elementwise."""
        return _ops_pw.clamp_min(self, min)

    def clamp_min_(self, min):
        """In-place clamp_min."""
        return _ops_pw.clamp_min_(self, min)

    def clamp_max(self, max):
        """min(self, max), elementwise."""
        return _ops_pw.clamp_max(self, max)

    def clamp_max_(self, max):
        """In-place clamp_max."""
        return _ops_pw.clamp_max_(self, max)

    def lerp(self, end, weight):
        """self + weight * (end - self): linear interpolation."""
        return _ops_pw.lerp(self, end, weight)

    def lerp_(self, end, weight):
        """In-place lerp."""
        return _ops_pw.lerp_(self, end, weight)

    def addcmul(self, tensor1, tensor2, *, value=1):
        """self + value * tensor1 * tensor2."""
        return _ops_pw.addcmul(self, tensor1, tensor2, value=value)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        """In-place addcmul."""
        return _ops_pw.addcmul_(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        """self + value * tensor1 / tensor2."""
        return _ops_pw.addcdiv(self, tensor1, tensor2, value=value)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        """In-place addcdiv."""
        return _ops_pw.addcdiv_(self, tensor1, tensor2, value=value)

    def tril(self, diagonal=0):
        """Lower triangle of the last two dims (j - i <= diagonal), zeros elsewhere."""
        return _ops_mask.tril(self, diagonal)

    def tril_(self, diagonal=0):
        """In-place tril."""
        return _ops_mask.tril_(self, diagonal)

    def triu(self, diagonal=0):
        """Upper triangle of the last two dims (j - i >= diagonal), zeros elsewhere."""
        return _ops_mask.triu(self, diagonal)

    def triu_(self, diagonal=0):
        """In-place triu."""
        return _ops_mask.triu_(self, diagonal)

    def masked_fill_(self, mask, value):
        """Set the elements where the bool `mask` is True to `value`, in place."""
        return _ops_mask.masked_fill_(self, mask, value)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """Vector norm of order p over `dim` ('fro': the 2-norm; 'nuc': nuclear norm)."""
        return _ops_linalg.norm(self, p, dim, keepdim, dtype=dtype)

    @property
    def T(self) -> Tensor:
        return _ops_shape.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped; a 0-d tensor is returned as is (as PyTorch does)."""
        if self._data.ndim == 1:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                               "Got 1-D tensor.")
        return self if self._data.ndim == 0 else _ops_shape.transpose(self, -2, -1)


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


def _init(t: Tensor, data: np.ndarray) -> None:
    t._data = data
    t._requires_grad = False
    t.grad = None
    t._grad_fn = None
    t._output_nr = 0
    t._version = [0]
    t._base = None
    t._grad_acc = None
    t._retains_grad = False


_scalar_warning = {"given": False}


def _warn_scalar_of_grad() -> None:
    """PyTorch's warning for float() of a tensor that requires grad: once per process."""
    if _scalar_warning["given"]:
        return
    _scalar_warning["given"] = True
    warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                  "unexpected behavior.\nConsider using tensor.detach() first.", stacklevel=3)


def _rebuild(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(data)
    t._requires_grad = requires_grad
    return t


from . import autograd as _autograd  # noqa: E402
from .autograd import function as _function  # noqa: E402
from .autograd import grad_mode as _grad_mode  # noqa: E402
from .autograd import views as _views  # noqa: E402

_function.Tensor = Tensor

from . import _factories, _formatting  # noqa: E402
from .ops import activation as _ops_act  # noqa: E402
from .ops import arithmetic as _ops_ar  # noqa: E402
from .ops import comparison as _ops_cmp  # noqa: E402
from .ops import histogram as _ops_hist  # noqa: E402
from .ops import indexing as _ops_index  # noqa: E402
from .ops import inplace as _ops_inplace  # noqa: E402
from .ops import join as _ops_join  # noqa: E402
from .ops import linalg as _ops_linalg  # noqa: E402
from .ops import masking as _ops_mask  # noqa: E402
from .ops import matmul as _ops_mm  # noqa: E402
from .ops import pointwise as _ops_pw  # noqa: E402
from .ops import reduction as _ops_red  # noqa: E402
from .ops import sampling as _ops_sample  # noqa: E402
from .ops import scan as _ops_scan  # noqa: E402
from .ops import shape as _ops_shape  # noqa: E402
from .ops import sort as _ops_sort  # noqa: E402
from .ops import split as _ops_split  # noqa: E402
from .ops import unary as _ops_un  # noqa: E402
