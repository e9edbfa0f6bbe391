#include "triage_kernels.h"

// Contraction of a*b+c into an FMA would change results between instruction sets: forbid it.
#pragma clang fp contract(off)

// Rows two features ahead are prefetched: the rows are scattered over tens of megabytes of
// weights, and the loads of one row would otherwise wait on memory one cache line at a time.
#define TRIAGE_PREFETCH_AHEAD 2

static inline __attribute__((always_inline)) void axpy_body(double *restrict out, const float *restrict w, long stride,
                                                            const int32_t *restrict cols, const double *restrict vals,
                                                            long n, long count) {
    for (long j = 0; j < n; j++) {
        if (j + TRIAGE_PREFETCH_AHEAD < n) {
            const char *ahead = (const char *)(w + (long)cols[j + TRIAGE_PREFETCH_AHEAD] * stride);
            for (long b = 0; b < count * (long)sizeof(float); b += 64) __builtin_prefetch(ahead + b);
        }
        const float *restrict row = w + (long)cols[j] * stride;
        const double v = vals[j];
        for (long k = 0; k < count; k++) out[k] = out[k] + v * (double)row[k];
    }
}

static void axpy_baseline(double *out, const float *w, long stride, const int32_t *cols, const double *vals, long n,
                          long count) {
    axpy_body(out, w, stride, cols, vals, n, count);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void axpy_avx2(double *out, const float *w, long stride, const int32_t *cols,
                                                       const double *vals, long n, long count) {
    axpy_body(out, w, stride, cols, vals, n, count);
}

typedef void (*axpy_fn)(double *, const float *, long, const int32_t *, const double *, long, long);

static axpy_fn choose(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? axpy_avx2 : axpy_baseline;
}

static axpy_fn chosen_axpy(void) {
    static axpy_fn cached = 0;
    axpy_fn f = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (!f) {
        f = choose();  // idempotent: racing threads store the same pointer
        __atomic_store_n(&cached, f, __ATOMIC_RELEASE);
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

const char *triage_kernels_isa(void) {
#if defined(__x86_64__)
    return chosen_axpy() == axpy_avx2 ? "avx2" : "baseline";
#else
    return "baseline";
#endif
}
