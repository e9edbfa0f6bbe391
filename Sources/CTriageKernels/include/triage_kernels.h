// Triage's numeric kernels in C: the few inner loops where Swift cannot reach the machine's
// vector width (x86-64 Swift code is compiled for SSE2 only; these pick AVX2 at run time).
#ifndef TRIAGE_KERNELS_H
#define TRIAGE_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Sparse row times feature-major float32 weights, accumulated in double precision:
///
///     for j in 0 ..< n (in order):  for k in 0 ..< count:
///         out[k] = out[k] + vals[j] * (double)w[cols[j] * stride + k]
///
/// Every addition is the same IEEE 754 double operation, in the same order, as that scalar loop
/// (no fused multiply-add, no reassociation: vector lanes run across k only), so every
/// instruction set gives the same bits. `out` holds the starting values (e.g. intercepts).
/// `stride` ≥ `count` lets one call score a block of several models stored side by side.
void triage_sparse_axpy_f32(double *out, const float *w, long stride, const int32_t *cols, const double *vals,
                            long n, long count);

/// Softmax in place, as FittedLinearModel.probabilities(fromScores:) computes it in Swift:
///
///     m = max over k of s[k] / temperature      (Swift's max, in order)
///     s[k] = triageExp(s[k] / temperature - m)  (same operations as TriageCore's triageExp)
///     sum = s[0] + s[1] + … (in order);  s[k] = s[k] / sum
///
/// Vector lanes run only where each element is independent; the sum stays sequential, so every
/// instruction set gives the bits of the scalar Swift code.
void triage_softmax(double *s, long n, double temperature);

/// The instruction set `triage_sparse_axpy_f32` uses on this machine: "avx2" or "baseline" (also what `triage_softmax` uses).
/// The best the CPU has, unless the environment variable TRIAGE_KERNELS names another at the first call
/// ("baseline" forces the scalar kernels; an unknown or unsupported name is ignored).
const char *triage_kernels_isa(void);

/// Switches every later call to the kernels named by `isa` ("baseline", "avx2", or NULL / "auto" for the best
/// this CPU has), so that tests run both paths in one process. Returns 1, or 0 (nothing changed) when this
/// machine cannot run `isa`. Both kernels give the same bits, so switching never changes a result.
int triage_kernels_select(const char *isa);

#ifdef __cplusplus
}
#endif

#endif
