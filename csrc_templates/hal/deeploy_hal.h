/* The hardware abstraction generated code is written against. Two implementations exist: the host
 * shim (hal_host.c: cores emulated one after another, DMA as counted memcpy, L1/L2 as fixed arenas)
 * and the PULP/Siracusa one. Generated kernels use nothing else from the platform. */
#ifndef DEEPLOY_HAL_H
#define DEEPLOY_HAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef HAL_NUM_CORES
#define HAL_NUM_CORES 8
#endif

#ifndef HAL_L2_DATA
#define HAL_L2_DATA
#endif
#ifndef HAL_L1_DATA
#define HAL_L1_DATA
#endif

/* Index of the calling core inside the team, 0 .. HAL_NUM_CORES-1. */
uint32_t hal_core_id(void);
/* Run fn(arg) on every core of the team and return when all have finished. */
void hal_fork(void (*fn)(void *), void *arg);
/* A free-running cycle (or, on the host, nanosecond) counter. */
uint64_t hal_cycles(void);

#ifdef HAL_CHECK_ARENA
/* Host sanitizer builds: make only the listed (offset, bytes) pairs of the arena addressable, so that a
 * kernel touching any other buffer fails under AddressSanitizer. n == 0 makes the whole arena addressable. */
void hal_arena_expose(uint8_t *arena, size_t size, const uint32_t *ranges, size_t n);
/* Tiled execution: poison every registered memory, then unpoison the n (pointer, bytes) pairs. */
void hal_check_begin(void *const *ptrs, const uint32_t *bytes, uint32_t n);
void hal_check_end(void);
#endif

/* Memory levels known to the DMA. The host shim checks every transfer against these regions and counts
 * the bytes moved; on the chip they only document the layout. */
enum { HAL_MEM_L1 = 0, HAL_MEM_L2 = 1 };
void hal_memory_register(int level, void *base, uint32_t bytes);

/* Cluster DMA. dir: 1 moves external (L2) -> L1, 0 moves L1 -> L2. A 2-D transfer moves `rows` rows of
 * `row_bytes`, `stride` bytes apart on the L2 side and packed on the L1 side. Transfers may complete in
 * any order; hal_dma_wait_all() returns when every transfer issued so far by this core has finished. */
void hal_dma_2d(void *l1, void *l2, uint32_t rows, uint32_t row_bytes, uint32_t stride, int dir);
void hal_dma_wait_all(void);
/* Bytes moved L2->L1 and L1->L2 since the start (host shim; 0 where not counted). */
void hal_dma_stats(uint64_t *to_l1, uint64_t *to_l2);

/* The share [*start, *end) of n work items that the calling core processes (contiguous chunks). */
static inline void hal_chunk(int32_t n, int32_t *start, int32_t *end) {
  int32_t per = (n + HAL_NUM_CORES - 1) / HAL_NUM_CORES;
  int32_t s = (int32_t)hal_core_id() * per;
  int32_t e = s + per;
  *start = s < n ? s : n;
  *end = e < n ? e : n;
}

/* Saturation helpers shared by kernels. */
static inline int64_t hal_clip64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
static inline int32_t hal_clip32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
/* Floor division for a positive divisor (C's '/' truncates toward zero). */
static inline int64_t hal_floordiv64(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

#endif
