"""Compiled activation, softmax and matmul kernels against their numpy twins
(tests/reference_ops.py) and, for special values, against PyTorch."""
import os
import threading

import numpy as np
import pytest
import reference_ops as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from microtorch import _kernels as K
from microtorch._kernels import _matmul

DTYPES = [np.float32, np.float64]
TOL = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}
# both sides of PARALLEL_MIN (sigmoid, tanh) and of PARALLEL_MIN_STREAMING (relu, backwards)
PARALLEL_SIZES = [65535, 65536, 3 * 65536 + 17, (1 << 21) + 3]

UNARY = ["relu_forward", "sigmoid_forward", "tanh_forward"]
BINARY = ["relu_backward", "sigmoid_backward", "tanh_backward"]
ROWWISE_UNARY = ["softmax_forward", "log_softmax_forward"]
ROWWISE_BINARY = ["softmax_backward", "log_softmax_backward"]


def assert_close(got, expected, dtype):
    np.testing.assert_allclose(got, expected, equal_nan=True, **TOL[dtype])


def any_floats(dtype, lo=-60.0, hi=60.0):
    """Finite values in [lo, hi] plus the special ones (NaN, ±inf, ±0)."""
    width = 32 if dtype == np.float32 else 64
    return st.one_of(
        st.floats(lo, hi, width=width),
        st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]),
    )


def flat(dtype, max_size=60):
    return hnp.arrays(dtype, st.integers(0, max_size), elements=any_floats(dtype))


