/* memcpy, memmove and memset for the Siracusa build, replacing picolibc's size-optimised byte loops.
 *
 * GCC turns small fixed-size copies and clearing loops in the kernels (e.g. storing a block of int32
 * accumulators, zeroing a local array) into calls to these functions; picolibc's RISC-V versions copy one
 * byte per 6-instruction iteration, which made a 16-byte output store cost ~100 cycles on GVSoC. These
 * copy words whenever source and destination share their alignment (the usual case: tensors and locals
 * are word aligned), four at a time, and bytes only at the ends.
 *
 * The loops must not be recognised as memcpy/memset again (that would recurse), hence the optimize
 * attribute; `simd_word_t`-style may_alias words keep the accesses legal for any element type. */
#include <stddef.h>
#include <stdint.h>

typedef uint32_t __attribute__((may_alias)) sir_word_t;

#define SIR_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

static inline SIR_NO_LIBCALLS void sir_copy_forward(uint8_t *d, const uint8_t *s, size_t n) {
  if ((((uintptr_t)d ^ (uintptr_t)s) & 3u) == 0) {
    for (; n && ((uintptr_t)d & 3u); n--) *d++ = *s++;
    sir_word_t *dw = (sir_word_t *)d;
    const sir_word_t *sw = (const sir_word_t *)s;
    for (; n >= 16; n -= 16, dw += 4, sw += 4) {
      const uint32_t w0 = sw[0], w1 = sw[1], w2 = sw[2], w3 = sw[3];
      dw[0] = w0;
      dw[1] = w1;
      dw[2] = w2;
      dw[3] = w3;
    }
    for (; n >= 4; n -= 4) *dw++ = *sw++;
    d = (uint8_t *)dw;
    s = (const uint8_t *)sw;
  }
  for (; n; n--) *d++ = *s++;
}

SIR_NO_LIBCALLS void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  sir_copy_forward((uint8_t *)dst, (const uint8_t *)src, n);
  return dst;
}

SIR_NO_LIBCALLS void *memmove(void *dst, const void *src, size_t n) {
  uint8_t *d = (uint8_t *)dst;
  const uint8_t *s = (const uint8_t *)src;
  if (d <= s || d >= s + n) {
    sir_copy_forward(d, s, n);
    return dst;
  }
  d += n; /* overlapping with the destination above the source: copy from the end */
  s += n;
  if ((((uintptr_t)d ^ (uintptr_t)s) & 3u) == 0) {
    for (; n && ((uintptr_t)d & 3u); n--) *--d = *--s;
    for (; n >= 4; n -= 4) {
      d -= 4;
      s -= 4;
      *(sir_word_t *)d = *(const sir_word_t *)s;
    }
  }
  for (; n; n--) *--d = *--s;
  return dst;
}

SIR_NO_LIBCALLS void *memset(void *dst, int c, size_t n) {
  uint8_t *d = (uint8_t *)dst;
  const uint8_t b = (uint8_t)c;
  for (; n && ((uintptr_t)d & 3u); n--) *d++ = b;
  const uint32_t w = 0x01010101u * b;
  sir_word_t *dw = (sir_word_t *)d;
  for (; n >= 16; n -= 16, dw += 4) {
    dw[0] = w;
    dw[1] = w;
    dw[2] = w;
    dw[3] = w;
  }
  for (; n >= 4; n -= 4) *dw++ = w;
  d = (uint8_t *)dw;
  for (; n; n--) *d++ = b;
  return dst;
}
