/* Packed-SIMD helpers for the linear kernels (conv, matmul, gemm): 4-way int8 dot products that
 * accumulate into 32 bits. On Siracusa (HAL_SIRACUSA) they are the Xpulpv2 instructions pv.sdotsp.b
 * (signed x signed) and pv.sdotusp.b (unsigned x signed), emitted with `.insn` because a stock RISC-V GCC
 * does not know Xpulp (encodings: RI5CY/Xpulpv2 manual, checked against GVSoC's isa_pulpv2 decoder and,
 * on GVSoC, against the portable C below: tests/gvsoc/test_gvsoc.py::test_simd_encodings). Elsewhere
 * (the host runner) the same helpers are portable C, so the host tests the same kernel code.
 * Callers guarantee that the 32-bit accumulation cannot overflow (the kernels only take this path when
 * the accumulator type chosen by range analysis is int32). */
#ifndef DEEPLOY_SIMD_H
#define DEEPLOY_SIMD_H

#include <stdint.h>

/* A 32-bit word of four packed 8-bit lanes (lane 0 = lowest address); may alias int8 data. */
typedef uint32_t __attribute__((may_alias)) simd_word_t;

#if defined(HAL_SIRACUSA) && !defined(DEEPLOY_SIMD_PORTABLE)
#define DEEPLOY_SIMD_XPULP 1
/* acc + sum_i (int8)a_i * (int8)b_i : pv.sdotsp.b rd, rs1, rs2 (funct7 101110x, funct3 001, OP-V 0x57) */
static inline int32_t simd_sdotsp4(int32_t acc, uint32_t a, uint32_t b) {
  __asm__(".insn r 0x57, 1, 0x5C, %0, %1, %2" : "+r"(acc) : "r"(a), "r"(b));
  return acc;
}
/* acc + sum_i (uint8)a_i * (int8)b_i : pv.sdotusp.b rd, rs1, rs2 (funct7 101010x, funct3 001, OP-V 0x57) */
static inline int32_t simd_sdotusp4(int32_t acc, uint32_t a, uint32_t b) {
  __asm__(".insn r 0x57, 1, 0x54, %0, %1, %2" : "+r"(acc) : "r"(a), "r"(b));
  return acc;
}
/* v = *p; p += 1 word : p.lw rd, 4(rs1!) (post-increment load, I-type, custom-0 0x0B, funct3 010) */
#define SIMD_LOAD_INC(v, p) __asm__ volatile(".insn i 0x0b, 2, %0, 4(%1)" : "=r"(v), "+r"(p))
#else
#define SIMD_LOAD_INC(v, p) ((v) = *(p)++)
static inline int32_t simd_sdotsp4(int32_t acc, uint32_t a, uint32_t b) {
  for (int i = 0; i < 32; i += 8) acc += (int32_t)(int8_t)(uint8_t)(a >> i) * (int32_t)(int8_t)(uint8_t)(b >> i);
  return acc;
}
static inline int32_t simd_sdotusp4(int32_t acc, uint32_t a, uint32_t b) {
  for (int i = 0; i < 32; i += 8) acc += (int32_t)(uint8_t)(a >> i) * (int32_t)(int8_t)(uint8_t)(b >> i);
  return acc;
}
#endif

/* Dot products over n4 words: x rows x0 (and x1) against 4 weight rows w, w + ws, w + 2ws, w + 3ws (bytes).
 * All pointers word aligned. _ss: signed x; _us: unsigned x. acc[0..3] row x0, acc[4..7] row x1. */
#define SIMD_DOT_FUNCS(sfx, OP)                                                                              \
  static inline void simd_dot2x4_##sfx(const void *x0, const void *x1, const int8_t *w, int32_t ws, int32_t n4, \
                                       int32_t *acc) {                                                      \
    const simd_word_t *a = (const simd_word_t *)x0, *b = (const simd_word_t *)x1;                           \
    const simd_word_t *w0 = (const simd_word_t *)w, *w1 = (const simd_word_t *)(w + ws);                    \
    const simd_word_t *w2 = (const simd_word_t *)(w + 2 * ws), *w3 = (const simd_word_t *)(w + 3 * ws);     \
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3], t0 = acc[4], t1 = acc[5], t2 = acc[6],      \
            t3 = acc[7];                                                                                    \
    __asm__ volatile("" ::: "memory");                                                                      \
    for (int32_t k = 0; k < n4; k++) {                                                                      \
      uint32_t va, vb, q0, q1, q2, q3;                                                                      \
      SIMD_LOAD_INC(va, a); SIMD_LOAD_INC(vb, b); SIMD_LOAD_INC(q0, w0);                                    \
      SIMD_LOAD_INC(q1, w1); SIMD_LOAD_INC(q2, w2); SIMD_LOAD_INC(q3, w3);                                  \
      s0 = OP(s0, va, q0); s1 = OP(s1, va, q1); s2 = OP(s2, va, q2); s3 = OP(s3, va, q3);                   \
      t0 = OP(t0, vb, q0); t1 = OP(t1, vb, q1); t2 = OP(t2, vb, q2); t3 = OP(t3, vb, q3);                   \
    }                                                                                                       \
    acc[0] = s0; acc[1] = s1; acc[2] = s2; acc[3] = s3; acc[4] = t0; acc[5] = t1; acc[6] = t2; acc[7] = t3; \
  }                                                                                                         \
  static inline void simd_dot1x4_##sfx(const void *x0, const int8_t *w, int32_t ws, int32_t n4, int32_t *acc) { \
    const simd_word_t *a = (const simd_word_t *)x0;                                                         \
    const simd_word_t *w0 = (const simd_word_t *)w, *w1 = (const simd_word_t *)(w + ws);                    \
    const simd_word_t *w2 = (const simd_word_t *)(w + 2 * ws), *w3 = (const simd_word_t *)(w + 3 * ws);     \
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];                                             \
    __asm__ volatile("" ::: "memory");                                                                      \
    for (int32_t k = 0; k < n4; k++) {                                                                      \
      uint32_t va, q0, q1, q2, q3;                                                                          \
      SIMD_LOAD_INC(va, a); SIMD_LOAD_INC(q0, w0); SIMD_LOAD_INC(q1, w1);                                   \
      SIMD_LOAD_INC(q2, w2); SIMD_LOAD_INC(q3, w3);                                                         \
      s0 = OP(s0, va, q0); s1 = OP(s1, va, q1); s2 = OP(s2, va, q2); s3 = OP(s3, va, q3);                   \
    }                                                                                                       \
    acc[0] = s0; acc[1] = s1; acc[2] = s2; acc[3] = s3;                                                     \
  }                                                                                                         \
  static inline int32_t simd_dot1x1_##sfx(const void *x0, const int8_t *w, int32_t n4, int32_t s) {         \
    const simd_word_t *a = (const simd_word_t *)x0, *w0 = (const simd_word_t *)w;                           \
    for (int32_t k = 0; k < n4; k++) s = OP(s, a[k], w0[k]);                                                \
    return s;                                                                                               \
  }

SIMD_DOT_FUNCS(ss, simd_sdotsp4)
SIMD_DOT_FUNCS(us, simd_sdotusp4)

#endif
