"""Difference classes the tester accepts: ALLOWED (PyTorch is wrong) and KNOWN_OPEN (to fix).

A difference class is (op, kind, dtype, shape category), e.g.
("Tensor.add_", "missing-error", "i64,float", "nd"): the op and its form (with the keyword
names used), what differs (kinds below), the operands' dtypes (f32, f64, i64, b for bool;
int/float/bool for Python scalars) and a shape category of the operands (0d, empty or nd,
+bcast when their shapes differ, +nc when one is not contiguous). A `Pattern` matches
classes with shell-style wildcards in each field.

Kinds: value, dtype, shape, type, storage (not an ndarray), requires_grad, is_leaf, grad_fn,
view (PyTorch returns a view, microtorch a copy), stride; missing-error (PyTorch raises,
microtorch does not), unexpected-error (the reverse), error-class (both raise, another
builtin class); grad, grad-dtype and backward-* (autograd.grad of the step's outputs);
final-* (backward() at the end of the program, e.g. version-counter errors); alias-* (a
value the step did not return changed, e.g. the base of a view written in place).

- ALLOWED: PyTorch itself is wrong (reads out of bounds, hits an internal assert, ...);
  microtorch keeps its sane behaviour. Nothing else belongs here, and each entry says why.
- KNOWN_OPEN: real differences that are still to be fixed (issue 14), grouped by cause.
  The CI run passes while it finds only these; fixing one means deleting its entry (the
  thorough run reports entries that no longer match anything).
"""
from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Pattern:
    """Difference classes by cause. Each field is a glob or a tuple of globs (any matches)."""

    op: str | tuple
    kind: str | tuple
    dtype: str | tuple = "*"
    shape: str | tuple = "*"
    reason: str = ""

    def matches(self, key: tuple) -> bool:
        fields = (self.op, self.kind, self.dtype, self.shape)
        return all(any(fnmatchcase(k, g) for g in ((p,) if isinstance(p, str) else p))
                   for k, p in zip(key, fields))


def forms(*names: str) -> tuple:
    """Globs for every form of the named ops: function, Tensor method, nn.functional, with
    any keyword names or tag (`sum`, `sum(dim)`, `Tensor.clamp[kw]`, ...)."""
    out = []
    for n in names:
        for prefix in ("", "Tensor.", "nn.functional."):
            out += [prefix + n, prefix + n + "(*", prefix + n + "[[]*"]
    return tuple(out)


def operators(*symbols: str) -> tuple:
    """Labels of the operator forms: `x % y`, `scalar % x`, `x %= y`."""
    return tuple(f for s in symbols for f in (f"x {s} y", f"scalar {s} x", f"x {s}= y"))


BOOL = ("*b*",)                 # a bool tensor among the operands
INTS = ("*i64*", "*i32*", "*b*")   # an integer or bool tensor among the operands

ALLOWED: list[Pattern] = [
    Pattern(operators("**"), "backward-missing-error", "bool,*", reason=(
        "`True ** x` (a bool base): PyTorch's backward hits an internal assert "
        "('false INTERNAL ASSERT FAILED ... unknown ivalue tag 4'); microtorch returns the "
        "gradient, 0 (d/dx of 1 ** x).")),
    Pattern(forms("pow") + operators("**"), ("backward-missing-error", "grad"), ("*,b", "*,bool"),
            reason=(
        "a bool exponent: PyTorch's backward computes `exponent - 1` on the bool tensor and "
        "raises ('Subtraction ... with a bool tensor is not supported'), or gives NaN for "
        "the scalar False; microtorch returns the gradient of x ** 0 / x ** 1.")),
    Pattern(forms("huber_loss", "addcdiv", "addcdiv_", "addcmul", "addcmul_"),
            "backward-missing-error", reason=(
        "arguments the forward accepts (an integer tensor, or float32 with float64): "
        "PyTorch's backward then fails ('Found dtype Long but expected Float', 'Found dtype "
        "Float but expected Double', \"result type Float can't be cast to the desired output "
        "type Long\"); microtorch returns the gradients of the float inputs.")),
    Pattern(forms("logaddexp", "atan2", "hypot", "maximum", "minimum"), "backward-missing-error",
            BOOL, reason=(
        "a bool tensor operand that the forward accepts: PyTorch's backward subtracts with "
        "it and raises ('Subtraction ... with a bool tensor is not supported'); microtorch "
        "returns the gradient of the float operand.")),
    Pattern(forms("clamp", "clip"), "backward-missing-error", "*", "*bcast*", reason=(
        "tensor bounds that broadcast x to a larger (or empty) shape: PyTorch's forward "
        "returns the broadcast result but its backward fails ('output with shape [3, 1] "
        "doesn't match the broadcast shape [3, 0]'); microtorch returns the gradients.")),
]
"""Cases where PyTorch 2.13 is wrong (see the reason of each)."""

