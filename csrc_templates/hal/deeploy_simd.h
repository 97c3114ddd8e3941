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
/* r = op(a, b) for one two-operand R-type instruction (opcode OPC, funct3 F3, funct7 F7), operands of type T */
#define SIMD_INSN_R(name, T, OPC, F3, F7)                                                                    \
  static inline int32_t name(T a, T b) {                                                                     \
    int32_t r;                                                                                               \
    __asm__(".insn r " #OPC ", " #F3 ", " #F7 ", %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));                   \
    return r;                                                                                                \
  }
/* The same dot products without an accumulator (first products of a sum: no register to zero first):
 * pv.dotsp.b (funct7 100110x) and pv.dotusp.b (funct7 100010x), funct3 001, OP-V 0x57. */
SIMD_INSN_R(simd_dotsp4, uint32_t, 0x57, 1, 0x4C)
SIMD_INSN_R(simd_dotusp4, uint32_t, 0x57, 1, 0x44)
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
static inline int32_t simd_dotsp4(uint32_t a, uint32_t b) { return simd_sdotsp4(0, a, b); }
static inline int32_t simd_dotusp4(uint32_t a, uint32_t b) { return simd_sdotusp4(0, a, b); }
#endif

/* Saturation to B-bit ranges (B a literal 2..32): SIMD_CLIPI(v, B) to [-2^(B-1), 2^(B-1) - 1], SIMD_CLIPUI(v, B) to
 * [0, 2^(B-1) - 1] (so B = 9 for uint8). On Siracusa one Xpulpv2 instruction each, p.clipi / p.clipui (funct7
 * 0001010, funct3 001 / 010, OP 0x33, the bit count in the rs2 field); elsewhere compares. */
#ifdef DEEPLOY_SIMD_XPULP
#define SIMD_CLIPI(v, B) simd_clip_insn_##B(v, 1)
#define SIMD_CLIPUI(v, B) simd_clip_insn_##B(v, 2)
#define SIMD_CLIP_INSN(B)                                                                                    \
  static inline int32_t simd_clip_insn_##B(int32_t v, const int f3) {                                        \
    int32_t r;                                                                                               \
    if (f3 == 1) __asm__(".insn r 0x33, 1, 0x0A, %0, %1, x" #B : "=r"(r) : "r"(v));                         \
    else __asm__(".insn r 0x33, 2, 0x0A, %0, %1, x" #B : "=r"(r) : "r"(v));                                  \
    return r;                                                                                                \
  }
SIMD_CLIP_INSN(8)
SIMD_CLIP_INSN(9)
SIMD_CLIP_INSN(16)
SIMD_CLIP_INSN(17)
/* min / max of two int32 values: p.min / p.max (funct7 0000010, funct3 100 / 110, OP 0x33), no branches */
SIMD_INSN_R(simd_min, int32_t, 0x33, 4, 0x02)
SIMD_INSN_R(simd_max, int32_t, 0x33, 6, 0x02)
/* lane-wise signed max of packed words: pv.max.b (4 x int8) / pv.max.h (2 x int16), funct7 0011000, funct3 001 /
 * 000, OP-V 0x57 */
SIMD_INSN_R(simd_max_b4, uint32_t, 0x57, 1, 0x18)
SIMD_INSN_R(simd_max_h2, uint32_t, 0x57, 0, 0x18)
#else
static inline int32_t simd_min(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t simd_max(int32_t a, int32_t b) { return a > b ? a : b; }
/* the signed max of each `bits`-wide lane */
static inline int32_t simd_max_lanes(uint32_t a, uint32_t b, int bits) {
  const uint32_t mask = (1u << bits) - 1u;
  uint32_t r = 0;
  for (int i = 0; i < 32; i += bits) {
    const int32_t x = (int32_t)(a << (32 - bits - i)) >> (32 - bits), y = (int32_t)(b << (32 - bits - i)) >> (32 - bits);
    r |= ((uint32_t)(x > y ? x : y) & mask) << i;
  }
  return (int32_t)r;
}
static inline int32_t simd_max_b4(uint32_t a, uint32_t b) { return simd_max_lanes(a, b, 8); }
static inline int32_t simd_max_h2(uint32_t a, uint32_t b) { return simd_max_lanes(a, b, 16); }
#define SIMD_CLIPI(v, B) simd_clip_c((v), -(int32_t)(1u << ((B) - 1)), (int32_t)((1u << ((B) - 1)) - 1u))
#define SIMD_CLIPUI(v, B) simd_clip_c((v), 0, (int32_t)((1u << ((B) - 1)) - 1u))
static inline int32_t simd_clip_c(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
#endif

/* The requantizing output stage of the linear kernels, per result one multiply, one add-and-shift and one clip:
 * SIMD_ADDN(a, b, SH) = (int32)(a + b) >> SH with a wrapping 32-bit add (SH a literal 0..31). On Siracusa one
 * Xpulpv2 p.addNi rd, rs1, rs2, SH (custom-2 0x5B, funct3 010, the shift in bits 29:25); elsewhere C.
 * simd_pack4 puts the low bytes of four results into one word (lane j = v_j), for one word store: on Siracusa
 * pv.packlo.b (funct7 1110000) and pv.packhi.b (funct7 1101100), funct3 001, OP-V 0x57. */
#ifdef DEEPLOY_SIMD_XPULP
#define SIMD_ADDN(a, b, SH)                                                                                   \
  __extension__({                                                                                             \
    int32_t r_;                                                                                               \
    __asm__(".insn r 0x5B, 2, " #SH ", %0, %1, %2" : "=r"(r_) : "r"((uint32_t)(a)), "r"((uint32_t)(b)));    \
    r_;                                                                                                       \
  })
static inline uint32_t simd_pack4(int32_t v0, int32_t v1, int32_t v2, int32_t v3) {
  uint32_t w;
  __asm__(".insn r 0x57, 1, 0x70, %0, %1, %2" : "=r"(w) : "r"(v1), "r"(v0)); /* w[15:0] = v1:v0 */
  __asm__(".insn r 0x57, 1, 0x6C, %0, %1, %2" : "+r"(w) : "r"(v3), "r"(v2)); /* w[31:16] = v3:v2 */
  return w;
}
#else
#define SIMD_ADDN(a, b, SH) ((int32_t)((uint32_t)(a) + (uint32_t)(b)) >> (SH))
static inline uint32_t simd_pack4(int32_t v0, int32_t v1, int32_t v2, int32_t v3) {
  return (uint32_t)(uint8_t)v0 | (uint32_t)(uint8_t)v1 << 8 | (uint32_t)(uint8_t)v2 << 16 | (uint32_t)(uint8_t)v3 << 24;
}
#endif

/* acc + a * b and acc - a * b (wrapping 32-bit). On Siracusa p.mac / p.msu (R-type, OP 0x33, funct7 0100001,
 * funct3 000 / 001; rd is also the accumulator): one cycle each, where GVSoC's RI5CY model takes two for a mul
 * (and one more for the add or sub). */
#ifdef DEEPLOY_SIMD_XPULP
#define SIMD_INSN_ACC(name, F3, OP)                                                                          \
  static inline int32_t name(int32_t acc, int32_t a, int32_t b) {                                            \
    __asm__(".insn r 0x33, " #F3 ", 0x21, %0, %1, %2" : "+r"(acc) : "r"(a), "r"(b));                        \
    return acc;                                                                                              \
  }
#else
#define SIMD_INSN_ACC(name, F3, OP)                                                                          \
  static inline int32_t name(int32_t acc, int32_t a, int32_t b) {                                            \
    return (int32_t)((uint32_t)acc OP (uint32_t)a * (uint32_t)b);                                            \
  }
#endif
SIMD_INSN_ACC(simd_mac, 0, +)
SIMD_INSN_ACC(simd_msu, 1, -)
/* v * m as v + v * (m - 1): one p.mac (with a constant m, m - 1 is a constant too) */
static inline int32_t simd_mul(int32_t v, int32_t m) { return simd_mac(v, v, (int32_t)((uint32_t)m - 1u)); }

/* v_i = v_i * m_i (wrapping 32-bit products, int32_t lvalues) for four values in one statement: on Siracusa four
 * p.mac as in simd_mul, back to back (written as separate C products, GCC places each next to its use). */
#ifdef DEEPLOY_SIMD_XPULP
#define SIMD_MUL4(v0, v1, v2, v3, m0, m1, m2, m3)                                                            \
  __asm__(".insn r 0x33, 0, 0x21, %0, %0, %4\n\t.insn r 0x33, 0, 0x21, %1, %1, %5\n\t"                        \
          ".insn r 0x33, 0, 0x21, %2, %2, %6\n\t.insn r 0x33, 0, 0x21, %3, %3, %7"                              \
          : "+r"(v0), "+r"(v1), "+r"(v2), "+r"(v3)                                                           \
          : "r"((uint32_t)(m0) - 1u), "r"((uint32_t)(m1) - 1u), "r"((uint32_t)(m2) - 1u), "r"((uint32_t)(m3) - 1u))
#else
#define SIMD_MUL4(v0, v1, v2, v3, m0, m1, m2, m3)                                                            \
  do {                                                                                                       \
    (v0) = (int32_t)((uint32_t)(v0) * (uint32_t)(m0));                                                       \
    (v1) = (int32_t)((uint32_t)(v1) * (uint32_t)(m1));                                                       \
    (v2) = (int32_t)((uint32_t)(v2) * (uint32_t)(m2));                                                       \
    (v3) = (int32_t)((uint32_t)(v3) * (uint32_t)(m3));                                                       \
  } while (0)
#endif

/* A 4x4 block of bytes transposed: byte i of a_j becomes byte j of o_i (a_j: column j of the block, 4 rows;
 * o_i: row i, 4 columns). Plain shifts and masks (the host runs the same). */
#define SIMD_TRANSPOSE_B4X4(a0, a1, a2, a3, o0, o1, o2, o3)                                                 \
  do {                                                                                                       \
    const uint32_t t0_ = ((a0) & 0x00FF00FFu) | (((a1) & 0x00FF00FFu) << 8);                                 \
    const uint32_t t1_ = (((a0) >> 8) & 0x00FF00FFu) | ((a1) & 0xFF00FF00u);                                 \
    const uint32_t t2_ = ((a2) & 0x00FF00FFu) | (((a3) & 0x00FF00FFu) << 8);                                 \
    const uint32_t t3_ = (((a2) >> 8) & 0x00FF00FFu) | ((a3) & 0xFF00FF00u);                                 \
    (o0) = (t0_ & 0xFFFFu) | (t2_ << 16);                                                                    \
    (o1) = (t1_ & 0xFFFFu) | (t3_ << 16);                                                                    \
    (o2) = (t0_ >> 16) | (t2_ & 0xFFFF0000u);                                                                \
    (o3) = (t1_ >> 16) | (t3_ & 0xFFFF0000u);                                                                \
  } while (0)

/* A 32-bit word from any byte address. Siracusa's cores (RI5CY) split a misaligned lw in hardware (one extra
 * cycle; GVSoC models it), so it is one lw; elsewhere memcpy. */
#ifdef DEEPLOY_SIMD_XPULP
static inline uint32_t simd_load_unaligned(const void *p) {
  uint32_t v;
  __asm__ volatile("lw %0, %1" : "=r"(v) : "m"(*(const uint32_t *)p) : "memory");  /* "m": base + offset folded */
  return v;
}
/* ... and its store (a misaligned sw is split in hardware as well). */
static inline void simd_store_unaligned(void *p, uint32_t v) {
  __asm__ volatile("sw %0, 0(%1)" : : "r"(v), "r"(p) : "memory");
}
#else
#include <string.h>
static inline uint32_t simd_load_unaligned(const void *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void simd_store_unaligned(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }
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

/* 4x4 block: acc[4 * i + j] = dot(x_i, w_j) over n4 words, x_i = xp + i * XS bytes and w_j = wp + j * WS bytes
 * (i, j < 4); word k of x_i is at XI * k bytes (4: K-contiguous rows; 16: four rows interleaved word by word).
 * XS, XI and WS are compile-time constants, multiples of 4 with 3 * XS, 3 * WS, XI < 2048; pointers word
 * aligned; n4 >= 1; acc a local int32_t[16] (constant indices only, so it lives in registers; output only, as
 * GCC allows at most 30 asm operands and an in-out operand counts twice). On Siracusa the first step
 * uses non-accumulating dot products (no zeroing of the 16 accumulators) and the other n4 - 1 are one hardware
 * loop of 8 loads (three with an immediate offset and one post-increment per operand: one pointer each) and
 * 16 sdot, ordered so that no sdot waits on the load just before it. F7: 0x5C (signed x) or 0x54 (unsigned x);
 * OP: the matching simd_sdot*4 for the portable version. */
#ifdef DEEPLOY_SIMD_XPULP
#define SIMD_S4(F7, i, a, b) ".insn r 0x57, 1, " #F7 ", %[c" #i "], " #a ", " #b "\n"
/* One step of the 4x4 block (8 loads, 16 dot products; the 4 loads of x and the last one of w advance their
 * pointer). F7: the dot product's funct7; minus 0x10 it is the non-accumulating pv.dotsp.b / pv.dotusp.b (funct7
 * 100110x / 100010x), which starts the accumulators in the first step instead of zeroing them. */
#define SIMD_LOOP4X4_BODY(F7) SIMD_LOOP4X4_BODY_XI(F7, "%[xi]")
#define SIMD_LOOP4X4_BODY_XI(F7, XI)                                                                          \
  "lw x5, %[x1](%[x])\nlw x6, %[x2](%[x])\nlw x7, %[x3](%[x])\n.insn i 0x0b, 2, x28, " XI "(%[x])\n"         \
  "lw x29, %[w1](%[w])\nlw x30, %[w2](%[w])\n"                                                                \
  SIMD_S4(F7, 1, x28, x29) SIMD_S4(F7, 5, x5, x29) SIMD_S4(F7, 9, x6, x29) SIMD_S4(F7, 13, x7, x29)           \
  "lw x29, %[w3](%[w])\n"                                                                                     \
  SIMD_S4(F7, 2, x28, x30) SIMD_S4(F7, 6, x5, x30) SIMD_S4(F7, 10, x6, x30) SIMD_S4(F7, 14, x7, x30)          \
  ".insn i 0x0b, 2, x30, 4(%[w])\n"                                                                           \
  SIMD_S4(F7, 3, x28, x29) SIMD_S4(F7, 7, x5, x29) SIMD_S4(F7, 11, x6, x29) SIMD_S4(F7, 15, x7, x29)          \
  SIMD_S4(F7, 0, x28, x30) SIMD_S4(F7, 4, x5, x30) SIMD_S4(F7, 8, x6, x30) SIMD_S4(F7, 12, x7, x30)
/* The first step (non-accumulating) and a hardware loop of the other %[n] steps; the 16 accumulator outputs. */
#define SIMD_LOOP4X4_STEPS(F7)                                                                                \
  SIMD_LOOP4X4_BODY(F7 - 0x10) "beqz %[n], 1f\n"                                                         \
  ".option push\n.option norvc\n.insn i 0x7b, 4, x0, %[n], 48\n"                                            \
  SIMD_LOOP4X4_BODY(F7) ".option pop\n1:\n"
#define SIMD_LOOP4X4_OUTPUTS(acc)                                                                             \
  [x] "+r"(x_), [w] "+r"(w_), [c0] "=&r"((acc)[0]), [c1] "=&r"((acc)[1]), [c2] "=&r"((acc)[2]),                \
      [c3] "=&r"((acc)[3]), [c4] "=&r"((acc)[4]), [c5] "=&r"((acc)[5]), [c6] "=&r"((acc)[6]),                   \
      [c7] "=&r"((acc)[7]), [c8] "=&r"((acc)[8]), [c9] "=&r"((acc)[9]), [c10] "=&r"((acc)[10]),                 \
      [c11] "=&r"((acc)[11]), [c12] "=&r"((acc)[12]), [c13] "=&r"((acc)[13]), [c14] "=&r"((acc)[14]),           \
      [c15] "=&r"((acc)[15])
#define SIMD_LOOP4X4(F7, OP, xp, XS, XI, wp, WS, n4, acc)                                                        \
  do {                                                                                                       \
    const simd_word_t *x_ = (const simd_word_t *)(xp), *w_ = (const simd_word_t *)(wp);                      \
    __asm__ volatile(                                                                                        \
        SIMD_LOOP4X4_STEPS(F7)                                                                               \
        : SIMD_LOOP4X4_OUTPUTS(acc)                                                                          \
        : [n] "r"((n4) - 1), [xi] "i"(XI), [x1] "i"(XS), [x2] "i"(2 * (XS)), [x3] "i"(3 * (XS)), [w1] "i"(WS),                  \
          [w2] "i"(2 * (WS)), [w3] "i"(3 * (WS))                                                             \
        : "x5", "x6", "x7", "x28", "x29", "x30", "memory");                                                  \
  } while (0)
/* SIMD_LOOP4X4 over K-contiguous rows (XI = 4) visiting the n4 words in the rotated order rot, rot + 1, ...,
 * n4 - 1, 0, ..., rot - 1 (0 <= rot < n4): the same sums. When every core runs the same block loop on rows a
 * multiple of 64 bytes apart, all their loads hit one TCDM bank at a time; starting core c at a different word
 * (rot = 2c) puts them on different banks. Measured on GVSoC (8x64 x 64x64 Gemm, 8 cores): the 24-instruction
 * step took ~46 cycles in lockstep and ~24 rotated. The two segments (rot + 1 .. n4 - 1, then 0 .. rot - 1) run
 * the same hardware-loop code twice (x31 holds the second count), so the kernel's code, fetched cold from L2
 * by every layer, has one copy of the loop body. NW: 4 * n4 (bytes per row), a constant < 2048. */
#define SIMD_LOOP4X4_ROT(F7, OP, xp, XS, wp, WS, n4, NW, rot, acc)                                             \
  do {                                                                                                       \
    const simd_word_t *x_ = (const simd_word_t *)(xp) + (rot), *w_ = (const simd_word_t *)(wp) + (rot);      \
    int32_t n_ = (n4) - (rot) - 1;                                                                           \
    __asm__ volatile(                                                                                        \
        SIMD_LOOP4X4_BODY_XI(F7 - 0x10, "4") "mv x31, %[r]\n"                                                \
        "3:\nbeqz %[n], 4f\n.option push\n.option norvc\n.insn i 0x7b, 4, x0, %[n], 48\n"                    \
        SIMD_LOOP4X4_BODY_XI(F7, "4") ".option pop\n"                                                        \
        "4:\nbeqz x31, 2f\naddi %[x], %[x], -%[nw]\naddi %[w], %[w], -%[nw]\nmv %[n], x31\nli x31, 0\nj 3b\n2:\n" \
        : SIMD_LOOP4X4_OUTPUTS(acc), [n] "+r"(n_)                                                            \
        : [r] "r"(rot), [nw] "i"(NW), [x1] "i"(XS), [x2] "i"(2 * (XS)), [x3] "i"(3 * (XS)), [w1] "i"(WS),        \
          [w2] "i"(2 * (WS)), [w3] "i"(3 * (WS))                                                             \
        : "x5", "x6", "x7", "x28", "x29", "x30", "x31", "memory");                                           \
  } while (0)
/* SIMD_LOOP4X4 for the convolution's interleaved buffer (XS = 4, XI = 16) against weight rows any number of bytes
 * apart (WS a run-time value: 3 * WS may exceed the 12-bit load offsets): one pointer per weight row, each
 * advanced by its post-increment load. The count register doubles as the second weight temporary once the
 * hardware loop is set up (the first step uses one temporary, with a stall per weight word), so the 16
 * accumulators, 5 pointers and the count fit the register file next to 5 temporaries. */
#define SIMD_LOOP4X4_FAR_STEP0(F7)                                                                            \
  "lw x5, 4(%[x])\nlw x6, 8(%[x])\nlw x7, 12(%[x])\n.insn i 0x0b, 2, x28, 16(%[x])\n"                      \
  ".insn i 0x0b, 2, x29, 4(%[w0])\n"                                                                         \
  SIMD_S4(F7, 0, x28, x29) SIMD_S4(F7, 4, x5, x29) SIMD_S4(F7, 8, x6, x29) SIMD_S4(F7, 12, x7, x29)           \
  ".insn i 0x0b, 2, x29, 4(%[w1])\n"                                                                         \
  SIMD_S4(F7, 1, x28, x29) SIMD_S4(F7, 5, x5, x29) SIMD_S4(F7, 9, x6, x29) SIMD_S4(F7, 13, x7, x29)           \
  ".insn i 0x0b, 2, x29, 4(%[w2])\n"                                                                         \
  SIMD_S4(F7, 2, x28, x29) SIMD_S4(F7, 6, x5, x29) SIMD_S4(F7, 10, x6, x29) SIMD_S4(F7, 14, x7, x29)          \
  ".insn i 0x0b, 2, x29, 4(%[w3])\n"                                                                         \
  SIMD_S4(F7, 3, x28, x29) SIMD_S4(F7, 7, x5, x29) SIMD_S4(F7, 11, x6, x29) SIMD_S4(F7, 15, x7, x29)
#define SIMD_LOOP4X4_FAR_BODY(F7)                                                                             \
  "lw x5, 4(%[x])\nlw x6, 8(%[x])\nlw x7, 12(%[x])\n.insn i 0x0b, 2, x28, 16(%[x])\n"                      \
  ".insn i 0x0b, 2, x29, 4(%[w0])\n.insn i 0x0b, 2, %[n], 4(%[w1])\n"                                        \
  SIMD_S4(F7, 0, x28, x29) SIMD_S4(F7, 4, x5, x29) SIMD_S4(F7, 8, x6, x29) SIMD_S4(F7, 12, x7, x29)           \
  ".insn i 0x0b, 2, x29, 4(%[w2])\n"                                                                         \
  SIMD_S4(F7, 1, x28, %[n]) SIMD_S4(F7, 5, x5, %[n]) SIMD_S4(F7, 9, x6, %[n]) SIMD_S4(F7, 13, x7, %[n])        \
  ".insn i 0x0b, 2, %[n], 4(%[w3])\n"                                                                        \
  SIMD_S4(F7, 2, x28, x29) SIMD_S4(F7, 6, x5, x29) SIMD_S4(F7, 10, x6, x29) SIMD_S4(F7, 14, x7, x29)          \
  SIMD_S4(F7, 3, x28, %[n]) SIMD_S4(F7, 7, x5, %[n]) SIMD_S4(F7, 11, x6, %[n]) SIMD_S4(F7, 15, x7, %[n])
#define SIMD_LOOP4X4_FAR(F7, OP, xp, wp, WS, n4, acc)                                                          \
  do {                                                                                                       \
    const simd_word_t *x_ = (const simd_word_t *)(xp);                                                       \
    const int8_t *w0_ = (const int8_t *)(wp), *w1_ = w0_ + (WS), *w2_ = w0_ + 2 * (WS), *w3_ = w0_ + 3 * (WS); \
    int32_t n_ = (n4) - 1;                                                                                   \
    __asm__ volatile(                                                                                        \
        SIMD_LOOP4X4_FAR_STEP0(F7 - 0x10) "beqz %[n], 1f\n"                                                   \
        ".option push\n.option norvc\n.insn i 0x7b, 4, x0, %[n], 48\n"                                        \
        SIMD_LOOP4X4_FAR_BODY(F7) ".option pop\n1:\n"                                                         \
        : [c0] "=&r"((acc)[0]), [c1] "=&r"((acc)[1]), [c2] "=&r"((acc)[2]), [c3] "=&r"((acc)[3]),             \
          [c4] "=&r"((acc)[4]), [c5] "=&r"((acc)[5]), [c6] "=&r"((acc)[6]), [c7] "=&r"((acc)[7]),               \
          [c8] "=&r"((acc)[8]), [c9] "=&r"((acc)[9]), [c10] "=&r"((acc)[10]), [c11] "=&r"((acc)[11]),           \
          [c12] "=&r"((acc)[12]), [c13] "=&r"((acc)[13]), [c14] "=&r"((acc)[14]), [c15] "=&r"((acc)[15]),       \
          [x] "+r"(x_), [w0] "+r"(w0_), [w1] "+r"(w1_), [w2] "+r"(w2_), [w3] "+r"(w3_), [n] "+r"(n_)             \
        :                                                                                                    \
        : "x5", "x6", "x7", "x28", "x29", "memory");                                                         \
  } while (0)
#else
/* Portable: word k of x_i at XI * k bytes; the words visited from `rot` on, wrapping (the order does not
 * change an exact integer sum). */
#define SIMD_LOOP4X4_C(OP, xp, XS, XI, wp, WS, n4, rot, acc)                                                  \
  do {                                                                                                       \
    const uint8_t *x_ = (const uint8_t *)(xp), *w_ = (const uint8_t *)(wp);                                  \
    for (int32_t i_ = 0; i_ < 16; i_++) (acc)[i_] = 0;                                                       \
    for (int32_t t_ = 0; t_ < (n4); t_++) {                                                                  \
      const int32_t k_ = (t_ + (rot)) % (n4);                                                                \
      for (int32_t i_ = 0; i_ < 4; i_++)                                                                     \
        for (int32_t j_ = 0; j_ < 4; j_++)                                                                   \
          (acc)[4 * i_ + j_] = OP((acc)[4 * i_ + j_], *(const simd_word_t *)(x_ + i_ * (XS) + (XI) * k_),        \
                                  *(const simd_word_t *)(w_ + j_ * (WS) + 4 * k_));                          \
    }                                                                                                        \
  } while (0)
#define SIMD_LOOP4X4(F7, OP, xp, XS, XI, wp, WS, n4, acc) SIMD_LOOP4X4_C(OP, xp, XS, XI, wp, WS, n4, 0, acc)
#define SIMD_LOOP4X4_ROT(F7, OP, xp, XS, wp, WS, n4, NW, rot, acc) SIMD_LOOP4X4_C(OP, xp, XS, 4, wp, WS, n4, rot, acc)
#define SIMD_LOOP4X4_FAR(F7, OP, xp, wp, WS, n4, acc) SIMD_LOOP4X4_C(OP, xp, 4, 16, wp, WS, n4, 0, acc)
#endif

#endif
