# Scalar and row helpers over fused float32/float64, shared by the kernels.
#
# The exponential and the row reductions are written in C (the verbatim block
# below) so that gcc vectorises the loops that use them: libm's exp is an
# opaque call that keeps a loop scalar, and without -ffast-math gcc will not
# reorder a floating-point sum unless told it may (`omp simd reduction`, which
# needs -fopenmp or -fopenmp-simd; without either, the loops just run scalar).
# Everything here is `noexcept nogil` and inline.  Row sums accumulate in
# double for both dtypes.

from cython cimport floating
from libc.math cimport log, log1p, log1pf, logf

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>

    /* 2^n for an integer-valued n whose biased exponent is in range.  Adding
       2^23 + 127 (2^52 + 1023) leaves n + bias in the low mantissa bits; one
       shift moves them into the exponent field.  No float->int conversion, so
       the loops calling this vectorise with SSE2 alone. */
    static inline float mt_pow2f(float n) {
        float t = n + 8388735.0f;
        uint32_t bits;
        memcpy(&bits, &t, sizeof bits);
        bits <<= 23;
        memcpy(&t, &bits, sizeof t);
        return t;
    }

    static inline double mt_pow2(double n) {
        double t = n + 4503599627371519.0;
        uint64_t bits;
        memcpy(&bits, &t, sizeof bits);
        bits <<= 52;
        memcpy(&t, &bits, sizeof t);
        return t;
    }

    /* e^x without branches or libm.  x = n ln2 + r, n an integer, |r| <= ln2/2
       (ln2 split in two so n ln2 is exact); e^r by its Taylor series, degree 7
       for float and 13 for double, whose truncation error is below half an ulp.
       2^n is applied as 2^n1 * 2^n2 so that results near overflow and in the
       subnormal range round once, correctly.  NaN -> NaN, inf -> inf, -inf -> 0. */
    static inline float mt_expf(float x) {
        const float round_magic = 12582912.0f;                /* 1.5 * 2^23 */
        float xc = x > 89.0f ? 89.0f : x;                     /* NaN stays NaN */
        xc = xc < -104.0f ? -104.0f : xc;
        float n = (xc * 1.44269504f + round_magic) - round_magic;
        float r = (xc - n * 0.693115234375f) - n * 3.19461833e-05f;
        float p = 1.0f / 5040.0f;
        p = p * r + 1.0f / 720.0f;
        p = p * r + 1.0f / 120.0f;
        p = p * r + 1.0f / 24.0f;
        p = p * r + 1.0f / 6.0f;
        p = p * r + 0.5f;
        p = p * r + 1.0f;
        p = p * r + 1.0f;
        float n1 = (n * 0.5f + round_magic) - round_magic;
        return p * mt_pow2f(n1) * mt_pow2f(n - n1);
    }

    static inline double mt_exp(double x) {
        const double round_magic = 6755399441055744.0;        /* 1.5 * 2^52 */
        double xc = x > 710.0 ? 710.0 : x;
        xc = xc < -746.0 ? -746.0 : xc;
        double n = (xc * 1.4426950408889634 + round_magic) - round_magic;
        double r = (xc - n * 0.6931471803691238) - n * 1.9082149292705877e-10;
        double p = 1.0 / 6227020800.0;                         /* 1/13! */
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        double n1 = (n * 0.5 + round_magic) - round_magic;
        return p * mt_pow2(n1) * mt_pow2(n - n1);
    }

    /* 1 / (1 + e^-x) exponentiating only -|x|, so it never overflows. */
    static inline float mt_sigmoidf(float x) {
        float e = mt_expf(x >= 0.0f ? -x : x);
        float s = 1.0f / (1.0f + e);
        return x >= 0.0f ? s : e * s;                         /* NaN -> NaN */
    }

    static inline double mt_sigmoid(double x) {
        double e = mt_exp(x >= 0.0 ? -x : x);
        double s = 1.0 / (1.0 + e);
        return x >= 0.0 ? s : e * s;
    }

    /* e^y - 1 without cancellation near 0: Taylor series for |y| <= ln2/2
       (degree 8 / 14), e^y - 1 beyond; both are computed and one selected,
       so the function stays branch-free. */
    static inline float mt_expm1f(float y) {
        float p = 1.0f / 40320.0f;
        p = p * y + 1.0f / 5040.0f;
        p = p * y + 1.0f / 720.0f;
        p = p * y + 1.0f / 120.0f;
        p = p * y + 1.0f / 24.0f;
        p = p * y + 1.0f / 6.0f;
        p = p * y + 0.5f;
        p = p * y * y + y;
        float big = mt_expf(y) - 1.0f;
        return (y < 0.3466f && y > -0.3466f) ? p : big;        /* NaN -> big = NaN */
    }

    static inline double mt_expm1(double y) {
        double p = 1.0 / 87178291200.0;                         /* 1/14! */
        p = p * y + 1.0 / 6227020800.0;
        p = p * y + 1.0 / 479001600.0;
        p = p * y + 1.0 / 39916800.0;
        p = p * y + 1.0 / 3628800.0;
        p = p * y + 1.0 / 362880.0;
        p = p * y + 1.0 / 40320.0;
        p = p * y + 1.0 / 5040.0;
        p = p * y + 1.0 / 720.0;
        p = p * y + 1.0 / 120.0;
        p = p * y + 1.0 / 24.0;
        p = p * y + 1.0 / 6.0;
        p = p * y + 0.5;
        p = p * y * y + y;
        double big = mt_exp(y) - 1.0;
        return (y < 0.3466 && y > -0.3466) ? p : big;
    }

    /* tanh(x) = -m / (2 + m) with m = e^(-2|x|) - 1, sign restored; keeps -0.0. */
    static inline float mt_tanhf(float x) {
        float m = mt_expm1f(-2.0f * fabsf(x));
        return copysignf(-m / (2.0f + m), x);
    }

    static inline double mt_tanh(double x) {
        double m = mt_expm1(-2.0 * fabs(x));
        return copysign(-m / (2.0 + m), x);
    }

    /* Where gcc and glibc allow it, the hot loops below are compiled three
       times (baseline x86-64, AVX2, AVX-512) and the loader picks the best one
       for the CPU it runs on.  This is not -march=native: the baseline clone
       still runs everywhere. */
    #if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 \\
        && defined(__x86_64__) && defined(__GLIBC__) && defined(__OPTIMIZE__)
    #define MT_MULTIVERSION \\
        __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
    #else
    #define MT_MULTIVERSION
    #endif

    /* Row reductions and whole-buffer maps, one set per dtype.  `omp simd`
       lets the compiler split each sum over vector lanes: the order is fixed
       by the build, so results are reproducible run to run. */
    #define MT_ROW_HELPERS(T, S, EXP, SIGMOID, TANH)                               \\
    MT_MULTIVERSION static void mt_sigmoid_span_##S(const T* x, T* out,          \\
                                                     Py_ssize_t n) {             \\
        _Pragma("omp simd")                                                      \\
        for (Py_ssize_t i = 0; i < n; i++) out[i] = SIGMOID(x[i]);               \\
    }                                                                            \\
    MT_MULTIVERSION static void mt_tanh_span_##S(const T* x, T* out,             \\
                                                  Py_ssize_t n) {                \\
        _Pragma("omp simd")                                                      \\
        for (Py_ssize_t i = 0; i < n; i++) out[i] = TANH(x[i]);                  \\
    }                                                                            \\
    static inline T mt_max_##S(const T* x, Py_ssize_t n) {                       \\
        T m = -INFINITY;                                                         \\
        _Pragma("omp simd reduction(max:m)")                                     \\
        for (Py_ssize_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;              \\
        return m;                                                                \\
    }                                                                            \\
    static inline double mt_sum_##S(const T* x, Py_ssize_t n) {                  \\
        double acc = 0;                                                          \\
        _Pragma("omp simd reduction(+:acc)")                                     \\
        for (Py_ssize_t i = 0; i < n; i++) acc += x[i];                          \\
        return acc;                                                              \\
    }                                                                            \\
    static inline double mt_dot_##S(const T* x, const T* y, Py_ssize_t n) {      \\
        double acc = 0;                                                          \\
        _Pragma("omp simd reduction(+:acc)")                                     \\
        for (Py_ssize_t i = 0; i < n; i++) acc += x[i] * y[i];                   \\
        return acc;                                                              \\
    }                                                                            \\
    /* sum of exp(x - shift); each term is also written to out unless NULL */    \\
    MT_MULTIVERSION static double mt_sum_exp_##S(const T* x, T shift, T* out,   \\
                                        Py_ssize_t n) {                          \\
        double acc = 0;                                                          \\
        if (out) {                                                               \\
            _Pragma("omp simd reduction(+:acc)")                                 \\
            for (Py_ssize_t i = 0; i < n; i++) {                                 \\
                T e = EXP(x[i] - shift);                                         \\
                out[i] = e;                                                      \\
                acc += e;                                                        \\
            }                                                                    \\
        } else {                                                                 \\
            _Pragma("omp simd reduction(+:acc)")                                 \\
            for (Py_ssize_t i = 0; i < n; i++) acc += EXP(x[i] - shift);         \\
        }                                                                        \\
        return acc;                                                              \\
    }

    MT_ROW_HELPERS(float, f, mt_expf, mt_sigmoidf, mt_tanhf)
    MT_ROW_HELPERS(double, d, mt_exp, mt_sigmoid, mt_tanh)
    """
    float mt_expf(float x) noexcept nogil
    double mt_exp(double x) noexcept nogil
    float mt_sigmoidf(float x) noexcept nogil
    double mt_sigmoid(double x) noexcept nogil
    void mt_sigmoid_span_f(const float* x, float* out, Py_ssize_t n) noexcept nogil
    void mt_sigmoid_span_d(const double* x, double* out, Py_ssize_t n) noexcept nogil
    void mt_tanh_span_f(const float* x, float* out, Py_ssize_t n) noexcept nogil
    void mt_tanh_span_d(const double* x, double* out, Py_ssize_t n) noexcept nogil
    float mt_max_f(const float* x, Py_ssize_t n) noexcept nogil
    double mt_max_d(const double* x, Py_ssize_t n) noexcept nogil
    double mt_sum_f(const float* x, Py_ssize_t n) noexcept nogil
    double mt_sum_d(const double* x, Py_ssize_t n) noexcept nogil
    double mt_dot_f(const float* x, const float* y, Py_ssize_t n) noexcept nogil
    double mt_dot_d(const double* x, const double* y, Py_ssize_t n) noexcept nogil
    double mt_sum_exp_f(const float* x, float shift, float* out, Py_ssize_t n) noexcept nogil
    double mt_sum_exp_d(const double* x, double shift, double* out, Py_ssize_t n) noexcept nogil


cdef inline floating f_exp(floating x) noexcept nogil:
    if floating is float:
        return mt_expf(x)
    else:
        return mt_exp(x)


cdef inline floating f_log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating f_log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline void sigmoid_span(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    """out[i] = sigmoid(x[i]) for n elements (vectorised; out may alias x)."""
    if floating is float:
        mt_sigmoid_span_f(x, out, n)
    else:
        mt_sigmoid_span_d(x, out, n)


cdef inline void tanh_span(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    """out[i] = tanh(x[i]) for n elements (vectorised; out may alias x)."""
    if floating is float:
        mt_tanh_span_f(x, out, n)
    else:
        mt_tanh_span_d(x, out, n)


cdef inline floating f_sigmoid(floating x) noexcept nogil:
    """1 / (1 + e^-x) without overflow; NaN propagates."""
    if floating is float:
        return mt_sigmoidf(x)
    else:
        return mt_sigmoid(x)


cdef inline floating f_log1pexp_neg_abs(floating x) noexcept nogil:
    """log(1 + e^-|x|), the stable tail of softplus and log-sigmoid."""
    return f_log1p(f_exp(-x if x >= 0 else x))


# ---------------------------------------------------------------- row helpers

cdef inline floating row_max(const floating* x, Py_ssize_t n) noexcept nogil:
    """Largest entry (-inf for an empty row).  With a NaN in the row the result
    is unspecified, but the row still comes out NaN through exp(NaN - max)."""
    if floating is float:
        return mt_max_f(x, n)
    else:
        return mt_max_d(x, n)


cdef inline double row_sum(const floating* x, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return mt_sum_f(x, n)
    else:
        return mt_sum_d(x, n)


cdef inline double row_dot(const floating* x, const floating* y, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return mt_dot_f(x, y, n)
    else:
        return mt_dot_d(x, y, n)


cdef inline double row_sum_exp(const floating* x, floating shift, floating* out,
                               Py_ssize_t n) noexcept nogil:
    """sum_j exp(x_j - shift), writing each term to out unless out is NULL."""
    if floating is float:
        return mt_sum_exp_f(x, shift, out, n)
    else:
        return mt_sum_exp_d(x, shift, out, n)


cdef inline void softmax_row(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    """out = exp(x - max) / sum(exp(x - max)); out may alias x."""
    cdef floating inv = <floating>(1 / row_sum_exp(x, row_max(x, n), out, n))
    cdef Py_ssize_t j
    for j in range(n):
        out[j] = out[j] * inv


cdef inline void log_softmax_row(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    """out = (x - max) - log(sum(exp(x - max))); out may alias x.

    A row of all -inf, or holding +inf or NaN, comes out all NaN (as in PyTorch).
    """
    cdef floating m = row_max(x, n)
    cdef floating log_total = <floating>log(row_sum_exp(x, m, NULL, n))
    cdef Py_ssize_t j
    for j in range(n):
        out[j] = (x[j] - m) - log_total


cdef inline void softmax_backward_row(const floating* g, const floating* y, floating* out,
                                      Py_ssize_t n) noexcept nogil:
    """out = y * (g - sum(g * y)); out may alias g or y."""
    cdef floating d = <floating>row_dot(g, y, n)
    cdef Py_ssize_t j
    for j in range(n):
        out[j] = y[j] * (g[j] - d)


cdef inline void log_softmax_backward_row(const floating* g, const floating* y, floating* out,
                                          Py_ssize_t n) noexcept nogil:
    """out = g - exp(y) * sum(g); out may alias g or y."""
    cdef floating s = <floating>row_sum(g, n)
    cdef Py_ssize_t j
    for j in range(n):
        out[j] = g[j] - f_exp(y[j]) * s
