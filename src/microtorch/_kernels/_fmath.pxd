# Scalar and row helpers over fused float32/float64, shared by the kernels.
#
# exp, expm1, sigmoid, tanh, log(1 + e^-|x|) and the row reductions are written
# in C (the verbatim block below) so that gcc vectorises the loops that use
# them: libm's calls keep a loop scalar, and without -ffast-math gcc will not
# reorder a floating-point sum unless told it may (`omp simd reduction`, which
# needs -fopenmp or -fopenmp-simd; without either, the loops just run scalar).
# The hot loops are multiversioned (MT_MULTIVERSION: baseline, AVX2, AVX-512).
# Their accuracy against libm is measured in tests/test_kernels_math.py and
# recorded in docs/kernels.md.  Everything here is `noexcept nogil`.  Row sums
# accumulate in double for both dtypes.

from cython cimport floating
from libc.math cimport fabs, fabsf, log, log1p, log1pf, logf

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

    /* e^y - 1 without cancellation, branch-free.  y = n ln2 + r with n an integer
       and |r| <= ln2/2 (n = 0 near 0); e^r - 1 by its Taylor series (degree 8 for
       float, 14 for double: truncation below 2^-30 / 2^-60 relative); then
       e^y - 1 = 2^n (e^r - 1) + (2^n - 1), exact in r's error when n = 0, and
       evaluated as 2 (2^(n-1) (e^r - 1) + (2^(n-1) - 1/2)) so that 2^n itself
       never overflows before the result does.  y is clamped where the result is
       already -1 or overflows; NaN -> NaN, -0.0 -> -0.0. */
    static inline float mt_expm1f(float y) {
        const float round_magic = 12582912.0f;                /* 1.5 * 2^23 */
        float yc = y > 89.0f ? 89.0f : y;                     /* NaN stays NaN */
        yc = yc < -30.0f ? -30.0f : yc;
        float n = (yc * 1.44269504f + round_magic) - round_magic;
        float r = (yc - n * 0.693115234375f) - n * 3.19461833e-05f;
        float p = 1.0f / 40320.0f;
        p = p * r + 1.0f / 5040.0f;
        p = p * r + 1.0f / 720.0f;
        p = p * r + 1.0f / 120.0f;
        p = p * r + 1.0f / 24.0f;
        p = p * r + 1.0f / 6.0f;
        p = p * r + 0.5f;
        p = p * r * r + r;
        float h = mt_pow2f(n - 1.0f);
        float big = 2.0f * (h * p + (h - 0.5f));
        return n == 0.0f ? (y == 0.0f ? y : p) : big;
    }

    static inline double mt_expm1(double y) {
        const double round_magic = 6755399441055744.0;        /* 1.5 * 2^52 */
        double yc = y > 710.0 ? 710.0 : y;
        yc = yc < -60.0 ? -60.0 : yc;
        double n = (yc * 1.4426950408889634 + round_magic) - round_magic;
        double r = (yc - n * 0.6931471803691238) - n * 1.9082149292705877e-10;
        double p = 1.0 / 87178291200.0;                         /* 1/14! */
        p = p * r + 1.0 / 6227020800.0;
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
        p = p * r * r + r;
        double h = mt_pow2(n - 1.0);
        double big = 2.0 * (h * p + (h - 0.5));
        return n == 0.0 ? (y == 0.0 ? y : p) : big;
    }

    /* tanh(|x|) from one reduction of y = -2|x| = n ln2 + r (as in mt_expm1):
       with p = e^r - 1, t = 2^n, m = e^y - 1 = t p + (t - 1) and E = e^y = t p + t,
       tanh(|x|) = -m / (2 + m) for |x| < 0.55 and (1 - E) / (1 + E) beyond, the
       better-conditioned form on each side; the sign is restored (keeps -0.0). */
    static inline float mt_tanhf(float x) {
        const float round_magic = 12582912.0f;
        float ax = fabsf(x);
        float y = ax > 30.0f ? -60.0f : -2.0f * ax;            /* NaN stays NaN */
        float n = (y * 1.44269504f + round_magic) - round_magic;
        float r = (y - n * 0.693115234375f) - n * 3.19461833e-05f;
        float p = 1.0f / 40320.0f;
        p = p * r + 1.0f / 5040.0f;
        p = p * r + 1.0f / 720.0f;
        p = p * r + 1.0f / 120.0f;
        p = p * r + 1.0f / 24.0f;
        p = p * r + 1.0f / 6.0f;
        p = p * r + 0.5f;
        p = p * r * r + r;
        float t = mt_pow2f(n);
        float m = n == 0.0f ? p : t * p + (t - 1.0f);
        float e = t * p + t;
        float small = -m / (2.0f + m);
        float large = (1.0f - e) / (1.0f + e);
        return copysignf(ax < 0.55f ? small : large, x);
    }

    static inline double mt_tanh(double x) {
        const double round_magic = 6755399441055744.0;
        double ax = fabs(x);
        double y = ax > 30.0 ? -60.0 : -2.0 * ax;
        double n = (y * 1.4426950408889634 + round_magic) - round_magic;
        double r = (y - n * 0.6931471803691238) - n * 1.9082149292705877e-10;
        double p = 1.0 / 87178291200.0;
        p = p * r + 1.0 / 6227020800.0;
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
        p = p * r * r + r;
        double t = mt_pow2(n);
        double m = n == 0.0 ? p : t * p + (t - 1.0);
        double e = t * p + t;
        double small = -m / (2.0 + m);
        double large = (1.0 - e) / (1.0 + e);
        return copysign(ax < 0.55 ? small : large, x);
    }

    /* log(1 + e^-|x|), the tail of softplus and log-sigmoid, without libm.
       e = e^-|x| is in [0, 1].  1 + e = 2^k (1 + f) with f = e (k = 0) for
       e < sqrt2 - 1, else f = (e - 1) / 2 (k = 1), so |f| <= sqrt2 - 1 and
       f never loses e's low bits.  log(1 + f) = 2 atanh(s), s = f / (2 + f),
       |s| <= 0.1716: the odd series 2s (1 + s^2/3 + s^4/5 + ...) truncated
       where its remainder is below 2^-30 (float) / 2^-55 (double) relative.
       NaN -> NaN; accuracy is checked against libm in tests/test_kernels_math.py. */
    static inline float mt_log1pexpf(float x) {
        float e = mt_expf(-fabsf(x));
        int big = e > 0.41421356f;
        float f = big ? (e - 1.0f) * 0.5f : e;
        float s = f / (2.0f + f);
        float z = s * s;
        float p = 1.0f / 9.0f;
        p = p * z + 1.0f / 7.0f;
        p = p * z + 1.0f / 5.0f;
        p = p * z + 1.0f / 3.0f;
        p = p * z;
        float two_s = s + s;
        float k_hi = big ? 0.693145752f : 0.0f;                /* ln2 split: hi has */
        float k_lo = big ? 1.42860677e-06f : 0.0f;             /* 16 bits, so exact */
        return k_hi + (two_s + (two_s * p + k_lo));
    }

    static inline double mt_log1pexp(double x) {
        double e = mt_exp(-fabs(x));
        int big = e > 0.41421356237309503;
        double f = big ? (e - 1.0) * 0.5 : e;
        double s = f / (2.0 + f);
        double z = s * s;
        double p = 1.0 / 21.0;
        p = p * z + 1.0 / 19.0;
        p = p * z + 1.0 / 17.0;
        p = p * z + 1.0 / 15.0;
        p = p * z + 1.0 / 13.0;
        p = p * z + 1.0 / 11.0;
        p = p * z + 1.0 / 9.0;
        p = p * z + 1.0 / 7.0;
        p = p * z + 1.0 / 5.0;
        p = p * z + 1.0 / 3.0;
        p = p * z;
        double two_s = s + s;
        double k_hi = big ? 6.93147180369123816490e-01 : 0.0;   /* ln2 split as in */
        double k_lo = big ? 1.90821492927058770002e-10 : 0.0;   /* mt_exp */
        return k_hi + (two_s + (two_s * p + k_lo));
    }

    /* Where gcc and glibc allow it, the hot loops below are compiled three
       times (baseline x86-64, AVX2, AVX-512) and the loader picks the best one
       for the CPU it runs on.  This is not -march=native: the baseline clone
       still runs everywhere. */
    #if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 \\
        && defined(__x86_64__) && defined(__GLIBC__) && defined(__OPTIMIZE__)
    #define MT_MULTIVERSION __attribute__((unused, \\
        target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
    #elif defined(__GNUC__)
    #define MT_MULTIVERSION __attribute__((unused))   /* not every module uses each */
    #else
    #define MT_MULTIVERSION
    #endif

    /* Row reductions and whole-buffer maps, one set per dtype.  `omp simd`
       lets the compiler split each sum over vector lanes: the order is fixed
       by the build, so results are reproducible run to run. */
    #define MT_ROW_HELPERS(T, S, EXP, EXPM1, SIGMOID, TANH, LOG1PEXP)              \\
    MT_MULTIVERSION static void mt_exp_span_##S(const T* x, T* out,              \\
                                                 Py_ssize_t n) {                 \\
        _Pragma("omp simd")                                                      \\
        for (Py_ssize_t i = 0; i < n; i++) out[i] = EXP(x[i]);                   \\
    }                                                                            \\
    /* softplus(-x) = max(-x, 0) + log(1 + e^-|x|), never overflowing */          \\
    MT_MULTIVERSION static void mt_softplus_neg_span_##S(const T* x, T* out,     \\
                                                          Py_ssize_t n) {        \\
        _Pragma("omp simd")                                                      \\
        for (Py_ssize_t i = 0; i < n; i++) {                                     \\
            T v = x[i];                                                          \\
            out[i] = (v < 0 ? -v : (T)0) + LOG1PEXP(v);                          \\
        }                                                                        \\
    }                                                                            \\
    /* Test hook: out[i] = f(x[i]) for f = exp, expm1, sigmoid, tanh, log(1 + e^-|x|)   \\
       (fn 0..4), compiled like the spans above so tests see what the kernels compute. */ \\
    MT_MULTIVERSION static void mt_apply_##S(int fn, const T* x, T* out,         \\
                                              Py_ssize_t n) {                    \\
        switch (fn) {                                                            \\
        case 0: _Pragma("omp simd") for (Py_ssize_t i = 0; i < n; i++)           \\
                    out[i] = EXP(x[i]); break;                                   \\
        case 1: _Pragma("omp simd") for (Py_ssize_t i = 0; i < n; i++)           \\
                    out[i] = EXPM1(x[i]); break;                                 \\
        case 2: _Pragma("omp simd") for (Py_ssize_t i = 0; i < n; i++)           \\
                    out[i] = SIGMOID(x[i]); break;                               \\
        case 3: _Pragma("omp simd") for (Py_ssize_t i = 0; i < n; i++)           \\
                    out[i] = TANH(x[i]); break;                                  \\
        default: _Pragma("omp simd") for (Py_ssize_t i = 0; i < n; i++)          \\
                    out[i] = LOG1PEXP(x[i]); break;                              \\
        }                                                                        \\
    }                                                                            \\
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
    /* Row reductions: an inline copy for short rows (no call, baseline ISA) and a    \\
       multiversioned one for long rows and buffers. */                           \\
    static inline T mt_max_##S(const T* x, Py_ssize_t n) {                       \\
        T m = -INFINITY;                                                         \\
        _Pragma("omp simd reduction(max:m)")                                     \\
        for (Py_ssize_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;              \\
        return m;                                                                \\
    }                                                                            \\
    MT_MULTIVERSION static T mt_max_wide_##S(const T* x, Py_ssize_t n) {         \\
        return mt_max_##S(x, n);                                                 \\
    }                                                                            \\
    static inline double mt_sum_##S(const T* x, Py_ssize_t n) {                  \\
        double acc = 0;                                                          \\
        _Pragma("omp simd reduction(+:acc)")                                     \\
        for (Py_ssize_t i = 0; i < n; i++) acc += x[i];                          \\
        return acc;                                                              \\
    }                                                                            \\
    MT_MULTIVERSION static double mt_sum_wide_##S(const T* x, Py_ssize_t n) {    \\
        return mt_sum_##S(x, n);                                                 \\
    }                                                                            \\
    static inline double mt_dot_##S(const T* x, const T* y, Py_ssize_t n) {      \\
        double acc = 0;                                                          \\
        _Pragma("omp simd reduction(+:acc)")                                     \\
        for (Py_ssize_t i = 0; i < n; i++) acc += x[i] * y[i];                   \\
        return acc;                                                              \\
    }                                                                            \\
    MT_MULTIVERSION static double mt_dot_wide_##S(const T* x, const T* y,        \\
                                                   Py_ssize_t n) {               \\
        return mt_dot_##S(x, y, n);                                              \\
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

    MT_ROW_HELPERS(float, f, mt_expf, mt_expm1f, mt_sigmoidf, mt_tanhf, mt_log1pexpf)
    MT_ROW_HELPERS(double, d, mt_exp, mt_expm1, mt_sigmoid, mt_tanh, mt_log1pexp)
    """
    float mt_expf(float x) noexcept nogil
    double mt_exp(double x) noexcept nogil
    float mt_sigmoidf(float x) noexcept nogil
    double mt_sigmoid(double x) noexcept nogil
    float mt_tanhf(float x) noexcept nogil
    double mt_tanh(double x) noexcept nogil
    float mt_expm1f(float x) noexcept nogil
    double mt_expm1(double x) noexcept nogil
    float mt_log1pexpf(float x) noexcept nogil
    double mt_log1pexp(double x) noexcept nogil
    void mt_apply_f(int fn, const float* x, float* out, Py_ssize_t n) noexcept nogil
    void mt_apply_d(int fn, const double* x, double* out, Py_ssize_t n) noexcept nogil
    void mt_exp_span_f(const float* x, float* out, Py_ssize_t n) noexcept nogil
    void mt_exp_span_d(const double* x, double* out, Py_ssize_t n) noexcept nogil
    void mt_softplus_neg_span_f(const float* x, float* out, Py_ssize_t n) noexcept nogil
    void mt_softplus_neg_span_d(const double* x, double* out, Py_ssize_t n) noexcept nogil
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
    float mt_max_wide_f(const float* x, Py_ssize_t n) noexcept nogil
    double mt_max_wide_d(const double* x, Py_ssize_t n) noexcept nogil
    double mt_sum_wide_f(const float* x, Py_ssize_t n) noexcept nogil
    double mt_sum_wide_d(const double* x, Py_ssize_t n) noexcept nogil
    double mt_dot_wide_f(const float* x, const float* y, Py_ssize_t n) noexcept nogil
    double mt_dot_wide_d(const double* x, const double* y, Py_ssize_t n) noexcept nogil
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


cdef inline void exp_span(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    """out[i] = e^x[i] for n elements (vectorised; out may alias x)."""
    if floating is float:
        mt_exp_span_f(x, out, n)
    else:
        mt_exp_span_d(x, out, n)


cdef inline void softplus_neg_span(const floating* x, floating* out,
                                   Py_ssize_t n) noexcept nogil:
    """out[i] = softplus(-x[i]) = log(1 + e^-x[i]) for n elements (vectorised, never
    overflowing; out may alias x)."""
    if floating is float:
        mt_softplus_neg_span_f(x, out, n)
    else:
        mt_softplus_neg_span_d(x, out, n)


cdef inline void tanh_span(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    """out[i] = tanh(x[i]) for n elements (vectorised; out may alias x)."""
    if floating is float:
        mt_tanh_span_f(x, out, n)
    else:
        mt_tanh_span_d(x, out, n)






cdef inline floating f_abs(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


# ---------------------------------------------------------------- row helpers
# Rows of at least WIDE elements go through the multiversioned (AVX2/AVX-512) copies of
# the reductions; shorter rows use the inline ones (a call per row would cost more than
# the row).  Narrow rows (softmax over 10 classes...) are also handled a block of rows at a
# time, so that their exponentials run as one long vectorised span.

cdef enum:
    WIDE = 64               # row length from which the multiversioned loops pay off
    ROW_BLOCK = 2048        # elements per block of narrow rows


cdef inline floating row_max(const floating* x, Py_ssize_t n) noexcept nogil:
    """Largest entry (-inf for an empty row).  With a NaN in the row the result
    is unspecified, but the row still comes out NaN through exp(NaN - max)."""
    if floating is float:
        return mt_max_wide_f(x, n) if n >= WIDE else mt_max_f(x, n)
    else:
        return mt_max_wide_d(x, n) if n >= WIDE else mt_max_d(x, n)


cdef inline double row_sum(const floating* x, Py_ssize_t n) noexcept nogil:
    """Sum in double (lanes summed in a fixed order: reproducible run to run)."""
    if floating is float:
        return mt_sum_wide_f(x, n) if n >= WIDE else mt_sum_f(x, n)
    else:
        return mt_sum_wide_d(x, n) if n >= WIDE else mt_sum_d(x, n)


cdef inline double row_dot(const floating* x, const floating* y, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return mt_dot_wide_f(x, y, n) if n >= WIDE else mt_dot_f(x, y, n)
    else:
        return mt_dot_wide_d(x, y, n) if n >= WIDE else mt_dot_d(x, y, n)


cdef inline double row_sum_exp(const floating* x, floating shift, floating* out,
                               Py_ssize_t n) noexcept nogil:
    """sum_j exp(x_j - shift), writing each term to out unless out is NULL."""
    if floating is float:
        return mt_sum_exp_f(x, shift, out, n)
    else:
        return mt_sum_exp_d(x, shift, out, n)


cdef inline void _shift_rows(const floating* x, floating* out, Py_ssize_t rows,
                             Py_ssize_t n) noexcept nogil:
    """out[r] = x[r] - max(x[r]) for each of `rows` rows of n; out may alias x."""
    cdef Py_ssize_t r, j
    cdef floating m
    for r in range(rows):
        m = row_max(x + r * n, n)
        for j in range(n):
            out[r * n + j] = x[r * n + j] - m


cdef inline void softmax_rows(const floating* x, floating* out, Py_ssize_t rows,
                              Py_ssize_t n) noexcept nogil:
    """out = exp(x - max) / sum(exp(x - max)) for each of `rows` rows; out may alias x.

    A row of all -inf, or holding +inf or NaN, comes out all NaN (as in PyTorch)."""
    cdef Py_ssize_t r, j, b, r0, r1, per
    cdef floating inv
    if n >= WIDE:
        for r in range(rows):
            inv = <floating>(1 / row_sum_exp(x + r * n, row_max(x + r * n, n), out + r * n, n))
            for j in range(n):
                out[r * n + j] = out[r * n + j] * inv
        return
    per = max(1, ROW_BLOCK // max(n, 1))
    for b in range((rows + per - 1) // per):
        r0 = b * per
        r1 = min(rows, r0 + per)
        _shift_rows(x + r0 * n, out + r0 * n, r1 - r0, n)
        exp_span(out + r0 * n, out + r0 * n, (r1 - r0) * n)
        for r in range(r0, r1):
            inv = <floating>(1 / row_sum(out + r * n, n))
            for j in range(n):
                out[r * n + j] = out[r * n + j] * inv


cdef inline void log_softmax_rows(const floating* x, floating* out, Py_ssize_t rows,
                                  Py_ssize_t n) noexcept nogil:
    """out = (x - max) - log(sum(exp(x - max))) for each of `rows` rows; out may alias x.

    A row of all -inf, or holding +inf or NaN, comes out all NaN (as in PyTorch)."""
    cdef Py_ssize_t r, j, b, r0, r1, per
    cdef floating m, log_total
    cdef floating e[ROW_BLOCK]
    if n >= WIDE:
        for r in range(rows):
            m = row_max(x + r * n, n)
            log_total = <floating>log(row_sum_exp(x + r * n, m, NULL, n))
            for j in range(n):
                out[r * n + j] = (x[r * n + j] - m) - log_total
        return
    per = max(1, ROW_BLOCK // max(n, 1))
    for b in range((rows + per - 1) // per):
        r0 = b * per
        r1 = min(rows, r0 + per)
        _shift_rows(x + r0 * n, out + r0 * n, r1 - r0, n)
        exp_span(out + r0 * n, e, (r1 - r0) * n)
        for r in range(r0, r1):
            log_total = <floating>log(row_sum(e + (r - r0) * n, n))
            for j in range(n):
                out[r * n + j] = out[r * n + j] - log_total


cdef inline void softmax_backward_row(const floating* g, const floating* y, floating* out,
                                      Py_ssize_t n) noexcept nogil:
    """out = y * (g - sum(g * y)); out may alias g or y."""
    cdef floating d = <floating>row_dot(g, y, n)
    cdef Py_ssize_t j
    for j in range(n):
        out[j] = y[j] * (g[j] - d)


cdef inline void log_softmax_backward_rows(const floating* g, const floating* y,
                                           floating* out, Py_ssize_t rows,
                                           Py_ssize_t n) noexcept nogil:
    """out = g - exp(y) * sum(g) for each of `rows` rows; out may alias g or y.

    exp(y) goes through a scratch block, so the vectorised exp_span can run over many
    rows at once without overwriting g or y before they are read."""
    cdef floating e[ROW_BLOCK]
    cdef Py_ssize_t r, j, b, k0, k1, per, size
    cdef floating s
    if n >= ROW_BLOCK:
        for r in range(rows):
            s = <floating>row_sum(g + r * n, n)
            for b in range((n + ROW_BLOCK - 1) // ROW_BLOCK):
                k0 = b * ROW_BLOCK
                size = min(ROW_BLOCK, n - k0)
                exp_span(y + r * n + k0, e, size)
                for j in range(size):
                    out[r * n + k0 + j] = g[r * n + k0 + j] - e[j] * s
        return
    per = ROW_BLOCK // max(n, 1)
    for b in range((rows + per - 1) // per):
        k0 = b * per
        k1 = min(rows, k0 + per)
        exp_span(y + k0 * n, e, (k1 - k0) * n)
        for r in range(k0, k1):
            s = <floating>row_sum(g + r * n, n)
            for j in range(n):
                out[r * n + j] = g[r * n + j] - e[(r - k0) * n + j] * s