def random(shape, dtype, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


# ------------------------------------------------------------- elementwise

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNARY)
@settings(deadline=None, max_examples=30)
@given(data=st.data())
def test_unary_matches_reference(name, dtype, data):
    x = data.draw(flat(dtype))
    out = np.full_like(x, 7)
    getattr(K, name)(x, out)
    expected = getattr(ref, name)(x, out)
    assert out.dtype == dtype
    if name == "relu_forward":        # exact, sign of zero included
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(np.signbit(out), np.signbit(expected))
    else:
        assert_close(out, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", BINARY)
@settings(deadline=None, max_examples=30)
@given(data=st.data())
def test_binary_matches_reference(name, dtype, data):
    grad = data.draw(flat(dtype))
    y = data.draw(hnp.arrays(dtype, grad.shape, elements=any_floats(dtype, -1.5, 1.5)))
    out = np.empty_like(grad)
    getattr(K, name)(grad, y, out)
    assert_close(out, getattr(ref, name)(grad, y, out), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", PARALLEL_SIZES)
def test_elementwise_large_and_in_place(n, dtype):
    x = random(n, dtype, seed=n)
    grad = random(n, dtype, seed=n + 1)
    # at the streaming size, only relu and the backwards (the kernels it applies to)
    for name in UNARY if n < (1 << 21) else ["relu_forward"]:
        out = np.empty_like(x)
        getattr(K, name)(x, out)
        assert_close(out, getattr(ref, name)(x, out), dtype)
        y = out
        backward = name.replace("forward", "backward")
        expected = getattr(ref, backward)(grad, y, None)
        in_place = grad.copy()
        getattr(K, backward)(in_place, y, in_place)        # out aliases grad
        assert_close(in_place, expected, dtype)
    for backward in BINARY[1:] if n >= (1 << 21) else []:
        in_place = grad.copy()
        getattr(K, backward)(in_place, x, in_place)
        assert_close(in_place, getattr(ref, backward)(grad, x, None), dtype)
    in_place = x.copy()
    K.sigmoid_forward(in_place, in_place)                  # out aliases x
    assert_close(in_place, ref.sigmoid_forward(x, None), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values_like_torch(dtype):
    x = np.array([-0.0, 0.0, np.nan, -1.0, 2.0, np.inf, -np.inf], dtype=dtype)
    out = np.empty_like(x)
    K.relu_forward(x, out)
    np.testing.assert_array_equal(out, [-0.0, 0.0, np.nan, 0.0, 2.0, np.inf, 0.0])
    np.testing.assert_array_equal(np.signbit(out), [True, False, False, False, False, False, False])
    K.relu_backward(np.ones_like(x), x, out)               # y <= 0 -> 0, NaN passes grad
    np.testing.assert_array_equal(out, [0, 0, 1, 0, 1, 1, 0])
    K.sigmoid_forward(x, out)
    np.testing.assert_array_equal(out[[2, 5, 6]], [np.nan, 1.0, 0.0])
    K.tanh_forward(x, out)
    np.testing.assert_array_equal(out[[0, 2, 5, 6]], [-0.0, np.nan, 1.0, -1.0])
    assert np.signbit(out[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_does_not_overflow(dtype):
    x = np.array([-1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0], dtype=dtype)
    out = np.empty_like(x)
    with np.errstate(all="raise"):
        K.sigmoid_forward(x, out)
        grad_out = np.empty_like(x)
        K.sigmoid_backward(np.ones_like(x), out, grad_out)
    assert out[0] == 0 and out[-1] == 1 and out[3] == 0.5
    assert np.all(np.isfinite(grad_out)) and np.all(grad_out >= 0)
    np.testing.assert_allclose(out[2], 1 / (1 + np.exp(20.0)), rtol=1e-6)


# ----------------------------------------------------------------- softmax

def rows(dtype, max_rows=8, max_cols=12):
    shape = st.tuples(st.integers(0, max_rows), st.integers(0, max_cols))
    return hnp.arrays(dtype, shape, elements=any_floats(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ROWWISE_UNARY)
@settings(deadline=None, max_examples=30)
@given(data=st.data())
def test_softmax_forward_matches_reference(name, dtype, data):
    x = data.draw(rows(dtype))
    out = np.empty_like(x)
    getattr(K, name)(x, out)
    assert_close(out, getattr(ref, name)(x, out), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ROWWISE_BINARY)
@settings(deadline=None, max_examples=30)
@given(data=st.data())
def test_softmax_backward_matches_reference(name, dtype, data):
    shape = data.draw(st.tuples(st.integers(0, 8), st.integers(0, 12)))
    x = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-20, 20, width=32)))
    grad = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-5, 5, width=32)))
    y = np.empty_like(x)
    getattr(K, name.replace("backward", "forward"))(x, y)
    out = np.empty_like(x)
    getattr(K, name)(grad, y, out)
    expected = getattr(ref, name)(grad, y, out)
    np.testing.assert_allclose(out, expected, rtol=TOL[dtype]["rtol"], atol=10 * TOL[dtype]["atol"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(64, 1023), (64, 1024), (2, 40000), (1, 70000), (300, 301)])
