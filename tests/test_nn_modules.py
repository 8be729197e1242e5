"""nn.Module machinery, Parameter, containers and layers (no PyTorch needed).

Values are checked against numpy computations; PyTorch comparisons are in
test_nn_parity.py.
"""
import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import microtorch as mt
import microtorch.nn.functional as F
from microtorch import nn


def course_regressor():
    return nn.Sequential(nn.Linear(1, 5), nn.ReLU(), nn.Linear(5, 2), nn.ReLU(), nn.Linear(2, 1))


class Net(nn.Module):
    """A custom module with a parameter, buffers and children."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(mt.tensor(2.0))
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.register_buffer("offset", mt.ones(4))
        self.register_buffer("scratch", mt.zeros(4), persistent=False)

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale + self.offset


# ------------------------------------------------------------------ Parameter
def test_parameter_defaults_and_repr():
    p = nn.Parameter(mt.tensor([1.0, 2.0]))
    assert isinstance(p, mt.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert str(p) == repr(p)
    assert not nn.Parameter(mt.zeros(2), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)


def test_parameter_shares_storage_and_ops_return_tensors():
    t = mt.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    t._data[0] = 5.0
    assert p[0].item() == 5.0
    out = p * 2
    assert type(out) is mt.Tensor
    assert type(p.detach()) is mt.Tensor and type(p.data) is mt.Tensor


def test_parameter_rejects_integer_and_non_tensor():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(mt.tensor([1, 2]))
    with pytest.raises(TypeError):
        nn.Parameter([1.0, 2.0])


def test_parameter_deepcopy_and_pickle_keep_class():
    p = nn.Parameter(mt.tensor([1.0, 2.0]))
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is nn.Parameter and q.requires_grad
        assert np.array_equal(q.detach().numpy(), [1.0, 2.0])
        assert q._data is not p._data


# ---------------------------------------------------------------- registration
def test_attribute_registration():
    net = Net()
    assert list(net._parameters) == ["scale"]
    assert list(net._modules) == ["fc", "bn"]
    assert list(net._buffers) == ["offset", "scratch"]
    assert net.fc is net._modules["fc"] and net.offset is net._buffers["offset"]
    net.plain = 3
    assert net.__dict__["plain"] == 3 and "plain" not in net._parameters
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'missing'"):
        _ = net.missing


def test_named_parameters_buffers_modules():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "fc.weight", "fc.bias", "bn.weight", "bn.bias"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert next(net.named_parameters(prefix="model"))[0] == "model.scale"
    assert [n for n, _ in net.named_buffers()] == [
        "offset", "scratch", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert len(list(net.parameters())) == 5 and len(list(net.buffers())) == 5
    assert [n for n, _ in net.named_modules()] == ["", "fc", "bn"]
    assert [n for n, _ in net.named_children()] == ["fc", "bn"]
    assert list(net.children()) == [net.fc, net.bn]
    assert list(net.modules()) == [net, net.fc, net.bn]


def test_shared_modules_and_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_replacing_and_deleting():
    lin = nn.Linear(2, 3)
    lin.bias = None
    assert lin.bias is None and "bias" in lin._parameters
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    assert repr(lin) == "Linear(in_features=2, out_features=3, bias=False)"
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter "
                                        r"'weight' \(torch.nn.Parameter or None expected\)"):
        lin.weight = mt.zeros(3, 2)
    net = Net()
    with pytest.raises(TypeError, match="as child module 'fc'"):
        net.fc = 3
    with pytest.raises(TypeError, match="as buffer 'offset'"):
        net.offset = 3
    net.offset = mt.zeros(4)
    assert net._buffers["offset"].sum().item() == 0
    net.fc = nn.Identity()
    assert isinstance(net._modules["fc"], nn.Identity)
    del net.fc
    assert "fc" not in net._modules
    del net.scale
    assert "scale" not in net._parameters
    net.fc = nn.Parameter(mt.zeros(1))            # a name moves between stores
    assert "fc" in net._parameters


def test_assign_before_init_raises():
    class NoInit(nn.Module):
        def __init__(self, what):
            self.x = what

    with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__\(\) call"):
        NoInit(nn.Linear(1, 1))
    with pytest.raises(AttributeError, match="cannot assign parameters before"):
        NoInit(nn.Parameter(mt.zeros(1)))


def test_register_methods_validate():
    lin = nn.Linear(1, 1)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        lin.register_buffer("weight", mt.zeros(1))
    with pytest.raises(KeyError, match='parameter name can'):
        lin.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="empty string"):
        lin.register_buffer("", None)
    with pytest.raises(TypeError, match="buffer name should be a string. Got int"):
        lin.register_buffer(3, None)
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        lin.add_module("x", 3)
    with pytest.raises(TypeError, match=r"cannot assign 'int' object to buffer 'x' "
                                        r"\(torch Tensor or None required\)"):
        lin.register_buffer("x", 3)
    with pytest.raises(TypeError, match="to parameter 'x'"):
        lin.register_parameter("x", mt.zeros(1))
    p = nn.Parameter(mt.ones(1))
    with pytest.raises(TypeError):
        lin.register_parameter("y", p * 2)
    lin.add_module("child", nn.ReLU())
    lin.register_module("other", None)
    assert lin.child is lin._modules["child"] and lin._modules["other"] is None


def test_get_submodule_parameter_buffer():
    net = nn.Sequential(OrderedDict(block=Net()))
    assert net.get_submodule("block.fc") is net.block.fc
    assert net.get_parameter("block.fc.weight") is net.block.fc.weight
    assert net.get_buffer("block.bn.running_mean") is net.block.bn.running_mean
    with pytest.raises(AttributeError):
        net.get_submodule("block.nope")


def test_forward_missing_raises():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  r'"forward" function'):
        nn.Module()(mt.zeros(1))


def test_dir_lists_registered_names():
    names = dir(Net())
    assert {"fc", "bn", "scale", "offset", "forward"} <= set(names)


# ----------------------------------------------------------------- modes, grads
def test_train_eval_recursive():
    net = Net()
    assert net.training and net.bn.training
    assert net.eval() is net
    assert not net.training and not net.bn.training and not net.fc.training
    net.train()
    assert net.bn.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")


def test_zero_grad_and_requires_grad():
    model = course_regressor()
    model(mt.randn(4, 1)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    grads = [p.grad for p in model.parameters()]
    model.zero_grad(set_to_none=False)
    assert all(p.grad is g and p.grad.sum().item() == 0 for p, g in zip(model.parameters(), grads))
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())


def test_apply_visits_children_first():
    seen = []
    model = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


def test_apply_for_custom_init():
    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)

    model = course_regressor().apply(init_weights)
    assert model[0].weight.sum().item() == 2.5 and model[4].bias.item() == 0


def test_to_double_float_keeps_parameter_objects():
    net = Net()
    params = list(net.parameters())
    net(mt.randn(3, 3)).sum().backward()
    assert net.double() is net
    assert all(p.dtype == mt.float64 for p in net.parameters())
    assert all(a is b for a, b in zip(params, net.parameters()))
    assert net.fc.weight.grad.dtype == mt.float64
    assert net.bn.running_mean.dtype == mt.float64
    assert net.bn.num_batches_tracked.dtype == mt.int64          # integers untouched
    out = net(mt.randn(3, 3, dtype=mt.float64))
    out.sum().backward()
    assert out.dtype == mt.float64 and net.fc.weight.grad.dtype == mt.float64
    net.float()
    assert net.fc.weight.dtype == mt.float32
    net.to(mt.float64)
    assert net.fc.weight.dtype == mt.float64
    net.to("cpu", dtype=mt.float32)
    assert net.fc.weight.dtype == mt.float32
    assert net.to(mt.zeros(1, dtype=mt.float64)).fc.weight.dtype == mt.float64
    assert net.cpu() is net and net.to("cpu") is net


def test_to_rejects_integer_dtype_and_cuda():
    lin = nn.Linear(1, 1)
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        lin.to(mt.int64)
    with pytest.raises(RuntimeError, match="cuda"):
        lin.cuda()
    with pytest.raises(RuntimeError, match="cuda"):
        lin.to("cuda")


# -------------------------------------------------------------------- hooks
def test_forward_hooks_run_and_can_replace():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append(("pre", args[0].shape)))
    h2 = lin.register_forward_hook(lambda m, args, out: out * 0)
    out = lin(mt.ones(3, 2))
    assert calls == [("pre", (3, 2))] and out.abs().sum().item() == 0
    h2.remove()
    assert lin(mt.ones(3, 2)).abs().sum().item() > 0
    h1.remove()
    assert not lin._forward_hooks and not lin._forward_pre_hooks
    with lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,)):
        assert np.allclose(lin(mt.ones(1, 2)).detach().numpy(), lin.bias.detach().numpy())
    assert not lin._forward_pre_hooks


def test_forward_hook_kwargs_and_order():
    order = []
    relu = nn.ReLU()
    relu.register_forward_hook(lambda m, a, o: order.append("second"))
    relu.register_forward_hook(lambda m, a, o: order.append("first"), prepend=True)
    relu.register_forward_pre_hook(lambda m, a, k: ((a[0] - 10,), k), with_kwargs=True)
    relu.register_forward_hook(lambda m, a, k, o: order.append(("kw", k)), with_kwargs=True)
    assert relu(mt.tensor([5.0])).item() == 0
    assert order == ["first", "second", ("kw", {})]


# ----------------------------------------------------------------- state_dict
def test_state_dict_keys_and_values_share_storage():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["scale", "offset", "fc.weight", "fc.bias", "bn.weight", "bn.bias",
                        "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert all(not v.requires_grad and type(v) is mt.Tensor for v in sd.values())
    assert sd["fc.weight"]._data is net.fc.weight._data
    assert net.state_dict(keep_vars=True)["fc.weight"] is net.fc.weight
    assert sd._metadata[""]["version"] == 1 and sd._metadata["bn"]["version"] == 2
    assert next(iter(net.state_dict(prefix="m."))) == "m.scale"


def test_load_state_dict_copies_in_place_and_bumps_version():
    src, dst = course_regressor(), course_regressor()
    weight = dst[0].weight
    version = weight._version[0]
    result = dst.load_state_dict(src.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst[0].weight is weight and weight._version[0] == version + 1
    assert weight._data is not src[0].weight._data
    x = mt.randn(7, 1)
    assert np.array_equal(src(x).detach().numpy(), dst(x).detach().numpy())


def test_load_state_dict_accepts_arrays_lists_and_casts():
    model = course_regressor()
    arrays = {k: np.full(v.shape, 0.25, dtype=np.float64) for k, v in model.state_dict().items()}
    model.load_state_dict(arrays)
    assert model[2].weight.dtype == mt.float32
    assert np.all(model[2].weight.detach().numpy() == 0.25)
    lin = nn.Linear(2, 1)
    lin.load_state_dict({"weight": [[1.0, 2.0]], "bias": [3]})
    assert lin(mt.tensor([[1.0, 1.0]])).item() == 6.0


def test_load_state_dict_errors():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    sd = model.state_dict()
    sd["extra"] = mt.zeros(1)
    sd["1.foo"] = mt.zeros(1)
    del sd["0.bias"]
    sd["0.weight"] = mt.zeros(4, 2)
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(sd)
    assert str(err.value) == (
        'Error(s) in loading state_dict for Sequential:\n'
        '\tMissing key(s) in state_dict: "0.bias". \n'
        '\tUnexpected key(s) in state_dict: "extra", "1.foo". \n'
        '\tsize mismatch for 0.weight: copying a param with shape torch.Size([4, 2]) from '
        'checkpoint, the shape in current model is torch.Size([3, 2]).')
    with pytest.raises(RuntimeError, match="size mismatch"):        # even when not strict
        model.load_state_dict(sd, strict=False)
    del sd["0.weight"]
    result = model.load_state_dict(sd, strict=False)
    assert result == (["0.weight", "0.bias"], ["extra", "1.foo"])
    assert result.missing_keys == ["0.weight", "0.bias"]
    assert repr(result).startswith("_IncompatibleKeys(missing_keys=['0.weight', '0.bias']")
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        model.load_state_dict([1, 2])
    with pytest.raises(RuntimeError, match='While copying the parameter named "0.bias", '
                                           'expected torch.Tensor or Tensor-like object'):
        model.load_state_dict({**model.state_dict(), "0.bias": "text"})


def test_load_state_dict_missing_num_batches_tracked():
    model = nn.Sequential(nn.BatchNorm1d(3))
    model[0].num_batches_tracked.fill_(7)
    plain = dict(model.state_dict())            # no _metadata: an old-style checkpoint
    del plain["0.num_batches_tracked"]
    model.load_state_dict(plain)
    assert model[0].num_batches_tracked.item() == 7
    with_meta = model.state_dict()
    del with_meta["0.num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "0.num_batches'):
        model.load_state_dict(with_meta)


def test_load_state_dict_assign_and_non_persistent():
    net = Net()
    sd = net.state_dict()
    assert "scratch" not in sd
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "scratch"'):
        net.load_state_dict({**sd, "scratch": mt.zeros(4)})
    old = net.fc.weight
    net.load_state_dict({k: v.clone() for k, v in sd.items()}, assign=True)
    assert net.fc.weight is not old and isinstance(net.fc.weight, nn.Parameter)
    assert net.fc.weight.requires_grad


def test_load_state_dict_keeps_optimizer_view():
    """Parameters keep identity, so an update by hand after loading uses the loaded values."""
    model = course_regressor()
    params = list(model.parameters())
    model.load_state_dict({k: np.zeros(v.shape) for k, v in model.state_dict().items()})
    model(mt.ones(2, 1)).sum().backward()
    with mt.no_grad():
        for p in params:
            p -= 0.1 * p.grad
    assert model[4].bias.item() == pytest.approx(-0.2)


# --------------------------------------------------------------------- repr
def test_repr_nested_like_pytorch():
    model = nn.Sequential(nn.Linear(1, 5), nn.Sequential(nn.ReLU(), nn.Linear(5, 2)),
                          nn.BatchNorm1d(4, momentum=None))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=1, out_features=5, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Linear(in_features=5, out_features=2, bias=True)\n"
        "  )\n"
        "  (2): BatchNorm1d(4, eps=1e-05, momentum=None, affine=True, bias=True, "
        "track_running_stats=True)\n"
        ")")
    assert repr(nn.Sequential()) == "Sequential()"
    assert repr(Net()).startswith("Net(\n  (fc): Linear(in_features=3, out_features=4")


@pytest.mark.parametrize("module, text", [
    (nn.Linear(1, 5), "Linear(in_features=1, out_features=5, bias=True)"),
    (nn.Linear(2, 3, bias=False), "Linear(in_features=2, out_features=3, bias=False)"),
    (nn.Identity(3, x=4), "Identity()"),
    (nn.ReLU(), "ReLU()"),
    (nn.ReLU(inplace=True), "ReLU(inplace=True)"),
    (nn.LeakyReLU(0.2, True), "LeakyReLU(negative_slope=0.2, inplace=True)"),
    (nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
    (nn.Sigmoid(), "Sigmoid()"),
    (nn.Tanh(), "Tanh()"),
    (nn.Softmax(), "Softmax(dim=None)"),
    (nn.Softmax(dim=1), "Softmax(dim=1)"),
    (nn.LogSoftmax(1), "LogSoftmax(dim=1)"),
    (nn.Dropout(), "Dropout(p=0.5, inplace=False)"),
    (nn.Flatten(), "Flatten(start_dim=1, end_dim=-1)"),
    (nn.Unflatten(1, (2, 3)), "Unflatten(dim=1, unflattened_size=(2, 3))"),
    (nn.BatchNorm1d(3, affine=False),
     ("BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, "
      "track_running_stats=True)")),
    (nn.LayerNorm(4), "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"),
    (nn.LayerNorm((2, 3), bias=False),
     "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, bias=False)"),
    (nn.MSELoss(), "MSELoss()"),
    (nn.CrossEntropyLoss(weight=mt.ones(3)), "CrossEntropyLoss()"),
    (nn.ModuleList(), "ModuleList()"),
    (nn.ModuleDict({"a": nn.ReLU()}), "ModuleDict(\n  (a): ReLU()\n)"),
])
def test_layer_reprs(module, text):
    assert repr(module) == text


def test_module_list_repr_groups_repeats():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.Tanh(), nn.Tanh()])
    assert repr(ml) == ("ModuleList(\n"
                        "  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
                        "  (3): ReLU()\n"
                        "  (4-5): 2 x Tanh()\n"
                        ")")


# ------------------------------------------------------------------ deepcopy
def test_deepcopy_module_is_independent():
    net = Net()
    net(mt.randn(4, 3)).sum().backward()
    twin = copy.deepcopy(net)
    assert type(twin.fc.weight) is nn.Parameter and twin.fc.weight is not net.fc.weight
    assert np.array_equal(twin.fc.weight.detach().numpy(), net.fc.weight.detach().numpy())
    assert twin.fc.weight.grad is not None
    with mt.no_grad():
        twin.fc.weight.fill_(0)
    assert net.fc.weight.abs().sum().item() > 0
    assert list(twin.state_dict()) == list(net.state_dict())
    x = mt.randn(2, 3)
    net.eval()
    twin = copy.deepcopy(net)
    assert np.allclose(twin(x).detach().numpy(), net(x).detach().numpy())


def test_pickle_module_round_trip():
    model = course_regressor()
    twin = pickle.loads(pickle.dumps(model))
    x = mt.randn(5, 1)
    assert np.array_equal(twin(x).detach().numpy(), model(x).detach().numpy())
    assert isinstance(twin[0].weight, nn.Parameter)


# ------------------------------------------------------------------ containers
def test_sequential_indexing_and_mutation():
    a, b, c = nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    sub = seq[1:]
    assert type(sub) is nn.Sequential and list(sub._modules) == ["1", "2"] and sub[0] is b
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    with pytest.raises(IndexError):
        seq[-4]
    with pytest.raises(TypeError):
        seq["a"]
    seq[1] = nn.Tanh()
    assert isinstance(seq[1], nn.Tanh)
    del seq[0]
    assert list(seq._modules) == ["0", "1"] and seq[1] is c
    assert seq.append(nn.Sigmoid()) is seq and list(seq._modules) == ["0", "1", "2"]
    seq.insert(0, nn.Identity())
    assert isinstance(seq[0], nn.Identity) and len(seq) == 4
    seq.extend([nn.ReLU()])
    assert len(seq) == 5 and isinstance(seq.pop(-1), nn.ReLU) and len(seq) == 4
    assert len(seq + nn.Sequential(nn.ReLU())) == 5


def test_sequential_ordered_dict_and_forward():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    assert seq.fc is seq[0]
    x = mt.randn(4, 2)
    expected = np.maximum(x.numpy() @ seq.fc.weight.detach().numpy().T
                          + seq.fc.bias.detach().numpy(), 0)
    assert np.allclose(seq(x).detach().numpy(), expected, atol=1e-6)
    assert nn.Sequential()(x) is x


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
    assert len(layers) == 2 and isinstance(layers[-1], nn.ReLU)
    assert len(list(layers.parameters())) == 2
    layers.append(nn.Linear(2, 1))
    layers.extend([nn.Sigmoid()])
    layers += [nn.Tanh()]
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear", "Sigmoid", "Tanh"]
    assert type(layers[1:3]) is nn.ModuleList and len(layers[1:3]) == 2
    layers.insert(1, nn.Identity())
    assert isinstance(layers[1], nn.Identity) and list(layers._modules)[-1] == "5"
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3", "4"]
    assert isinstance(layers.pop(0), nn.Identity) and len(layers) == 4
    layers[0] = nn.Tanh()
    assert isinstance(layers[0], nn.Tanh)
    with pytest.raises(TypeError, match="should be called with an iterable"):
        layers.extend(3)
    with pytest.raises(IndexError):
        layers[10]


def test_module_dict():
    d = nn.ModuleDict({"a": nn.ReLU(), "b": nn.Linear(1, 1)})
    assert "a" in d and list(d) == ["a", "b"] and len(d) == 2
    assert list(d.keys()) == ["a", "b"] and isinstance(d["b"], nn.Linear)
    assert [k for k, _ in d.items()] == ["a", "b"] and len(list(d.values())) == 2
    d["c"] = nn.Tanh()
    d.update([("e", nn.Sigmoid())])
    assert list(d) == ["a", "b", "c", "e"]
    assert list(d.state_dict()) == ["b.weight", "b.bias"]
    assert isinstance(d.pop("a"), nn.ReLU) and "a" not in d
    del d["c"]
    d.clear()
    assert len(d) == 0


def test_module_in_plain_list_is_not_registered():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Linear(1, 1)]

    class Good(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(1, 1)])

    assert len(list(Bad().parameters())) == 0 and len(list(Good().parameters())) == 2


# -------------------------------------------------------------------- layers
def test_linear_forward_and_init_bounds():
    mt.manual_seed(0)
    lin = nn.Linear(16, 300)
    bound = 1 / math.sqrt(16)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.shape == (300, 16) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.95 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    x = mt.randn(5, 16)
    assert np.allclose(lin(x).detach().numpy(), x.numpy() @ w.T + b, atol=1e-5)
    assert lin(mt.randn(2, 3, 16)).shape == (2, 3, 300)
    assert lin(x).grad_fn.name() == "AddmmBackward0"


def test_linear_options_and_errors():
    lin = nn.Linear(3, 2, bias=False, dtype=mt.float64)
    assert lin.bias is None and lin.weight.dtype == mt.float64
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert nn.Linear(3, 0).weight.shape == (0, 3)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(32x7 and 10x5\)"):
        nn.Linear(10, 5)(mt.zeros(32, 7))
    with pytest.raises(RuntimeError):
        nn.Linear(2, 2, device="cuda")


def test_linear_gradients_match_numpy():
    lin = nn.Linear(3, 2)
    x = mt.randn(4, 3, requires_grad=True)
    g = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    lin(x).backward(mt.tensor(g))
    w = lin.weight.detach().numpy()
    assert np.allclose(x.grad.numpy(), g @ w, atol=1e-6)
    assert np.allclose(lin.weight.grad.numpy(), g.T @ x.detach().numpy(), atol=1e-6)
    assert np.allclose(lin.bias.grad.numpy(), g.sum(0), atol=1e-6)


def test_identity_flatten_unflatten():
    x = mt.randn(2, 3, 4)
    assert nn.Identity()(x) is x
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0)(x).shape == (24,)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Unflatten(1, (3, 4))(mt.randn(2, 12)).shape == (2, 3, 4)
    assert nn.Unflatten(1, [2, -1])(mt.randn(2, 12)).shape == (2, 2, 6)
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found "
                                        "type int"):
        nn.Unflatten(1, 6)
    with pytest.raises(TypeError, match="found element of type float at pos 0"):
        nn.Unflatten(1, (2.0, 3))


def test_activation_modules_values():
    x = mt.tensor([[-2.0, 0.5, 3.0]])
    a = x.numpy()
    assert np.allclose(nn.ReLU()(x).numpy(), np.maximum(a, 0))
    assert np.allclose(nn.LeakyReLU(0.1)(x).numpy(), np.where(a > 0, a, 0.1 * a))
    assert np.allclose(nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp(-a)))
    assert np.allclose(nn.Tanh()(x).numpy(), np.tanh(a))
    soft = np.exp(a) / np.exp(a).sum(1, keepdims=True)
    assert np.allclose(nn.Softmax(dim=1)(x).numpy(), soft)
    assert np.allclose(nn.LogSoftmax(dim=-1)(x).numpy(), np.log(soft), atol=1e-6)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        assert np.allclose(nn.Softmax()(x).numpy(), soft)


def test_inplace_activations():
    h = mt.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(h) is h and h.tolist() == [0.0, 2.0]
    w = mt.tensor([1.0, -1.0], requires_grad=True)
    y = w * 1.0
    out = nn.LeakyReLU(0.5, inplace=True)(y)
    assert out is y
    out.sum().backward()
    assert w.grad.tolist() == [1.0, 0.5]
    leaf = mt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        nn.ReLU(inplace=True)(leaf)


def test_dropout_module():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                                         "got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="but got -0.1"):
        nn.Dropout(-0.1)
    mt.manual_seed(1)
    drop = nn.Dropout(0.25)
    x = mt.ones(200, 500)
    y = drop(x).numpy()
    kept = y != 0
    assert abs(1 - kept.mean() - 0.25) < 0.01
    assert np.allclose(y[kept], 1 / 0.75)
    assert abs(y.mean() - 1) < 0.02
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert nn.Dropout(1.0)(x).abs().sum().item() == 0


def test_dropout_gradient_uses_same_mask():
    x = mt.randn(50, 40, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    mask = y.detach().numpy() != 0
    assert np.array_equal(x.grad.numpy() != 0, mask)
    assert np.allclose(x.grad.numpy()[mask], 2.0)


def _bn_reference(x, weight, bias, eps, axes):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


@pytest.mark.parametrize("shape", [(8, 3), (5, 3, 4)])
def test_batchnorm_training_statistics(shape):
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm1d(3).double()
    axes = (0,) if len(shape) == 2 else (0, 2)
    bshape = (1, 3) + (1,) * (len(shape) - 2)
    running_mean, running_var = np.zeros(3), np.ones(3)
    for step in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        out = bn(mt.tensor(x)).detach().numpy()
        assert np.allclose(out, _bn_reference(x, 1, 0, 1e-5, axes), atol=1e-10)
        n = x.size // 3
        running_mean = 0.9 * running_mean + 0.1 * x.mean(axis=axes)
        running_var = 0.9 * running_var + 0.1 * x.var(axis=axes) * n / (n - 1)
    assert np.allclose(bn.running_mean.numpy(), running_mean)
    assert np.allclose(bn.running_var.numpy(), running_var)
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == mt.int64
    bn.eval()
    x = rng.standard_normal(shape)
    expected = (x - running_mean.reshape(bshape)) / np.sqrt(running_var.reshape(bshape) + 1e-5)
    assert np.allclose(bn(mt.tensor(x)).detach().numpy(), expected)
    assert bn.num_batches_tracked.item() == 3


def test_batchnorm_cumulative_average_and_no_tracking():
    rng = np.random.default_rng(4)
    bn = nn.BatchNorm1d(2, momentum=None).double()
    xs = [rng.standard_normal((6, 2)) for _ in range(4)]
    for x in xs:
        bn(mt.tensor(x))
    assert np.allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0))
    assert np.allclose(bn.running_var.numpy(), np.mean([x.var(0, ddof=1) for x in xs], axis=0))
    free = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert free.running_mean is None and list(free.state_dict()) == []
    free.eval()                                      # still uses batch statistics
    x = rng.standard_normal((6, 2)).astype(np.float32)
    assert np.allclose(free(mt.tensor(x)).numpy(), _bn_reference(x, 1, 0, 1e-5, (0,)),
                       atol=1e-5)


def test_batchnorm_affine_parameters_and_errors():
    bn = nn.BatchNorm1d(3, bias=False)
    assert bn.bias is None and [n for n, _ in bn.named_parameters()] == ["weight"]
    assert list(nn.BatchNorm1d(3).state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    with pytest.raises(RuntimeError, match="running_mean should contain 7 elements not 10"):
        nn.BatchNorm1d(10)(mt.zeros(32, 7))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when "
                                         r"training, got input size torch.Size\(\[1, 7\]\)"):
        nn.BatchNorm1d(7)(mt.zeros(1, 7))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(7)(mt.zeros(2, 7, 3, 3))
    bn = nn.BatchNorm1d(7).eval()
    assert bn(mt.zeros(1, 7)).shape == (1, 7)                # one sample is fine in eval


def test_batchnorm_gradient_is_one_node_and_matches_finite_differences():
    rng = np.random.default_rng(5)
    bn = nn.BatchNorm1d(3).double()
    with mt.no_grad():
        bn.weight.copy_(mt.tensor([1.5, -0.5, 2.0], dtype=mt.float64))
    x = mt.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    g = rng.standard_normal((6, 3))
    out = bn(x)
    assert out.grad_fn.name() == "NativeBatchNormBackward0"
    out.backward(mt.tensor(g))

    def loss(arr):
        with mt.no_grad():
            bn.train()
            value = (bn(mt.tensor(arr)).detach().numpy() * g).sum()
        return value

    numeric = np.zeros_like(x.detach().numpy())
    base = x.detach().numpy()
    for idx in np.ndindex(*base.shape):
        for sign in (1, -1):
            arr = base.copy()
            arr[idx] += sign * 1e-6
            numeric[idx] += sign * loss(arr) / 2e-6
    assert np.allclose(x.grad.numpy(), numeric, atol=1e-5)


def test_layernorm_values_and_grads():
    rng = np.random.default_rng(6)
    ln = nn.LayerNorm((2, 3)).double()
    with mt.no_grad():
        ln.weight.copy_(mt.tensor(rng.random((2, 3))))
        ln.bias.copy_(mt.tensor(rng.random((2, 3))))
    x = rng.standard_normal((4, 2, 3)) * 3
    out = ln(mt.tensor(x, requires_grad=True))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * ln.weight.detach().numpy() \
        + ln.bias.detach().numpy()
    assert np.allclose(out.detach().numpy(), expected)
    assert out.grad_fn.name() == "NativeLayerNormBackward0"
    out.sum().backward()
    assert np.allclose(ln.bias.grad.numpy(), 4.0)
    assert nn.LayerNorm(4, elementwise_affine=False).weight is None
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[10\], expected input with "
                                           r"shape \[\*, 10\], but got input of size\[3, 5\]"):
        nn.LayerNorm(10)(mt.zeros(3, 5))


def test_loss_modules_store_options_and_buffers():
    ce = nn.CrossEntropyLoss(weight=mt.tensor([1.0, 2.0]), ignore_index=1, label_smoothing=0.1,
                             reduction="sum")
    assert ce.weight is ce._buffers["weight"] and list(ce.state_dict()) == ["weight"]
    assert (ce.ignore_index, ce.label_smoothing, ce.reduction) == (1, 0.1, "sum")
    bce = nn.BCEWithLogitsLoss(pos_weight=mt.tensor([3.0]))
    assert list(bce.state_dict()) == ["pos_weight"] and bce.weight is None
    assert nn.MSELoss().reduction == "mean" and nn.NLLLoss().ignore_index == -100
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert nn.L1Loss(size_average=False).reduction == "sum"
    assert nn.CrossEntropyLoss(weight=mt.ones(2)).double().weight.dtype == mt.float64


# -------------------------------------------------------------- course models
def test_course_models_forward_shapes():
    X1 = mt.randn(392, 1)
    assert course_regressor()(X1).shape == (392, 1)
    binary = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(),
                           nn.Linear(10, 1), nn.Sigmoid())
    p = binary(mt.randn(178, 2))
    assert p.shape == (178, 1) and 0 <= p.min().item() and p.max().item() <= 1
    classifier = nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1))
    probs = classifier(mt.randn(10, 3 - 1))
    assert np.allclose(probs.sum(1).detach().numpy(), 1)
    loss = F.cross_entropy(probs, mt.randint(0, 3, (10,)))
    loss.backward()
    assert classifier[0].weight.grad.shape == (3, 2)
