#include "triage_kernels.h"

#include <stdlib.h>
#include <string.h>

static int names(const char *a, const char *b) { return strcmp(a, b) == 0; }

// Contraction of a*b+c into an FMA would change results between instruction sets: forbid it.
#pragma clang fp contract(off)

// Rows are taken four at a time: each element of `out` is loaded and stored once per four rows
// instead of once per row, and the four products are added to it in row order, so the sum is
// the same, bit for bit, as the one-row-at-a-time definition. The loads and stores of `out` were
// as many as the loads of weights, and its stores sat on the chain of every next row's adds.
#define TRIAGE_BLOCK 4
// Rows one block beyond the next are prefetched: the rows are scattered over tens of megabytes of
// weights, and the loads of one row would otherwise wait on memory one cache line at a time.
// (In a C microbenchmark of 215 random rows of 231 scores, prefetching one block ahead, or
// blocks of eight rows, were no faster.)
#define TRIAGE_PREFETCH_AHEAD (2 * TRIAGE_BLOCK)

static inline __attribute__((always_inline)) void prefetch_row(const float *w, long stride, int32_t col, long count) {
    const char *row = (const char *)(w + (long)col * stride);
    for (long b = 0; b < count * (long)sizeof(float); b += 64) __builtin_prefetch(row + b);
}

static inline __attribute__((always_inline)) void axpy_body(double *restrict out, const float *restrict w, long stride,
                                                            const int32_t *restrict cols, const double *restrict vals,
                                                            long n, long count) {
    for (long a = TRIAGE_BLOCK; a < TRIAGE_PREFETCH_AHEAD && a < n; a++) prefetch_row(w, stride, cols[a], count);
    long j = 0;
    for (; j + TRIAGE_BLOCK <= n; j += TRIAGE_BLOCK) {
        for (long a = j + TRIAGE_PREFETCH_AHEAD; a < j + TRIAGE_PREFETCH_AHEAD + TRIAGE_BLOCK && a < n; a++)
            prefetch_row(w, stride, cols[a], count);
        const float *restrict r0 = w + (long)cols[j] * stride;
        const float *restrict r1 = w + (long)cols[j + 1] * stride;
        const float *restrict r2 = w + (long)cols[j + 2] * stride;
        const float *restrict r3 = w + (long)cols[j + 3] * stride;
        const double v0 = vals[j], v1 = vals[j + 1], v2 = vals[j + 2], v3 = vals[j + 3];
        for (long k = 0; k < count; k++)
            out[k] = (((out[k] + v0 * (double)r0[k]) + v1 * (double)r1[k]) + v2 * (double)r2[k]) + v3 * (double)r3[k];
    }
    for (; j < n; j++) {
        const float *restrict row = w + (long)cols[j] * stride;
        const double v = vals[j];
        for (long k = 0; k < count; k++) out[k] = out[k] + v * (double)row[k];
    }
}

static void axpy_baseline(double *out, const float *w, long stride, const int32_t *cols, const double *vals, long n,
                          long count) {
    axpy_body(out, w, stride, cols, vals, n, count);
}

// exp(x) as TriageCore's `triageExp` computes it, operation for operation (Cody–Waite reduction,
// degree-13 Taylor polynomial, 2^k from exponent bits): the same bits, so golden probes hold
// whichever of the two computes a probability. See FastMath.swift for the derivation.
static inline __attribute__((always_inline)) double exp_body(double value) {
    const double x = value < -708 ? -708 : (value > 709 ? 709 : value);
    const double shifter = 6755399441055744.0;
    const double t = x * 1.4426950408889634 + shifter;
    const double k = t - shifter;
    const double r = (x - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
    double p = 1.0 / 6227020800.0;
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
    uint64_t tb, sb;  // k in the low bits of t: wrapping arithmetic, as Swift's &- and &+
    __builtin_memcpy(&tb, &t, sizeof tb);
    __builtin_memcpy(&sb, &shifter, sizeof sb);
    const uint64_t scale_bits = (tb - sb + 1023u) << 52;
    double scale;
    __builtin_memcpy(&scale, &scale_bits, sizeof scale);
    return p * scale;
}

static inline __attribute__((always_inline)) void softmax_body(double *restrict s, long n, double temperature) {
    double m = -__builtin_inf();
    for (long k = 0; k < n; k++) {
        const double y = s[k] / temperature;
        m = y >= m ? y : m;  // Swift's max(m, y)
    }
    for (long k = 0; k < n; k++) s[k] = exp_body(s[k] / temperature - m);
    double sum = 0;
    for (long k = 0; k < n; k++) sum += s[k];  // in order: not vectorised, by design
    for (long k = 0; k < n; k++) s[k] = s[k] / sum;
}

static void softmax_baseline(double *s, long n, double temperature) { softmax_body(s, n, temperature); }

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void axpy_avx2(double *out, const float *w, long stride, const int32_t *cols,
                                                       const double *vals, long n, long count) {
    axpy_body(out, w, stride, cols, vals, n, count);
}

__attribute__((target("avx2"))) static void softmax_avx2(double *s, long n, double temperature) {
    softmax_body(s, n, temperature);
}

typedef void (*axpy_fn)(double *, const float *, long, const int32_t *, const double *, long, long);

// The kernel for an instruction-set name: "baseline", "avx2" (when the CPU has it), or NULL /
// "" / "auto" for the best this CPU has. NULL result: a name this machine cannot run.
static axpy_fn kernel_named(const char *isa) {
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2");
    if (!isa || !*isa || names(isa, "auto")) return avx2 ? axpy_avx2 : axpy_baseline;
    if (names(isa, "baseline")) return axpy_baseline;
    if (names(isa, "avx2")) return avx2 ? axpy_avx2 : 0;
    return 0;
}

static axpy_fn cached_axpy = 0;

static axpy_fn choose(void) {
    axpy_fn f = kernel_named(getenv("TRIAGE_KERNELS"));
    return f ? f : kernel_named(0);  // an unknown name: the best this CPU has
}

static axpy_fn chosen_axpy(void) {
    axpy_fn f = __atomic_load_n(&cached_axpy, __ATOMIC_ACQUIRE);
    if (!f) {
        f = choose();  // idempotent: racing threads store the same pointer
        __atomic_store_n(&cached_axpy, f, __ATOMIC_RELEASE);
    }
    return f;
}
#endif

void triage_sparse_axpy_f32(double *out, const float *w, long stride, const int32_t *cols, const double *vals, long n,
                            long count) {
#if defined(__x86_64__)
    chosen_axpy()(out, w, stride, cols, vals, n, count);
#else
    axpy_baseline(out, w, stride, cols, vals, n, count);
#endif
}

void triage_softmax(double *s, long n, double temperature) {
#if defined(__x86_64__)
    if (chosen_axpy() == axpy_avx2) return softmax_avx2(s, n, temperature);
#endif
    softmax_baseline(s, n, temperature);
}

int triage_kernels_select(const char *isa) {
#if defined(__x86_64__)
    axpy_fn f = kernel_named(isa);
    if (!f) return 0;
    __atomic_store_n(&cached_axpy, f, __ATOMIC_RELEASE);
    return 1;
#else
    return !isa || !*isa || names(isa, "auto") || names(isa, "baseline");
#endif
}

const char *triage_kernels_isa(void) {
#if defined(__x86_64__)
    return chosen_axpy() == axpy_avx2 ? "avx2" : "baseline";
#else
    return "baseline";
#endif
}
