"""Group "conv": convolutional networks against a hand-written numpy im2col and PyTorch.

Cases (forward + backward through the public API, float32 and float64):

- the two convolutions of LeNet-5: batch 64, 1x28x28 -> 6 maps (5x5), and the second
  layer after 2x2 max pooling, 6x12x12 -> 16 maps (5x5);
- a wider layer: batch 32, 32 -> 64 channels, 3x3, 32x32, padding 1;
- a whole LeNet-5 training step (batch 64, 1x28x28 -> conv 6@5x5 -> ReLU -> max pool ->
  conv 16@5x5 -> ReLU -> max pool -> 256-120-84-10, cross-entropy, SGD with momentum).

The numpy baseline is what a competent numpy user writes by hand: im2col through
``sliding_window_view`` and one matmul per product, col2im as one strided add per
kernel tap, max pooling by reshaping into 2x2 blocks.

Targets (float32, 1 thread): conv forward+backward <= 1.0x PyTorch and <= 0.8x the
numpy baseline; the LeNet-5 step <= 1.0x PyTorch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.config import Config
from benchmarks.harness import (
    MICRO,
    NUMPY,
    TORCH,
    Libs,
    Row,
    Target,
    interleaved_rounds,
    timing_table,
    to_numpy,
)

SHORT_DTYPE = {"float32": "f32", "float64": "f64"}
LENET_LR, LENET_MOMENTUM = 0.01, 0.9


@dataclass(frozen=True)
class ConvCase:
    """One convolution (x of shape (N, C, H, W), weight (O, C, k, k)) or the LeNet-5 step."""

    name: str
    dtype: str
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...] = ()
    padding: int = 0

    @property
    def label(self) -> str:
        return f"{self.name} {SHORT_DTYPE[self.dtype]}"

    @property
    def size(self) -> str:
        if not self.w_shape:
            return f"batch {self.x_shape[0]}"
        n, c, h, _ = self.x_shape
        return f"{n}x{c}x{h}x{h} * {self.w_shape[0]}x{c}x{self.w_shape[2]}x{self.w_shape[3]}"

    @property
    def flops(self) -> float | None:
        """Multiply-adds x 2 of the forward and both gradient products."""
        if not self.w_shape:
            return None
        n, _, h, w = self.x_shape
        o, c, kh, kw = self.w_shape
        oh, ow = h + 2 * self.padding - kh + 1, w + 2 * self.padding - kw + 1
        return 3 * 2.0 * n * o * oh * ow * c * kh * kw

    def targets(self, threads: int) -> list[Target]:
        if threads != 1 or self.dtype != "float32":
            return []
        goals = [Target(MICRO, TORCH, 1.0, "<=1")]
        if self.w_shape:
            goals.append(Target(MICRO, NUMPY, 0.8, "<=0.8"))
        return goals


def conv_cases(cfg: Config) -> list[ConvCase]:
    small = cfg.mode == "smoke"
    n64, n32 = (4, 2) if small else (64, 32)
    cases = []
    for dtype in cfg.dtypes:
        cases += [
            ConvCase("LeNet-5 conv1", dtype, (n64, 1, 28, 28), (6, 1, 5, 5)),
            ConvCase("LeNet-5 conv2", dtype, (n64, 6, 12, 12), (16, 6, 5, 5)),
            ConvCase("wide 3x3", dtype, (n32, 8 if small else 32, 32, 32),
                     (16 if small else 64, 8 if small else 32, 3, 3), padding=1),
            ConvCase("LeNet-5 step", dtype, (n64, 1, 28, 28)),
        ]
    return cases


# ---------------------------------------------------------------- numpy baseline

def np_conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad: int):
    """y (N, O, OH, OW) and the im2col matrix (N*OH*OW, C*kh*kw) kept for backward."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c = x.shape[:2]
    o, _, kh, kw = w.shape
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))      # (N, C, OH, OW, kh, kw)
    oh, ow = windows.shape[2:4]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    y = cols @ w.reshape(o, -1).T
    y += b
    return np.ascontiguousarray(y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)), cols


def np_conv_backward(g: np.ndarray, cols: np.ndarray, x_shape: tuple, w: np.ndarray, pad: int,
                     need_x: bool = True):
    """(gx, gw, gb): the products with the saved im2col matrix, then col2im tap by tap."""
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    oh, ow = g.shape[2:]
    g2 = g.transpose(0, 2, 3, 1).reshape(-1, o)
    gw = (g2.T @ cols).reshape(w.shape)
    gb = g2.sum(axis=0)
    if not need_x:
        return None, gw, gb
    gcols = (g2 @ w.reshape(o, -1)).reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    gxp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), dtype=g.dtype)
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, i:i + oh, j:j + ow] += gcols[:, :, i, j]
    return gxp[:, :, pad:pad + h, pad:pad + wd], gw, gb