def test_softmax_large(shape, dtype):
    x = random(shape, dtype, seed=1, scale=5)
    grad = random(shape, dtype, seed=2)
    for name in ROWWISE_UNARY:
        y = np.empty_like(x)
        getattr(K, name)(x, y)
        assert_close(y, getattr(ref, name)(x, None), dtype)
        backward = name.replace("forward", "backward")
        out = np.empty_like(x)
        getattr(K, backward)(grad, y, out)
        np.testing.assert_allclose(out, getattr(ref, backward)(grad, y, None),
                                   rtol=TOL[dtype]["rtol"], atol=10 * TOL[dtype]["atol"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_special_rows_like_torch(dtype):
    torch = pytest.importorskip("torch")
    inf, nan = np.inf, np.nan
    x = np.array([[-inf, -inf, -inf],
                  [1.0, inf, 2.0],
                  [1.0, nan, 2.0],
                  [-inf, 0.0, 1.0],
                  [1000.0, -1000.0, 0.0],
                  [-0.0, 0.0, -0.0]], dtype=dtype)
    for name, torch_fn in [("softmax_forward", torch.softmax),
                           ("log_softmax_forward", torch.log_softmax)]:
        out = np.empty_like(x)
        with np.errstate(all="raise"):
            getattr(K, name)(x, out)
        expected = torch_fn(torch.from_numpy(x), 1).numpy()
        assert_close(out, expected, dtype)
    assert np.all(np.isnan(out[:3])) and out[3, 0] == -inf


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_backward_exp_of_large_outputs(dtype):
    """exp(y) over the whole range, up to overflow (the branch-free exp's far end)."""
    top = 88.0 if dtype == np.float32 else 709.0
    y = np.linspace(-top, top, 2001, dtype=dtype).reshape(1, -1)
    y[0, :3] = [np.inf, -np.inf, np.nan]
    grad = np.zeros_like(y)
    grad[0, 3] = -1.0                                  # sum(grad) = -1, so out = grad + exp(y)
    out = np.empty_like(y)
    K.log_softmax_backward(grad, y, out)
    expected = ref.log_softmax_backward(grad, y, None)
    np.testing.assert_allclose(out, expected, rtol=4 * np.finfo(dtype).eps, equal_nan=True)
    assert out[0, 0] == np.inf and out[0, 1] == 0 and np.isnan(out[0, 2])


def test_softmax_in_place():
    x = random((5, 7), np.float64)
    expected = ref.log_softmax_forward(x, None)
    K.log_softmax_forward(x, x)
    assert_close(x, expected, np.float64)


# ------------------------------------------------------------------ matmul

def _layout(a, order):
    return np.asfortranarray(a) if order == "F" else np.ascontiguousarray(a)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(deadline=None, max_examples=40)
@given(m=st.integers(0, 6), n=st.integers(0, 6), k=st.integers(0, 6),
       trans_a=st.booleans(), trans_b=st.booleans(),
       order_a=st.sampled_from("CF"), order_b=st.sampled_from("CF"),
       alpha=st.sampled_from([1.0, -0.5, 2.0]), beta=st.sampled_from([0.0, 1.0, 0.25]),
       seed=st.integers(0, 2**16))
def test_gemm_matches_reference(dtype, m, n, k, trans_a, trans_b, order_a, order_b, alpha, beta,
                                seed):
    a = _layout(random((k, m) if trans_a else (m, k), dtype, seed), order_a)
    b = _layout(random((n, k) if trans_b else (k, n), dtype, seed + 1), order_b)
    out = random((m, n), dtype, seed + 2)
    expected = ref.gemm(a, b, out, trans_a, trans_b, alpha, beta)
    _matmul.gemm(a, b, out, trans_a, trans_b, alpha, beta)
    np.testing.assert_allclose(out, expected, rtol=TOL[dtype]["rtol"],
                               atol=1e-4 if dtype == np.float32 else 1e-11)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_larger_f_ordered_and_accumulating(dtype, trans_a, trans_b):
    m, n, k = 67, 129, 35
    a = np.asfortranarray(random((k, m) if trans_a else (m, k), dtype, 1))
    b = np.asfortranarray(random((n, k) if trans_b else (k, n), dtype, 2))
    a.setflags(write=False)
    grad = random((m, n), dtype, 3)
    accumulated = grad.copy()
    _matmul.gemm(a, b, accumulated, trans_a, trans_b, beta=1.0)     # .grad += op(a) @ op(b)
    expected = grad + (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b)
    np.testing.assert_allclose(accumulated, expected, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-3 if dtype == np.float32 else 1e-11)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_k_zero(dtype):
    a = np.empty((3, 0), dtype)
    b = np.empty((0, 4), dtype)
    out = np.full((3, 4), np.nan, dtype)
    _matmul.gemm(a, b, out)                                # beta=0 clears, even NaN
    np.testing.assert_array_equal(out, np.zeros((3, 4)))
    out[:] = 2
    _matmul.gemm(a, b, out, beta=0.5)
    np.testing.assert_array_equal(out, np.ones((3, 4)))
    _matmul.gemm(np.empty((0, 3), dtype), np.empty((3, 4), dtype), np.empty((0, 4), dtype))


def test_gemm_rejects_bad_arguments():
    a = np.ones((4, 6))
    out = np.empty((4, 3))
    with pytest.raises(ValueError, match="C- or F-contiguous"):
        _matmul.gemm(a[:, ::2], np.ones((3, 3)), out)
    with pytest.raises(ValueError, match="C-contiguous"):
        _matmul.gemm(a, np.ones((6, 3)), np.empty((3, 4)).T)
    with pytest.raises(ValueError, match=r"\(4, 6\).*\(5, 3\)"):
        _matmul.gemm(a, np.ones((5, 3)), out)
    with pytest.raises(TypeError, match="got float64, float32 and float64"):
        _matmul.gemm(a, np.ones((6, 3), np.float32), out)
    with pytest.raises(TypeError, match="int64"):
        _matmul.gemm(a.astype(np.int64), np.ones((6, 3), np.int64), out.astype(np.int64))
    with pytest.raises(ValueError, match="2-D"):
        _matmul.gemm(a, np.ones((6, 3)), out[None])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("order", "CF")
def test_linear_forward(dtype, with_bias, order):
    x = _layout(random((9, 5), dtype, 1), order)
    weight = _layout(random((4, 5), dtype, 2), order)
    bias = random(4, dtype, 3) if with_bias else None
    out = np.full((9, 4), np.nan, dtype)
    _matmul.linear_forward(x, weight, bias, out)
    np.testing.assert_allclose(out, ref.linear_forward(x, weight, bias, out),
                               rtol=1e-5 if dtype == np.float32 else 1e-12)
    with pytest.raises(ValueError):
        _matmul.linear_forward(x, weight, random(3, dtype), out)
    with pytest.raises(ValueError):
        _matmul.linear_forward(x, weight.T, bias, out)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (7, 5), (2000, 65)])
