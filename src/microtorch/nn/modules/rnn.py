"""Recurrent layers: RNN, LSTM, GRU and their single-step cells.

Built from differentiable ops (linear, sigmoid, tanh, chunk, stack), so backward needs no
code of its own. Parameter names, shapes, gate order (LSTM: i, f, g, o; GRU: r, z, n) and
initialisation (every weight ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))) are PyTorch's,
so state_dicts load in either direction.

Per layer and direction, the input projection x W_ih^T + b_ih is one product over the whole
sequence; only h W_hh^T + b_hh runs step by step.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ... import _dtype
from ..._device import check_device
from ..._factories import empty, zeros
from ...ops.activation import relu, sigmoid, tanh
from ...ops.join import cat, stack
from ...ops.matmul import linear
from .. import init
from ..parameter import Parameter
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _lstm_step(gx, h, c, w_hh, b_hh, w_hr):
    """One LSTM step from the input projection `gx`: the new (h, c)."""
    i, f, g, o = (gx + linear(h, w_hh, b_hh)).chunk(4, 1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    return (h if w_hr is None else linear(h, w_hr)), c


def _gru_step(gx, h, w_hh, b_hh):
    """One GRU step: n = tanh(x_n + r * h_n); h' = (1 - z) n + z h."""
    x_r, x_z, x_n = gx.chunk(3, 1)
    h_r, h_z, h_n = linear(h, w_hh, b_hh).chunk(3, 1)
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def _rnn_step(gx, h, w_hh, b_hh, activation):
    return activation(gx + linear(h, w_hh, b_hh))


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU: parameters, checks, the layer loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        check_device(device)
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dtype = dtype or _dtype.get_default_dtype()
        gate_size = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [(f"weight_ih{suffix}", (gate_size, layer_in)),
                          (f"weight_hh{suffix}", (gate_size, out_size))]
                if bias:
                    shapes += [(f"bias_ih{suffix}", (gate_size,)),
                               (f"bias_hh{suffix}", (gate_size,))]
                if proj_size:
                    shapes.append((f"weight_hr{suffix}", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name, Parameter(empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Accepted for compatibility (a cuDNN memory-layout call; nothing to do here)."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction, in registration order."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional
                                                                   else 1))
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def _layer_weights(self, layer: int, direction: int) -> tuple:
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction (None where absent)."""
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        p = self._parameters
        return (p[f"weight_ih{suffix}"], p[f"weight_hh{suffix}"], p.get(f"bias_ih{suffix}"),
                p.get(f"bias_hh{suffix}"), p.get(f"weight_hr{suffix}"))

    # ---- checks ---------------------------------------------------------------------
    def _check_input(self, input) -> bool:
        """Validate the input; returns True when it is batched (3-D)."""
        if input.dim() not in (2, 3):
            tail = "" if self.mode == "LSTM" else " tensor"
            raise ValueError(f"{self._get_name()}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D{tail} instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        weight = self._flat_weights[0]
        if input.dtype != weight.dtype:
            raise ValueError(f"{self._get_name()} input dtype ({input.dtype}) does not match "
                             f"weight dtype ({weight.dtype}). Convert input: "
                             f"input.to({weight.dtype}), or convert model: "
                             f"model.to({input.dtype})")
        return input.dim() == 3

    def _expected_hidden(self, batch: int, size: int) -> tuple:
        return (self.num_layers * (2 if self.bidirectional else 1), batch, size)

    @staticmethod
    def _check_hidden(hx, expected: tuple, what: str = "hidden") -> None:
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {list(hx.shape)}")

    def _zeros(self, batch: int, size: int, like):
        return zeros(self._expected_hidden(batch, size), dtype=like.dtype)

    # ---- forward --------------------------------------------------------------------
    def _run(self, x, h0, c0):
        """The stacked layers on time-major x (L, N, in); returns (output, h_n, c_n)."""
        directions = 2 if self.bidirectional else 1
        steps = x.shape[0]
        hs, cs = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(layer, direction)
                gx = linear(x, w_ih, b_ih)
                h = h0[k]
                c = None if c0 is None else c0[k]
                seq = []
                order = range(steps - 1, -1, -1) if direction else range(steps)
                for t in order:
                    if self.mode == "LSTM":
                        h, c = _lstm_step(gx[t], h, c, w_hh, b_hh, w_hr)
                    elif self.mode == "GRU":
                        h = _gru_step(gx[t], h, w_hh, b_hh)
                    else:
                        h = _rnn_step(gx[t], h, w_hh, b_hh,
                                      tanh if self.mode == "RNN_TANH" else relu)
                    seq.append(h)
                if direction:
                    seq.reverse()
                outputs.append(stack(seq) if seq else zeros((0,) + tuple(h.shape),
                                                            dtype=x.dtype))
                hs.append(h)
                if c is not None:
                    cs.append(c)
            x = outputs[0] if directions == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                from ..functional import dropout

                x = dropout(x, self.dropout, True)
        return x, stack(hs), (stack(cs) if cs else None)

    def _prepare(self, input, batched: bool):
        """Time-major, batched input."""
        if not batched:
            return input.unsqueeze(1)
        return input.transpose(0, 1) if self.batch_first else input

    def _finish(self, output, batched: bool):
        if not batched:
            return output.squeeze(1)
        return output.transpose(0, 1) if self.batch_first else output

    def _batch_hidden(self, hx, batched: bool, name: str = "hx"):
        if batched and hx.dim() != 3:
            raise RuntimeError(f"For batched 3-D input, {name} should also be 3-D but got "
                               f"{hx.dim()}-D tensor")
        if not batched and hx.dim() != 2:
            raise RuntimeError(f"For unbatched 2-D input, {name} should also be 2-D but got "
                               f"{hx.dim()}-D tensor")
        return hx if batched else hx.unsqueeze(1)

    def forward(self, input, hx=None):
        batched = self._check_input(input)
        x = self._prepare(input, batched)
        size = self.hidden_size
        if hx is None:
            h0 = self._zeros(x.shape[1], size, x)
        else:
            h0 = self._batch_hidden(hx, batched)
            self._check_hidden(h0, self._expected_hidden(x.shape[1], size))
        output, h_n, _ = self._run(x, h0, None)
        return self._finish(output, batched), (h_n if batched else h_n.squeeze(1))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o; returns (output, (h_n, c_n))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input, hx=None):
        batched = self._check_input(input)
        x = self._prepare(input, batched)
        out_size = self.proj_size or self.hidden_size
        if hx is None:
            h0 = self._zeros(x.shape[1], out_size, x)
            c0 = self._zeros(x.shape[1], self.hidden_size, x)
        else:
            h0, c0 = hx
            if batched and (h0.dim() != 3 or c0.dim() != 3):
                raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but "
                                   f"got ({h0.dim()}-D, {c0.dim()}-D) tensors")
            if not batched and (h0.dim() != 2 or c0.dim() != 2):
                raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D but "
                                   f"got ({h0.dim()}-D, {c0.dim()}-D) tensors")
            if not batched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            self._check_hidden(h0, self._expected_hidden(x.shape[1], out_size), "hidden[0]")
            self._check_hidden(c0, self._expected_hidden(x.shape[1], self.hidden_size),
                               "hidden[1]")
        output, h_n, c_n = self._run(x, h0, c0)
        if not batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(output, batched), (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit: gates r, z and candidate n."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


# ---- cells ------------------------------------------------------------------------------

class RNNCellBase(Module):
    """One time step: parameters weight_ih, weight_hh, bias_ih, bias_hh."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        check_device(device)
        dtype = dtype or _dtype.get_default_dtype()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _batched(self, input) -> bool:
        if input.dim() not in (1, 2):
            raise ValueError(f"{self._get_name()}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        return input.dim() == 2

    def _hidden(self, hx, input, batched: bool, index: int = 0):
        if hx is None:
            return zeros((input.shape[0], self.hidden_size), dtype=input.dtype)
        if hx.dim() != (2 if batched else 1):
            raise RuntimeError(f"{self._get_name()}: Expected hidden to be "
                               f"{'2D' if batched else '1D'}, got {hx.dim()}D instead")
        hx = hx if batched else hx.unsqueeze(0)
        if hx.shape[0] != input.shape[0]:
            raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{index} "
                               f"batch size {hx.shape[0]}")
        if hx.shape[1] != self.hidden_size:
            raise RuntimeError(f"hidden{index} has inconsistent hidden_size: got {hx.shape[1]}, "
                               f"expected {self.hidden_size}")
        return hx


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        batched = self._batched(input)
        x = input if batched else input.unsqueeze(0)
        h = self._hidden(hx, x, batched)
        h = _rnn_step(linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh,
                      tanh if self.nonlinearity == "tanh" else relu)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        batched = self._batched(input)
        x = input if batched else input.unsqueeze(0)
        h, c = (None, None) if hx is None else hx
        h = self._hidden(h, x, batched, 0)
        c = self._hidden(c, x, batched, 1)
        h, c = _lstm_step(linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                          self.bias_hh, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: returns h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        batched = self._batched(input)
        x = input if batched else input.unsqueeze(0)
        h = self._hidden(hx, x, batched)
        h = _gru_step(linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)