def np_conv_case(arrays: dict[str, np.ndarray], pad: int):
    x, w, b, g = arrays["x"], arrays["w"], arrays["b"], arrays["g"]
    out: dict[str, np.ndarray] = {}

    def run() -> None:
        _, cols = np_conv_forward(x, w, b, pad)
        out["x"], out["w"], out["b"] = np_conv_backward(g, cols, x.shape, w, pad)

    return run, out


def _pool_forward(x: np.ndarray):
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // 2, 2, w // 2, 2)
    y = blocks.max(axis=(3, 5))
    mask = blocks == y[:, :, :, None, :, None]
    return y, mask


def _pool_backward(g: np.ndarray, mask: np.ndarray) -> np.ndarray:
    n, c, h, _, w, _ = mask.shape
    return (mask * g[:, :, :, None, :, None]).reshape(n, c, 2 * h, 2 * w)


def np_lenet_step(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray):
    """One SGD-with-momentum step of LeNet-5, forward and backward written out."""
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    n = x.shape[0]
    rows = np.arange(n)

    def step() -> float:
        p = params
        a1, cols1 = np_conv_forward(x, p["0.weight"], p["0.bias"], 0)
        r1 = np.maximum(a1, 0)
        s1, m1 = _pool_forward(r1)
        a2, cols2 = np_conv_forward(s1, p["3.weight"], p["3.bias"], 0)
        r2 = np.maximum(a2, 0)
        s2, m2 = _pool_forward(r2)
        f = s2.reshape(n, -1)
        h1 = np.maximum(f @ p["7.weight"].T + p["7.bias"], 0)
        h2 = np.maximum(h1 @ p["9.weight"].T + p["9.bias"], 0)
        z = h2 @ p["11.weight"].T + p["11.bias"]
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        prob = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(prob[rows, y]).mean()
        dz = prob
        dz[rows, y] -= 1
        dz /= n
        grads = {"11.weight": dz.T @ h2, "11.bias": dz.sum(0)}
        dh2 = (dz @ p["11.weight"]) * (h2 > 0)
        grads["9.weight"], grads["9.bias"] = dh2.T @ h1, dh2.sum(0)
        dh1 = (dh2 @ p["9.weight"]) * (h1 > 0)
        grads["7.weight"], grads["7.bias"] = dh1.T @ f, dh1.sum(0)
        df = (dh1 @ p["7.weight"]).reshape(s2.shape)
        da2 = _pool_backward(df, m2) * (a2 > 0)
        ds1, grads["3.weight"], grads["3.bias"] = np_conv_backward(da2, cols2, s1.shape,
                                                                   p["3.weight"], 0)
        da1 = _pool_backward(ds1, m1) * (a1 > 0)
        _, grads["0.weight"], grads["0.bias"] = np_conv_backward(da1, cols1, x.shape,
                                                                 p["0.weight"], 0, need_x=False)
        for k, grad in grads.items():
            v = velocity[k]
            v *= LENET_MOMENTUM
            v += grad
            p[k] -= LENET_LR * v
        return float(loss)

    return step


# --------------------------------------------------------------- library side

def lib_conv_case(lib: ModuleType, arrays: dict[str, np.ndarray], pad: int):
    leaves = {k: lib.tensor(arrays[k], requires_grad=True) for k in ("x", "w", "b")}
    g = lib.from_numpy(arrays["g"])
    conv2d = lib.nn.functional.conv2d

    def run() -> None:
        for leaf in leaves.values():
            leaf.grad = None
        conv2d(leaves["x"], leaves["w"], leaves["b"], padding=pad).backward(g)

    return run, leaves


def lenet(lib: ModuleType) -> Any:
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def lib_lenet_step(lib: ModuleType, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray):
    model = lenet(lib).to(getattr(lib, str(x.dtype)))
    model.load_state_dict({k: lib.tensor(v) for k, v in params.items()})
    opt = lib.optim.SGD(model.parameters(), lr=LENET_LR, momentum=LENET_MOMENTUM)
    inputs, targets = lib.from_numpy(x), lib.from_numpy(y)
    cross_entropy = lib.nn.functional.cross_entropy

    def step() -> float:
        opt.zero_grad()
        loss = cross_entropy(model(inputs), targets)
        loss.backward()
        opt.step()
        return loss.item()

    return step, model


# ----------------------------------------------------------------------- runs