@pytest.mark.parametrize("accumulate", [False, True])
def test_sum_rows(dtype, shape, accumulate):
    g = random(shape, dtype, 4)
    out = random(shape[1], dtype, 5)
    expected = ref.sum_rows(g, out, accumulate)
    _matmul.sum_rows(g, out, accumulate)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


F32 = np.float32
BIG = np.full((2, 3), 2e19, F32)            # 2e19 * 2e19 = 4e38 > float32's max


@pytest.mark.parametrize("a, b, cells, expected", [
    (BIG, BIG.T, -1, True),
    (BIG, BIG.T * F32(0.5), -1, False),                            # 2e38 fits
    (BIG[:, ::-1], np.broadcast_to(BIG[:1].T, (3, 2)), -1, True),  # any strides
    (BIG[None, :1], np.broadcast_to(BIG.T, (2, 3, 2)), -1, True),     # batched
    (np.ones(3, F32), np.array([1, np.nan, 1], F32), -1, True),    # a NaN: always
    (np.zeros(3, F32), np.array([1, np.inf, 1], F32), -1, True),   # 0 * inf is NaN
    (np.ones(3, F32), np.ones(3, F32), -1, False),
    (BIG, BIG.T.astype(np.float64), -1, False),                    # float32 only
    (BIG.astype(np.float64), BIG.T.astype(np.float64), -1, False),
    (np.ones((12, 3), F32) * BIG[0, 0], BIG.T, -1, True),          # 12 x 2 cells
    (np.ones((61, 3), F32) * BIG[0, 0], BIG.T, -1, False),         # 122 cells
    (BIG, BIG.T, 122, False),
    (np.full((1, 512), 2e19, F32), np.full((512, 5), 2e19, F32)[:, :1], -1, True),
    (np.full((1, 513), 2e19, F32), np.full((513, 1), 2e19, F32), -1, False),  # 1026 elements
    (np.zeros((2, 0), F32), np.zeros((0, 2), F32), -1, False),
])
def test_small_f32_overflow(a, b, cells, expected):
    assert _matmul.small_f32_overflow(a, b, cells) is expected


