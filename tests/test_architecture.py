"""The layering the op layer promises (docs/architecture.md), checked on the source itself:
ops record only through `Function.apply`, only `AccumulateGrad` writes `.grad` in backward,
the autograd core imports nothing above it, and Tensor's methods are defined in _tensor.py."""
import ast
import inspect
import pathlib
import sys

import numpy as np

import microtorch as mt
from microtorch.autograd.function import Function

SRC = pathlib.Path(mt.__file__).parent


def _modules(folder: str):
    return sorted((SRC / folder).glob("*.py"))


def _tree(path: pathlib.Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def test_ops_record_only_through_function_apply():
    forbidden = {"needs_grad", "record", "grad_accumulator", "Node", "AccumulateGrad"}
    for path in _modules("ops"):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module and "autograd" in node.module:
                names = {a.name for a in node.names}
                assert not names & forbidden, f"{path.name} imports {names & forbidden}"
            if isinstance(node, ast.Attribute) and node.attr in ("_saved", "_versions", "_seq",
                                                                  "next_functions"):
                raise AssertionError(f"{path.name}:{node.lineno} touches node internals "
                                     f"({node.attr})")
    assert not (SRC / "autograd" / "graph.py").exists()


def _grad_assignments(path: pathlib.Path):
    for node in ast.walk(_tree(path)):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute) and t.attr == "grad":
                value = getattr(node, "value", None)
                to_none = isinstance(value, ast.Constant) and value.value is None
                yield node.lineno, to_none


def test_ops_never_assign_grad():
    for folder in ("ops", "autograd"):
        for path in _modules(folder):
            if path.name == "node.py":                  # AccumulateGrad
                continue
            for lineno, _ in _grad_assignments(path):
                raise AssertionError(f"{folder}/{path.name}:{lineno} assigns .grad")


def test_only_accumulate_grad_writes_grad_in_backward(monkeypatch):
    """Spy on every write of `Tensor.grad` during a training step's backward."""
    slot = mt.Tensor.__dict__["grad"]
    writers = []

    class Spy:
        def __get__(self, obj, owner=None):
            return self if obj is None else slot.__get__(obj, owner)

        def __set__(self, obj, value):
            if value is not None:                       # new tensors start with grad None
                frame = sys._getframe(1)
                owner = type(frame.f_locals.get("self")).__name__
                writers.append(f"{owner}.{frame.f_code.co_name}")
            slot.__set__(obj, value)

    mt.manual_seed(0)
    model = mt.nn.Sequential(mt.nn.Linear(4, 8), mt.nn.BatchNorm1d(8), mt.nn.ReLU(),
                             mt.nn.Dropout(0.2), mt.nn.Linear(8, 3))
    x = mt.randn(16, 4)
    y = mt.randint(0, 3, (16,))
    monkeypatch.setattr(mt.Tensor, "grad", Spy())
    for loss in (mt.nn.functional.cross_entropy(model(x), y),
                 ((model(x[:, :]).softmax(dim=1) - 0.5) ** 2).mean()):
        loss.backward()
    assert writers and set(writers) == {"AccumulateGrad.backward"}


def test_a_fresh_gradient_is_adopted_not_copied():
    """AccumulateGrad takes ownership of a gradient array nothing else references."""
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            out = g * 2
            seen["id"] = id(out._data)
            return out

    x = mt.randn(4, requires_grad=True)
    Probe.apply(x).sum().backward()
    assert id(x.grad._data) == seen["id"]
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 2.0))
    Probe.apply(x).sum().backward()                    # the second one accumulates in place
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 4.0))


def test_shared_gradient_is_copied_for_each_leaf():
    a = mt.randn(3, requires_grad=True)
    b = mt.randn(3, requires_grad=True)
    (a + b).sum().backward()                           # AddBackward0 returns g for both
    assert a.grad._data is not b.grad._data
    a.grad.add_(1)
    np.testing.assert_allclose(b.grad.numpy(), np.ones(3))


def test_autograd_core_imports_nothing_above_it():
    for path in _modules("autograd"):
        for node in _tree(path).body:
            if isinstance(node, ast.ImportFrom):
                module = ("." * node.level) + (node.module or "")
                for layer in ("ops", "nn", "optim", "_tensor", "_factories"):
                    assert not module.lstrip(".").startswith(layer) and \
                        not any(a.name == layer for a in node.names), \
                        f"autograd/{path.name} imports {module} at module level"


def test_tensor_methods_are_defined_in_tensor_py():
    for name, value in vars(mt.Tensor).items():
        fn = value.fget if isinstance(value, property) else value
        if inspect.isfunction(fn):
            assert fn.__module__ == "microtorch._tensor", f"Tensor.{name} comes from {fn.__module__}"
    assert not (SRC / "ops" / "methods.py").exists()