def _inputs(case: ConvCase, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    dtype = np.dtype(case.dtype)
    x = rng.standard_normal(case.x_shape, dtype=dtype)
    if not case.w_shape:
        params = {k: v.astype(dtype) for k, v in _init_lenet().items()}
        return {"x": x, "y": rng.integers(0, 10, case.x_shape[0]), **params}
    w = (rng.standard_normal(case.w_shape) / np.sqrt(np.prod(case.w_shape[1:]))).astype(dtype)
    n, _, h, wd = case.x_shape
    oh = h + 2 * case.padding - case.w_shape[2] + 1
    ow = wd + 2 * case.padding - case.w_shape[3] + 1
    return {"x": x, "w": w, "b": rng.standard_normal(case.w_shape[0], dtype=dtype),
            "g": rng.standard_normal((n, case.w_shape[0], oh, ow), dtype=dtype)}


def _init_lenet() -> dict[str, np.ndarray]:
    """PyTorch-style initial weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn with numpy."""
    rng = np.random.default_rng(1)
    shapes = {"0.weight": (6, 1, 5, 5), "3.weight": (16, 6, 5, 5), "7.weight": (120, 256),
              "9.weight": (84, 120), "11.weight": (10, 84)}
    params = {}
    for name, shape in shapes.items():
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        params[name] = rng.uniform(-bound, bound, shape)
        params[name.replace("weight", "bias")] = rng.uniform(-bound, bound, shape[0])
    return params


def _check(got: dict[str, Any], expected: dict[str, np.ndarray], dtype: str) -> str:
    tol = 2e-3 if dtype == "float32" else 1e-9
    for name, ref in expected.items():
        value = to_numpy(got[name])
        scale = max(float(np.max(np.abs(ref))), 1e-30)
        err = float(np.max(np.abs(value - ref))) / scale
        if not err <= tol:
            return f"{name} err {err:.1e}"
    return "ok"


def _conv_fns(libs: Libs, case: ConvCase, arrays: dict, info: dict) -> dict[str, Callable]:
    np_run, np_out = np_conv_case(arrays, case.padding)
    np_run()
    fns: dict[str, Callable[[], object]] = {NUMPY: np_run}
    for impl in (TORCH, MICRO):
        lib = libs.get(impl)
        if lib is None:
            continue
        try:
            run, leaves = lib_conv_case(lib, arrays, case.padding)
            run()
        except Exception as exc:  # noqa: BLE001 -- reported in the table
            info["errors"][impl] = f"{type(exc).__name__}: {exc}"
            continue
        info["check"][impl] = _check({k: v.grad for k, v in leaves.items()}, np_out, case.dtype)
        fns[impl] = run
    return fns


def _lenet_fns(libs: Libs, case: ConvCase, arrays: dict, info: dict) -> dict[str, Callable]:
    x, y = arrays["x"], arrays["y"]
    start = {k: v for k, v in arrays.items() if k not in ("x", "y")}
    np_params = {k: v.copy() for k, v in start.items()}
    np_step = np_lenet_step(np_params, x, y)
    first = {NUMPY: np_step()}
    fns: dict[str, Callable[[], object]] = {NUMPY: np_step}
    for impl in (TORCH, MICRO):
        lib = libs.get(impl)
        if lib is None:
            continue
        try:
            step, _ = lib_lenet_step(lib, start, x, y)
            first[impl] = step()
        except Exception as exc:  # noqa: BLE001 -- reported in the table
            info["errors"][impl] = f"{type(exc).__name__}: {exc}"
            continue
        tol = 1e-4 if case.dtype == "float32" else 1e-10
        info["check"][impl] = "ok" if abs(first[impl] - first[NUMPY]) <= tol * abs(
            first[NUMPY]) else f"loss {first[impl]:.6g} vs {first[NUMPY]:.6g}"
        fns[impl] = step
    info["first_loss"] = first
    return fns


def run_conv(libs: Libs, cfg: Config, threads: int, progress: bool = True) -> list[Row]:
    """Time every case at the current thread setting (the caller pins threads)."""
    cases = [c for c in conv_cases(cfg) if cfg.filter in c.label]
    rows: list[Row] = []
    for i, case in enumerate(cases):
        if progress:
            print(f"\r  conv t={threads} [{i + 1}/{len(cases)}] {case.label:<40}", end="",
                  file=sys.stderr, flush=True)
        arrays = _inputs(case)
        info: dict[str, Any] = {"check": {}, "errors": {}}
        make = _conv_fns if case.w_shape else _lenet_fns
        fns = make(libs, case, arrays, info)
        rounds = interleaved_rounds(fns, cfg.kernel_rounds, cfg.min_round_time)
        row = Row(group="conv", name=case.label, threads=threads,
                  params={"case": case.name, "dtype": SHORT_DTYPE[case.dtype], "size": case.size},
                  rounds=rounds, targets=case.targets(threads), info=info)
        if case.flops:
            info["gflops"] = {k: case.flops / row.time(k) / 1e9 for k in rounds}
        rows.append(row)
    if progress:
        print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
    return rows


def _notes(row: Row) -> str:
    parts = []
    gflops = row.info.get("gflops")
    if gflops:
        parts.append("GFLOP/s " + "/".join(f"{gflops[k]:.0f}" for k in (NUMPY, TORCH, MICRO)
                                           if k in gflops))
    parts += [f"{k}: {v}" for k, v in row.info.get("check", {}).items() if v != "ok"]
    parts += [f"{k} failed: {v[:60]}" for k, v in row.info.get("errors", {}).items()]
    return "; ".join(parts)


def conv_table(rows: list[Row], libs: Libs) -> str:
    threads = rows[0].threads if rows else 0
    return timing_table(rows, libs, f"Convolution, forward+backward (LeNet-5: one training step), "
                        f"time per call ({threads} thread(s))", ("case", "dtype", "size"),
                        extra=_notes, extra_header="notes")