# ----------------------------------------------------- shared argument checks

@pytest.mark.parametrize("name", UNARY + ROWWISE_UNARY)
def test_mixed_and_integer_dtypes_raise_type_error(name):
    shape = (3,) if name in UNARY else (2, 3)
    kernel = getattr(K, name)
    with pytest.raises(TypeError, match=rf"^{name}: expected float32 or float64 arrays of one "
                                        r"dtype, got float32 and float64$"):
        kernel(np.ones(shape, np.float32), np.ones(shape, np.float64))
    with pytest.raises(TypeError, match="got int64 and int64"):
        kernel(np.ones(shape, np.int64), np.ones(shape, np.int64))
    with pytest.raises(TypeError, match="numpy array"):
        kernel([1.0, 2.0, 3.0], np.ones(shape))


def test_shape_and_contiguity_errors():
    x = np.ones(10)
    with pytest.raises(ValueError, match="C-contiguous"):
        K.relu_forward(x[::2], np.empty(5))
    with pytest.raises(ValueError, match=r"\(10,\), \(9,\)"):
        K.relu_forward(x, np.empty(9))
    with pytest.raises(ValueError, match="1-D"):
        K.relu_forward(np.ones((2, 5)), np.empty((2, 5)))
    with pytest.raises(ValueError, match=r"\(10,\), \(10,\), \(4,\)"):
        K.sigmoid_backward(x, x, np.empty(4))
    with pytest.raises(ValueError, match="C-contiguous"):
        K.softmax_forward(np.ones((4, 3)).T, np.empty((3, 4)))
    with pytest.raises(ValueError, match="2-D"):
        K.softmax_forward(x, np.empty(10))
    with pytest.raises(ValueError, match=r"\(2, 5\), \(5, 2\)"):
        K.softmax_forward(np.ones((2, 5)), np.empty((5, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_read_only_inputs_are_accepted(dtype):
    x = random(50, dtype)
    x.setflags(write=False)
    out = np.empty_like(x)
    K.tanh_forward(x, out)
    K.tanh_backward(x, out, np.empty_like(x))
    broadcast = np.broadcast_to(random((1, 6), dtype), (4, 6))   # read-only, zero stride
    with pytest.raises(ValueError, match="C-contiguous"):
        K.softmax_forward(broadcast, np.empty((4, 6), dtype))
    frozen = np.ascontiguousarray(broadcast)
    frozen.setflags(write=False)
    y = np.empty((4, 6), dtype)
    K.softmax_forward(frozen, y)
    assert_close(y, ref.softmax_forward(frozen, None), dtype)
    with pytest.raises(ValueError, match="read-only"):
        K.relu_forward(out, x)                                   # out must be writable


# ----------------------------------------------------------------- threads

def test_thread_count_controls():
    before = K.get_num_threads()
    assert before >= 1
    try:
        K.set_num_threads(1)
        assert K.get_num_threads() == 1
        with pytest.raises(ValueError):
            K.set_num_threads(0)
        K.set_num_threads(3)
        assert K.get_num_threads() == (3 if K.openmp_enabled() else 1)
    finally:
        K.set_num_threads(before)


def test_results_do_not_depend_on_thread_count():
    x = random((400, 500), np.float32, 7)
    results = []
    before = K.get_num_threads()
    try:
        for threads in (1, 2):
            K.set_num_threads(threads)
            y = np.empty_like(x)
            K.log_softmax_forward(x, y)
            s = np.empty(x.size, np.float32)
            K.sigmoid_forward(x.reshape(-1), s)
            results.append((y, s))
    finally:
        K.set_num_threads(before)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def _child_softmax(x, queue):
    y = np.empty_like(x)
    K.softmax_forward(x, y)
    queue.put((K.get_num_threads(), y))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_runs_kernels_serially_without_hanging():
    import multiprocessing

    x = random((512, 1024), np.float64, 12)
    y = np.empty_like(x)
    K.softmax_forward(x, y)                       # the parent has used its OpenMP team
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_softmax, args=(x, queue))
    child.start()
    try:
        threads, child_y = queue.get(timeout=60)
    finally:
        child.join(timeout=10)
        if child.is_alive():                       # pragma: no cover - the hang we guard against
            child.kill()
    assert threads == 1
    np.testing.assert_array_equal(child_y, y)     # row results do not depend on threads


def test_kernels_release_the_gil_and_run_concurrently():
    """Two Python threads run big kernels at once; both results must be exact."""
    x = random((512, 1024), np.float64, 11)
    expected = ref.softmax_forward(x, None)
    flat_x = x.reshape(-1)
    expected_sigmoid = ref.sigmoid_forward(flat_x, None)
    barrier = threading.Barrier(2)
    results = {}

    def work(key):
        barrier.wait()
        for _ in range(5):
            y = np.empty_like(x)
            K.softmax_forward(x, y)
            s = np.empty_like(flat_x)
            K.sigmoid_forward(flat_x, s)
        results[key] = (y, s)                          # missing if the thread raised

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    for y, s in results.values():
        assert_close(y, expected, np.float64)
        assert_close(s, expected_sigmoid, np.float64)


def _every_kernel_path(rng):
    """Outputs of the kernels' parallel paths (blocked loss sums, narrow and wide softmax
    rows, cross-entropy row chunks, streaming activations) on inputs past their thresholds."""
    n = 3 * 65536 + 5
    x = rng.standard_normal(n).astype(np.float32)
    t = rng.standard_normal(n).astype(np.float32)
    bits = (rng.random(n) < 0.5).astype(np.float32)
    g = np.ones(1, np.float32)
    outs = {}
    for name, args in (("mse", (x, t)), ("l1", (x, t)),
                       ("bce_with_logits", (x, bits, None, None))):
        out, grad = np.empty(1, np.float32), np.empty_like(x)
        getattr(K, f"{name}_forward")(*args, out, K.REDUCTION_MEAN)
        getattr(K, f"{name}_backward")(g, *args, grad, K.REDUCTION_MEAN)
        outs[name] = (out, grad)
    for cols in (10, 1000):
        logits = rng.standard_normal((n // cols, cols)).astype(np.float32)
        target = rng.integers(0, cols, n // cols)
        for name in ("softmax", "log_softmax"):
            y, back = np.empty_like(logits), np.empty_like(logits)
            getattr(K, f"{name}_forward")(logits, y)
            getattr(K, f"{name}_backward")(logits, y, back)
            outs[f"{name} {cols}"] = (y, back)
        lp, loss, grad = np.empty_like(logits), np.empty(1, np.float32), np.empty_like(logits)
        denom = K.cross_entropy_forward(logits, target, None, -100, 0.1, lp, loss, 1)
        K.cross_entropy_backward(g, lp, target, None, -100, 0.1, grad, 1, denom)
        outs[f"ce {cols}"] = (loss, grad)
    big = rng.standard_normal((1 << 21) + 3).astype(np.float32)
    for name in ("relu", "sigmoid", "tanh"):
        y, back = np.empty_like(big), np.empty_like(big)
        getattr(K, f"{name}_forward")(big, y)
        getattr(K, f"{name}_backward")(big, y, back)
        outs[name] = (y, back)
    return outs


def test_every_parallel_path_is_bit_identical_for_1_and_2_threads():
    before = K.get_num_threads()
    runs = []
    try:
        for threads in (1, 2):
            K.set_num_threads(threads)
            runs.append(_every_kernel_path(np.random.default_rng(3)))
    finally:
        K.set_num_threads(before)
    for name, arrays in runs[0].items():
        for a, b in zip(arrays, runs[1][name]):
            np.testing.assert_array_equal(a, b, err_msg=name, strict=True)