KNOWN_OPEN: list[Pattern] = [
    # -- dtype checks: PyTorch refuses these dtypes ---------------------------------------
    Pattern(forms("l1_loss", "mse_loss", "prod", "sort", "argsort", "roll"),
            "missing-error", BOOL, reason=(
        "bool tensors are accepted where PyTorch raises (NotImplementedError \"... not "
        "implemented for 'Bool'\", RuntimeError for the subtraction in l1_loss). Fix in "
        "ops/: the shared `refuse_bool(array, kernel)` check of ops/_operands.py.")),
    Pattern(forms("kl_div", "huber_loss", "l1_loss", "smooth_l1_loss"),
            "missing-error", INTS, reason=(
        "integer inputs accepted where PyTorch raises (kl_div 'Integral inputs not "
        "supported', result type can't be cast). "
        "Fix in ops/loss.py, ops/activation.py: check dtypes before computing.")),
    Pattern(forms("allclose", "isclose"), ("missing-error", "error-class"), reason=(
        "isclose/allclose across dtypes: PyTorch requires equal dtypes ('Float did not match "
        "Double') and raises RuntimeError for shape mismatches (microtorch: numpy's "
        "ValueError). Fix in ops/comparison.py.")),
    Pattern(forms("add", "add_", "sub", "sub_", "subtract", "mul_", "div_", "clamp_", "clip_",
                  "masked_fill", "fill_",
                  "cumsum", "cumprod", "sum", "prod", "F.huber_loss", "huber_loss")
            + operators("**", "//", "%", "+", "-", "*", "/") + ("x[[]*] = y",),
            "missing-error", reason=(
        "PyTorch's value checks: a bool `alpha` with float tensors, in-place results that "
        "cannot be cast back (int_t.clip_(max=0.5)), NaN/inf/overflowing fills of integer "
        "tensors, `dtype=torch.int64` for a tensor requiring grad ('Autograd not support "
        "dtype'), index_put with another dtype. Fix in ops/inplace.py and the reductions.")),
    # -- in-place and aliasing ------------------------------------------------------------
    Pattern(("Tensor.*_", "Tensor.*_(*", "Tensor.*_[[]*") + operators("+", "-", "*", "/"),
            "unexpected-error", reason=(
        "in-place ops refuse a result dtype PyTorch casts to (f32 += f64, f16.mul_(f32)) and "
        "write into expanded tensors fails with numpy's read-only ValueError. Fix in "
        "ops/inplace.py: PyTorch's can_cast rule (category, not size) and a writable check "
        "that raises PyTorch's 'more than one element ... refers to a single memory "
        "location' RuntimeError.")),
    Pattern(forms("add_", "sub_", "mul_", "div_", "clamp_", "clip_", "zero_", "fill_")
            + operators("+", "-", "*", "/"), "error-class", reason=(
        "in-place ops on expanded tensors raise numpy's ValueError ('output array is "
        "read-only'; PyTorch: RuntimeError), and keyword/cast checks come in another order "
        "(div_ has no rounding_mode). Fix in ops/inplace.py.")),
    Pattern(forms("zero_", "fill_"), ("unexpected-error", "missing-error"), reason=(
        "zero_/fill_ of an expanded tensor (PyTorch writes the shared element; microtorch: "
        "read-only ValueError), and PyTorch refuses in-place changes of outputs of "
        "split/unbind/chunk ('a function that returns multiple views'). Fix in "
        "ops/inplace.py and ops/split.py (mark multi-view outputs).")),
    Pattern(("Tensor.*_", "Tensor.*_(*", "Tensor.*_[[]*") + operators("+", "-", "*", "/", "**"),
            ("backward-missing-error", "final-missing-error", "final-error-class",
             "alias-requires_grad", "final-grad-none"), reason=(
        "version counters: PyTorch raises 'modified by an inplace operation' when an output "
        "that a later node saved (mul's operands, sort's indices, ...) is changed; "
        "microtorch computes with the changed values or fails with an IndexError; an "
        "in-place op with an operand requiring grad through a view does not make the base "
        "require grad. Fix in the ops that save outputs and in the view rebase "
        "(autograd/function.py).")),
    Pattern(forms("mul_", "add_", "sub_", "div_", "fill_", "copy_", "clamp_", "clip_")
            + operators("+", "-", "*", "/") + ("x[[]*] = y",), ("grad_fn", "alias-grad_fn"),
            reason=(
        "grad_fn after an in-place op on a view or an indexed assignment: PyTorch shows "
        "AsStridedBackward0 on the view and CopySlices on the base, and its copy_ node is "
        "CopyBackwards; microtorch shows the op's own node (MulBackward0, "
        "IndexPutBackward0). Fix in autograd/function.py (rebase of views).")),
    Pattern("*", "stride", reason=(
        "views of a result whose layout differs from PyTorch's (nonzero returns its (n, "
        "ndim) result column-major in PyTorch). Fix in ops/comparison.py (nonzero).")),
    # -- requires_grad: ops with zero or partial gradients --------------------------------
    Pattern(forms("div", "divide", "sign", "clamp", "clip",
                  "clamp_", "clip_", "cat", "linalg.vector_norm", "linalg.matrix_norm",
                  "concat", "concatenate", "stack", "fill_", "abs") + ("x[[]mask] = y",),
            ("requires_grad", "final-grad-none"), reason=(
        "PyTorch records a node (zero or defined gradient) for div(rounding_mode), sign, "
        "clamp with a bound requiring grad, cat with an empty part requiring grad, fill_ "
        "with a 0-d tensor requiring grad, a value requiring grad set into a bool tensor "
        "through a mask; microtorch's result does not require grad (or the empty part gets "
        "no .grad). Fix in ops/: make these Functions with the right backward.")),
    # -- grad_fn names --------------------------------------------------------------------
    Pattern(forms("flatten", "reshape", "reshape_as", "unflatten", "view", "t", "squeeze",
                  "sum", "mean", "max", "min", "prod", "div", "divide", "clamp", "clip",
                  "masked_fill", "matmul", "linear", "l1_loss", "batch_norm",
                  "adaptive_avg_pool2d", "max_pool1d", "max_pool2d", "avg_pool1d",
                  "scaled_dot_product_attention", "dropout")
            + ("x @ y", "x[[]*]"), "grad_fn", reason=(
        "another grad_fn name than PyTorch's: ViewBackward0 (reshape/flatten/unflatten of "
        "a viewable tensor; microtorch ReshapeAliasBackward0), TBackward0, SqueezeBackward1 "
        "(one dim), SumBackward1/MeanBackward1/MaxBackward0/MinBackward0 (with dim), "
        "DivBackward2 (rounding_mode=None), ClampBackward0 (tensor bounds), "
        "MaskedFillBackward0, UnsafeViewBackward0/TransposeBackward0 (batched matmul), "
        "AddmmBackward0 vs ViewBackward0 (linear), MeanBackward0 (l1_loss), "
        "AliasBackward0/SliceBackward0/UnsqueezeBackward0 for x[...], x[1:], x[None] "
        "(microtorch: SelectBackward0). Fix in ops/: "
        "one Function subclass per PyTorch node name.")),
    Pattern(forms("flatten", "dropout"), "is_leaf", reason=(
        "flatten of a 1-d tensor and dropout of an empty tensor return the tensor itself in "
        "PyTorch (a leaf stays a leaf); microtorch returns a new tensor with a node. Fix in "
        "ops/shape.py, ops/dropout.py.")),
    # -- NaN, inf and extreme values ------------------------------------------------------
    Pattern(forms("clamp", "clip", "clamp_", "clip_", "clamp_max", "clamp_min", "clamp_max_",
                  "clamp_min_"),
            ("value", "grad"), reason=(
        "clamp with a NaN bound gives NaN in PyTorch (microtorch ignores the bound); at "
        "x == bound PyTorch's gradient goes to x. Fix in ops/unary.py.")),
    Pattern(forms("max", "min", "maximum", "minimum", "amax", "amin", "logsumexp", "atan2",
                  "pow", "cumprod", "prod", "linalg.vector_norm", "layer_norm",
                  "binary_cross_entropy", "binary_cross_entropy_with_logits", "batch_norm",
                  "elu", "atan2_", "var", "std", "log", "sqrt", "tanh", "mse_loss", "l1_loss",
                  "kl_div", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
                  "scaled_dot_product_attention", "addcdiv", "addcmul", "linalg.matrix_norm",
                  "remainder", "fmod", "div", "divide", "hypot", "logaddexp", "lerp", "conv1d",
                  "conv2d", "bmm", "true_divide", "flatten", "hypot_", "abs", "norm")
            + operators("**", "%", "/"), "grad", reason=(
        "gradients at NaN, inf, ties and poles: PyTorch sends max/min/maximum's gradient to a "
        "NaN operand and splits ties evenly, gives NaN through amax/logsumexp of inf, 0 for "
        "x ** y at x = 0, y > 0, -inf for binary_cross_entropy at 0/1; microtorch differs. "
        "Fix in each op's backward (ops/reduction.py, arithmetic.py, loss.py, ...).")),
    Pattern(forms("matmul", "bmm", "mm", "l1_loss", "mse_loss", "avg_pool1d", "avg_pool2d",
                  "gelu", "divide", "div", "batch_norm", "layer_norm", "std", "var", "linear",
                  "norm", "linalg.norm", "linalg.vector_norm", "scaled_dot_product_attention",
                  "conv1d", "conv2d", "adaptive_avg_pool2d", "cumprod", "prod", "sub",
                  "nll_loss")
            + ("x @ y",) + operators("%"), ("value", "alias-value"), reason=(
        "inf/NaN/1e38: PyTorch overflows float32 sums and means (l1_loss, avg_pool, "
        "batch_norm statistics) to inf where microtorch accumulates in float64, gives NaN "
        "for inf * 0 in matmul and gelu(inf) and for div(1, -inf, 'floor'), keeps "
        "x - alpha * y finite where alpha * y alone overflows; batch_norm's "
        "running statistics from inf inputs. Fix in ops/: "
        "accumulate in the input dtype as PyTorch does, and handle inf/NaN as it does.")),
    Pattern(forms("topk", "sort", "argsort", "max", "min", "argmax", "argmin"), "value", reason=(
        "ties: the index PyTorch returns among equal values (topk picks the last of equal "
        "maxima here). Fix in ops/sort.py if the rule is to be matched.")),
    # -- dtype promotion ------------------------------------------------------------------
    Pattern(forms("masked_fill", "clamp", "clip", "cat", "concat", "concatenate", "stack",
                  "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy_with_logits",
                  "dropout", "pow", "where") + operators("**"), "dtype", reason=(
        "result dtype: masked_fill keeps the tensor's dtype, bool clamp with an int bound "
        "gives int64, an int input with a float tensor bound gives float, cat promotes "
        "over empty parts too, losses of mixed float32/float64 inputs follow PyTorch's "
        "promotion (0-d and dimensioned), dropout keeps integer dtypes, bool ** True stays "
        "bool (numpy: int8). Fix in ops/ with _dtype.promote.")),
    # -- size-0 and 0-d -------------------------------------------------------------------
    Pattern(forms("amax", "amin", "argmax", "argmin", "max", "min", "softmax", "log_softmax",
                  "softmin",
                  "cross_entropy", "nll_loss", "bmm", "matmul", "unbind", "unflatten", "concat",
                  "cat", "concatenate", "linear", "nonzero", "where", "adaptive_avg_pool2d",
                  "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "embedding", "max_pool2d",
                  "batch_norm")
            + ("x @ y",),
            ("unexpected-error", "error-class"), ("*",), ("empty*", "0d*", "nd*"), reason=(
        "size-0 and 0-d inputs: amax/argmax with dim on a tensor with another zero-size "
        "dim, softmax of empty int/bool tensors, cross_entropy/nll_loss of an empty batch, "
        "mixed-dtype matmul/bmm of empty tensors, unbind/unflatten/concat of empty dims, a "
        "0-d bias in linear, nonzero/where(cond) of a 0-d tensor raise in microtorch; the "
        "empty full reductions raise another class (IndexError vs RuntimeError). Fix in "
        "the ops' shape checks.")),
    # -- exception classes and argument checks ---------------------------------------------
    Pattern(forms("floor_divide", "remainder", "div", "divide", "isclose", "allclose")
            + operators("%", "//"), "error-class", reason=(
        "plain-numpy ops report broadcast mismatches as numpy's ValueError (PyTorch: "
        "RuntimeError 'The size of tensor a ... must match'). Fix in ops/arithmetic.py via "
        "the shared broadcast_error.")),
    Pattern(forms("softmax", "log_softmax", "std", "var", "mean", "l1_loss", "huber_loss",
                  "binary_cross_entropy",
                  "smooth_l1_loss", "binary_cross_entropy_with_logits", "cross_entropy",
                  "nll_loss", "batch_norm", "conv1d", "conv2d", "avg_pool1d", "avg_pool2d",
                  "adaptive_avg_pool2d", "clamp", "clip", "clamp_", "clip_", "embedding",
                  "squeeze") + operators("-"),
            "error-class", reason=(
        "checks in another order or with another class than PyTorch: dtype before dim "
        "(softmax of int with a bad dim), RuntimeError vs NotImplementedError vs TypeError "
        "for unsupported dtypes, numpy's reshape ValueError for empty batches, clamp mixing "
        "a tensor and a number bound (PyTorch: TypeError). Fix in each op's argument check.")),
    Pattern(forms("mean", "max", "min", "prod", "std", "var", "sum", "clamp", "clip", "clamp_",
                  "clip_", "squeeze", "roll", "unflatten", "flatten", "batch_norm", "pad",
                  "permute", "logsumexp", "cross_entropy", "nll_loss", "amax", "amin"),
            "missing-error", reason=(
        "arguments PyTorch refuses: keepdim without dim (TypeError), unbiased with keepdim "
        "but no dim, clamp mixing a tensor and a number bound, repeated dims in squeeze, "
        "roll with empty shifts, unflatten of 0-d, momentum=None in F.batch_norm, a "
        "negative pad larger than the dim, batch_norm of an empty channel dim. Fix in the "
        "ops' argument parsing.")),
    Pattern(forms("sign", "l1_loss", "mse_loss", "softmax", "log_softmax", "max_pool1d",
                  "max_pool2d", "avg_pool1d", "avg_pool2d"), "unexpected-error",
            INTS, reason=(
        "integer or bool inputs refused where PyTorch computes: sign of bool, l1_loss of "
        "int64 with reduction='sum'/'none', softmax of empty integer tensors. Fix in "
        "ops/unary.py, ops/loss.py, ops/activation.py.")),
    Pattern(forms("pow") + operators("**"), "unexpected-error", INTS, reason=(
        "an integer tensor to a negative integer power: numpy refuses ('Integers to "
        "negative integer powers are not allowed'), PyTorch computes (0 or +-1). Fix in "
        "ops/arithmetic.py.")),
    Pattern(("x[[]*] = y",) + operators("+", "-", "*", "/"), ("error-class", "unexpected-error"),
            reason=(
        "in-place changes of a view of a tensor that requires grad: microtorch refuses them "
        "('does not record in-place operations on a view of a tensor that requires grad') "
        "before PyTorch's own checks (index bounds) run, or where PyTorch records "
        "CopySlices. Fix in autograd/function.py (rebase the base's history on a view "
        "change).")),
    Pattern(forms("add", "add_"), ("value", "dtype"), BOOL, reason=(
        "bool tensors with an integer alpha: PyTorch computes in bool (the result stays "
        "bool; alpha=-1 acts as a logical or), microtorch in int64 and casts. Fix in "
        "ops/arithmetic.py and ops/inplace.py.")),
    Pattern("input", "missing-error", reason=(
        "a program input such as tensor(2147483648.0, dtype=torch.int32): PyTorch refuses "
        "a value that overflows the dtype, microtorch wraps it. Fix in _factories.py.")),
    Pattern(operators("%", "//"), "alias-value", INTS, reason=(
        "an integer division by zero inside an in-place op: PyTorch raises after its kernel "
        "has written the elements before the zero (the target is partly changed); "
        "microtorch checks first and writes nothing. Match only if PyTorch's partial write "
        "is deemed behaviour to keep.")),
    Pattern(("x[[]empty-list]", "x[[]empty-list] = y"), ("unexpected-error", "error-class"),
            reason=(
        "x[[]] and x[[]] = v: an empty list index is an empty int64 index in PyTorch; "
        "microtorch refuses its dtype. Fix in ops/indexing.py.")),
]
"""Differences still to fix, grouped by cause (see the reason of each)."""


def status(key: tuple) -> str:
    """'allowed', 'known' or 'new' for a difference class."""
    if any(p.matches(key) for p in ALLOWED):
        return "allowed"
    if any(p.matches(key) for p in KNOWN_OPEN):
        return "known"
    return "new"
