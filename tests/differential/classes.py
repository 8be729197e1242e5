"""Difference classes the tester accepts: ALLOWED (PyTorch is wrong) and KNOWN_OPEN (to fix).

A difference class is (op, kind, dtype, shape category), e.g.
("Tensor.add_", "missing-error", "i64,float", "nd"): the op and its form (with the keyword
names used), what differs (kinds below), the operands' dtypes (f32, f64, i64, b for bool;
int/float/bool for Python scalars) and a shape category of the operands (0d, empty or nd,
+bcast when their shapes differ, +nc when one is not contiguous). A `Pattern` matches
classes with shell-style wildcards in each field.

Kinds: value (value-extreme when the step's float operands hold inf, NaN or |x| >= 1e30),
dtype, shape, type, storage (not an ndarray), requires_grad, is_leaf, grad_fn,
view (PyTorch returns a view, microtorch a copy), stride; missing-error (PyTorch raises,
microtorch does not), unexpected-error (the reverse), error-class (both raise, another
builtin class); grad (grad-extreme as for value), grad-dtype and backward-*
(autograd.grad of the step's outputs); final-* (backward() at the end of the program,
e.g. version-counter errors); alias-* (a value the step did not return changed, e.g. the
base of a view written in place).

- ALLOWED: PyTorch itself is wrong (reads out of bounds, hits an internal assert, ...) or
  not reproducible (its result depends on the CPU's vector width or loop order);
  microtorch keeps its sane behaviour. Nothing else belongs here, and each entry says why.
- KNOWN_OPEN: real differences that are still to be fixed, grouped by cause (empty now).
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
    Pattern(forms("pow", "pow_", "lerp", "lerp_") + operators("**"),
            ("backward-missing-error", "grad", "grad-extreme"),
            ("*,b", "*,bool", "*,b,*", "*,*,b"), reason=(
        "a bool exponent (or lerp weight): PyTorch's backward computes `exponent - 1` on the "
        "bool tensor and raises ('Subtraction ... with a bool tensor is not supported'), or "
        "gives NaN for the scalar False; microtorch returns the gradient of x ** 0 / x ** 1.")),
    Pattern(forms("huber_loss", "addcdiv", "addcdiv_", "addcmul", "addcmul_"),
            "backward-missing-error", reason=(
        "arguments the forward accepts (an integer tensor, or float32 with float64): "
        "PyTorch's backward then fails ('Found dtype Long but expected Float', 'Found dtype "
        "Float but expected Double', \"result type Float can't be cast to the desired output "
        "type Long\"); microtorch returns the gradients of the float inputs.")),
    Pattern(forms("logaddexp", "atan2", "atan2_", "hypot", "maximum", "minimum"),
            "backward-missing-error", BOOL, reason=(
        "a bool tensor operand that the forward accepts: PyTorch's backward subtracts with "
        "it and raises ('Subtraction ... with a bool tensor is not supported'); microtorch "
        "returns the gradient of the float operand.")),
    Pattern(forms("clamp", "clip"), "backward-missing-error", "*", "*bcast*", reason=(
        "tensor bounds that broadcast x to a larger (or empty) shape: PyTorch's forward "
        "returns the broadcast result but its backward fails ('output with shape [3, 1] "
        "doesn't match the broadcast shape [3, 0]'); microtorch returns the gradients.")),
    Pattern(("var*[[]dim=()]", "Tensor.var*[[]dim=()]", "std*[[]dim=()]",
             "Tensor.std*[[]dim=()]"), ("grad", "grad-extreme"), reason=(
        "var/std with dim=(): the forward reduces all N elements, but PyTorch's backward "
        "divides by 1 - correction instead of N - correction (gradcheck fails on "
        "torch.std(t, dim=(), correction=0); var([1., 2., 4.], dim=()) has gradient "
        "[-inf, -inf, inf]); microtorch returns the derivative of what the forward computed.")),
    Pattern(("logsumexp*[[]dim=()]", "Tensor.logsumexp*[[]dim=()]"), "missing-error", reason=(
        "logsumexp(dim=()) of a tensor with dims: PyTorch fails on its own internal shapes "
        "('output with shape [] doesn't match the broadcast shape [1, 1]'); microtorch "
        "reduces over all dims, as sum(dim=()) does in both libraries.")),
    Pattern(forms("elu", "elu[inplace]", "hardtanh", "hardtanh[inplace]"), "grad-extreme",
            reason=(
        "the gradient at a NaN input depends on the element's position in PyTorch: its "
        "vectorized blocks give NaN (elu) or 0 (hardtanh) and the scalar tail gives the "
        "pass-through gradient (torch.full((17,), nan) through hardtanh: 16 zeros, then 1); "
        "microtorch gives one answer for every position.")),
    Pattern(operators("%", "//") + forms("remainder_", "fmod_", "div_", "floor_divide_"),
            "alias-value", INTS, reason=(
        "an integer division by zero inside an in-place op: PyTorch raises after its kernel "
        "has already written some elements (which ones depends on its loop order and "
        "threads); microtorch raises before writing anything.")),
    Pattern(("x[[]tensor] = y", "x[[]list] = y"), ("alias-value", "alias-value-extreme"),
            reason=(
        "an index tensor or list with an out-of-range entry: both raise IndexError, PyTorch "
        "after writing the elements its loop reached first; microtorch checks before "
        "writing.")),
    Pattern(forms("fill_", "masked_fill_", "masked_fill", "masked_fill[tensor value]")
            + ("x[[]*] = y",), ("requires_grad", "alias-requires_grad", "final-*"),
            ("i64,*", "i32,*", "b,*"), reason=(
        "filling (or index-assigning) an integer or bool tensor with a float tensor that "
        "requires grad: "
        "PyTorch marks the integer result as requiring grad, and any backward through it "
        "fails ('isDifferentiableType ... INTERNAL ASSERT FAILED', 'Autograd not support "
        "dtype: Long'); microtorch's integer result does not require grad.")),
    Pattern("nn.functional.layer_norm[[]1 element]", ("grad", "grad-extreme"), reason=(
        "layer_norm over rows of one element: the output is the bias whatever x is, so the "
        "gradient with respect to x is exactly 0; PyTorch's backward formula cancels two "
        "large products and leaves rounding noise (weight 1e38: +-9.7e24, or NaN/inf when "
        "the products overflow); microtorch returns 0.")),
    Pattern("nn.functional.batch_norm[[]*", ("grad", "grad-extreme", "final-grad",
                                            "final-grad-extreme"), "*", "*nc*", reason=(
        "a non-contiguous weight (or running statistic): PyTorch's batch_norm backward reads "
        "its storage as if it were contiguous (out of bounds for an expanded weight; "
        "w = torch.tensor([2., 99., 3., 99.])[::2] gives gradients computed with the unused "
        "99); microtorch uses the weight's values (finite differences and PyTorch with "
        "weight.contiguous() agree with it).")),
    Pattern(forms("addcmul", "addcmul_", "addcdiv", "addcdiv_", "lerp", "lerp_", "conv1d",
                  "conv2d", "scaled_dot_product_attention",
                  "scaled_dot_product_attention[3-d]", "layer_norm", "batch_norm[[]*",
                  "std", "var", "sum", "mean", "matmul", "mm", "bmm", "linear[[]*")
            + ("x @ y",),
            ("value-extreme", "grad-extreme", "alias-value-extreme", "final-grad-extreme"),
            reason=(
        "values or gradients from operands holding inf, NaN or magnitudes >= 1e30, in ops "
        "that accumulate: PyTorch's compiled kernels contract a * b + c into one FMA (no "
        "intermediate overflow: fma(1e38, -7.7e4, inf) = inf where a * b + c gives NaN), "
        "sum in SIMD-lane order that changes with the CPU's vector width, and cancel large "
        "terms in their own order (layer_norm's backward of a constant row of -3e38 gives 0 "
        "where the derivative is +-316), so overflow, inf - inf and cancellation happen at "
        "other terms. Both are rounded evaluations of the same formula; no order reproduces "
        "PyTorch's on every CPU. Differences at ordinary values are not allowed.")),
]
"""Cases where PyTorch 2.13 is wrong or not reproducible (see the reason of each)."""

KNOWN_OPEN: list[Pattern] = []
"""Differences still to fix, grouped by cause (none: the thorough run finds only ALLOWED)."""


def status(key: tuple) -> str:
    """'allowed', 'known' or 'new' for a difference class."""
    if any(p.matches(key) for p in ALLOWED):
        return "allowed"
    if any(p.matches(key) for p in KNOWN_OPEN):
        return "known"
    return "new"
