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

/* A 32-bit word from any byte address. Siracusa's cores (RI5CY) split a misaligned lw in hardware (one extra
 * cycle; GVSoC models it), so it is one lw; elsewhere memcpy. */
#ifdef DEEPLOY_SIMD_XPULP
static inline uint32_t simd_load_unaligned(const void *p) {
  uint32_t v;
  __asm__ volatile("lw %0, 0(%1)" : "=r"(v) : "r"(p) : "memory");
  return v;
}
#else
#include <string.h>
static inline uint32_t simd_load_unaligned(const void *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
#endif

/* Dot products over n4 words: x rows x0 (and x1) against 4 weight rows w, w + ws, w + 2ws, w + 3ws (bytes).
 * All pointers word aligned. _ss: signed x; _us: unsigned x. acc[0..3] row x0, acc[4..7] row x1.
 * On Siracusa the inner loops of dot2x4/dot1x4 are one Xpulpv2 hardware loop (lp.setup: no counter update
 * and no taken branch per iteration) of post-increment loads and sdot instructions; elsewhere plain C. */
#ifdef DEEPLOY_SIMD_XPULP
/* lp.setup x0(L=0), rs1 = count, imm = (address of the last body instruction - pc) / 2 (I-type, opcode
 * 0x7b, funct3 100). Bodies are assembled uncompressed so their length in bytes is 4 * instructions. */
#define SIMD_HWLOOP_BEGIN(body) ".option push\n.option norvc\n.insn i 0x7b, 4, x0, %[n], " #body "\n"
#define SIMD_HWLOOP_END ".option pop\n"
/* Loaded words go to fixed scratch registers (clobbered) to stay within GCC's 30 asm operands. */
#define SIMD_PLW(r, p) ".insn i 0x0b, 2, " #r ", 4(%[" #p "])\n"
#define SIMD_SDOT(f7, d, a, b) ".insn r 0x57, 1, " #f7 ", %[" #d "], " #a ", " #b "\n"
#define SIMD_DOT_LOOPS(sfx, F7)                                                                              \
  static inline void simd_loop2x4_##sfx(const simd_word_t *a, const simd_word_t *b, const simd_word_t *w0,  \
                                        const simd_word_t *w1, const simd_word_t *w2, const simd_word_t *w3, \
                                        int32_t n4, int32_t *acc) {                                          \
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3], t0 = acc[4], t1 = acc[5], t2 = acc[6],      \
            t3 = acc[7];                                                                                    \
    __asm__ volatile(SIMD_HWLOOP_BEGIN(28) SIMD_PLW(x5, a) SIMD_PLW(x6, w0) SIMD_PLW(x7, w1)                \
                     SIMD_PLW(x28, w2) SIMD_PLW(x29, w3) SIMD_PLW(x30, b)                                      \
                     SIMD_SDOT(F7, s0, x5, x6) SIMD_SDOT(F7, s1, x5, x7) SIMD_SDOT(F7, s2, x5, x28)          \
                     SIMD_SDOT(F7, s3, x5, x29) SIMD_SDOT(F7, t0, x30, x6) SIMD_SDOT(F7, t1, x30, x7)          \
                     SIMD_SDOT(F7, t2, x30, x28) SIMD_SDOT(F7, t3, x30, x29) SIMD_HWLOOP_END                    \
                     : [a] "+r"(a), [b] "+r"(b), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), \
                       [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [t0] "+r"(t0),           \
                       [t1] "+r"(t1), [t2] "+r"(t2), [t3] "+r"(t3)                                          \
                     : [n] "r"(n4)                                                                          \
                     : "x5", "x6", "x7", "x28", "x29", "x30", "memory");                                                      \
    acc[0] = s0; acc[1] = s1; acc[2] = s2; acc[3] = s3; acc[4] = t0; acc[5] = t1; acc[6] = t2; acc[7] = t3; \
  }                                                                                                         \
  static inline void simd_loop1x4_##sfx(const simd_word_t *a, const simd_word_t *w0, const simd_word_t *w1, \
                                        const simd_word_t *w2, const simd_word_t *w3, int32_t n4,            \
                                        int32_t *acc) {                                                      \
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];                                             \
    __asm__ volatile(SIMD_HWLOOP_BEGIN(18) SIMD_PLW(x5, a) SIMD_PLW(x6, w0) SIMD_PLW(x7, w1)                \
                     SIMD_PLW(x28, w2) SIMD_PLW(x29, w3)                                                      \
                     SIMD_SDOT(F7, s0, x5, x6) SIMD_SDOT(F7, s1, x5, x7) SIMD_SDOT(F7, s2, x5, x28)          \
                     SIMD_SDOT(F7, s3, x5, x29) SIMD_HWLOOP_END                                              \
                     : [a] "+r"(a), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3),             \
                       [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3)                           \
                     : [n] "r"(n4)                                                                          \
                     : "x5", "x6", "x7", "x28", "x29", "memory");                                                             \
    acc[0] = s0; acc[1] = s1; acc[2] = s2; acc[3] = s3;                                                     \
  }
SIMD_DOT_LOOPS(ss, 0x5C)
SIMD_DOT_LOOPS(us, 0x54)
#else
#define SIMD_DOT_LOOPS(sfx, OP)                                                                              \
  static inline void simd_loop2x4_##sfx(const simd_word_t *a, const simd_word_t *b, const simd_word_t *w0,  \
                                        const simd_word_t *w1, const simd_word_t *w2, const simd_word_t *w3, \
                                        int32_t n4, int32_t *acc) {                                          \
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3], t0 = acc[4], t1 = acc[5], t2 = acc[6],      \
            t3 = acc[7];                                                                                    \
    for (int32_t k = 0; k < n4; k++) {                                                                      \
      const uint32_t va = a[k], vb = b[k], q0 = w0[k], q1 = w1[k], q2 = w2[k], q3 = w3[k];                  \
      s0 = OP(s0, va, q0); s1 = OP(s1, va, q1); s2 = OP(s2, va, q2); s3 = OP(s3, va, q3);                   \
      t0 = OP(t0, vb, q0); t1 = OP(t1, vb, q1); t2 = OP(t2, vb, q2); t3 = OP(t3, vb, q3);                   \
    }                                                                                                       \
    acc[0] = s0; acc[1] = s1; acc[2] = s2; acc[3] = s3; acc[4] = t0; acc[5] = t1; acc[6] = t2; acc[7] = t3; \
  }                                                                                                         \
  static inline void simd_loop1x4_##sfx(const simd_word_t *a, const simd_word_t *w0, const simd_word_t *w1, \
                                        const simd_word_t *w2, const simd_word_t *w3, int32_t n4,            \
                                        int32_t *acc) {                                                      \
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];                                             \
    for (int32_t k = 0; k < n4; k++) {                                                                      \
      const uint32_t va = a[k], q0 = w0[k], q1 = w1[k], q2 = w2[k], q3 = w3[k];                             \
      s0 = OP(s0, va, q0); s1 = OP(s1, va, q1); s2 = OP(s2, va, q2); s3 = OP(s3, va, q3);                   \
    }                                                                                                       \
    acc[0] = s0; acc[1] = s1; acc[2] = s2; acc[3] = s3;                                                     \
  }
SIMD_DOT_LOOPS(ss, simd_sdotsp4)
SIMD_DOT_LOOPS(us, simd_sdotusp4)
#endif

#define SIMD_DOT_FUNCS(sfx, OP)                                                                              \
  static inline void simd_dot2x4_##sfx(const void *x0, const void *x1, const int8_t *w, int32_t ws, int32_t n4, \
                                       int32_t *acc) {                                                      \
    if (n4 <= 0) return;                                                                                    \
    simd_loop2x4_##sfx((const simd_word_t *)x0, (const simd_word_t *)x1, (const simd_word_t *)w,            \
                       (const simd_word_t *)(w + ws), (const simd_word_t *)(w + 2 * ws),                    \
                       (const simd_word_t *)(w + 3 * ws), n4, acc);                                         \
  }                                                                                                         \
  static inline void simd_dot1x4_##sfx(const void *x0, const int8_t *w, int32_t ws, int32_t n4, int32_t *acc) { \
    if (n4 <= 0) return;                                                                                    \
    simd_loop1x4_##sfx((const simd_word_t *)x0, (const simd_word_t *)w, (const simd_word_t *)(w + ws),      \
                       (const simd_word_t *)(w + 2 * ws), (const simd_word_t *)(w + 3 * ws), n4, acc);      \
  }                                                                                                         \
  static inline int32_t simd_dot1x1_##sfx(const void *x0, const int8_t *w, int32_t n4, int32_t s) {         \
    const simd_word_t *a = (const simd_word_t *)x0, *w0 = (const simd_word_t *)w;                           \
    for (int32_t k = 0; k < n4; k++) s = OP(s, a[k], w0[k]);                                                \
    return s;                                                                                               \
  }

SIMD_DOT_FUNCS(ss, simd_sdotsp4)
SIMD_DOT_FUNCS(us, simd_sdotusp4)

#endif
