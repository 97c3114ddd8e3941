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

#ifdef HAL_SIRACUSA
/* Siracusa (hal_siracusa.c): L1 buffers go to the TCDM sections of siracusa.ld; L2 is the default. */
#ifndef HAL_L1_DATA
#define HAL_L1_DATA __attribute__((section(".bss.__l1")))
#endif
/* N-EUREKA's weight memory (siracusa.ld region WMEM at 0x10400000). */
#ifndef HAL_WMEM_DATA
#define HAL_WMEM_DATA __attribute__((section(".wmem_data")))
#endif
#endif
#ifndef HAL_L2_DATA
#define HAL_L2_DATA
#endif
#ifndef HAL_L1_DATA
#define HAL_L1_DATA
#endif
/* Constants kept in N-EUREKA's weight memory (on the chip: a section placed in the weight memory). */
#ifndef HAL_WMEM_DATA
#define HAL_WMEM_DATA
#endif

/* Index of the calling core inside the team, 0 .. HAL_NUM_CORES-1. */
uint32_t hal_core_id(void);
/* Run fn(arg) on every core of the team and return when all have finished. */
void hal_fork(void (*fn)(void *), void *arg);
/* A free-running cycle (or, on the host, nanosecond) counter. */
uint64_t hal_cycles(void);
/* Its low 32 bits, cheap to read: for intervals shorter than 2^32 ticks (one kernel call). */
uint32_t hal_ticks(void);

#ifdef HAL_CHECK_ARENA
/* Host sanitizer builds: make only the listed (offset, bytes) pairs of the arena addressable, so that a
 * kernel touching any other buffer fails under AddressSanitizer. n == 0 makes the whole arena addressable. */
void hal_arena_expose(uint8_t *arena, size_t size, const uint32_t *ranges, size_t n);
/* Tiled execution: poison every registered memory, then unpoison the n (pointer, bytes) pairs. */
void hal_check_begin(void *const *ptrs, const uint32_t *bytes, uint32_t n);
void hal_check_end(void);
/* A generated table contradicts itself: report and abort. */
void hal_check_fail(const char *what);
#endif

/* Memory levels known to the DMA. The host shim checks every transfer against these regions and counts
 * the bytes moved; on the chip they only document the layout. */
enum { HAL_MEM_L1 = 0, HAL_MEM_L2 = 1, HAL_MEM_WMEM = 2 };
void hal_memory_register(int level, void *base, uint32_t bytes);

/* Cluster DMA. dir: 1 moves external (L2) -> L1, 0 moves L1 -> L2. A 2-D transfer moves `rows` rows of
 * `row_bytes`, `stride` bytes apart on the L2 side and packed on the L1 side. Transfers may complete in
 * any order; hal_dma_wait_all() returns when every transfer issued so far by this core has finished. */
void hal_dma_2d(void *l1, void *l2, uint32_t rows, uint32_t row_bytes, uint32_t stride, int dir);
void hal_dma_wait_all(void);
/* Copy `bytes` of runtime tables (not tensor data) from L2 into L1, in the current batch of transfers
 * (complete after the next hal_dma_wait_all). Counted apart from tensor traffic by the host shim. */
void hal_dma_table(void *l1, const void *l2, uint32_t bytes);
/* Tensor bytes moved L2->L1 and L1->L2 since the start (host shim; 0 where not counted). */
void hal_dma_stats(uint64_t *to_l1, uint64_t *to_l2);
/* Runtime-table bytes moved by hal_dma_table since the start. */
uint64_t hal_dma_table_bytes(void);

/* N-EUREKA: one job as the engine's register file sees it (SIRACUSA.md section 2: pointers, three strides
 * each for input/output/weights, subtile counts and remainders, padding, weight offset, filter mask,
 * config word). Byte strides; subtile fields pack two 16-bit values (low | high << 16):
 *   subtile_nb0 = ko | ki << 16 (counts of 32-output-channel and 32/28-input-channel blocks),
 *   subtile_nb1 = ho | wo << 16 (counts of 6x6 output subtiles), subtile_rem0/1 = the last block's sizes,
 *   subtile_rem2 = input rows | cols << 16 of the last input subtile, counted from the subtile's start
 *   in padded coordinates (so top/left padding is included).
 * padding = top << 28 | right << 24 | bottom << 20 | left << 16 | value (padding value, low 16 bits).
 * conf0: bits 1:0 kind (0 1x1, 1 dense 3x3, 2 depthwise 3x3), 4:2 weight bits - 1, 5 normalization on,
 * 10:6 shift, 11 ReLU, 12 8-bit output (else 32-bit accumulators), 13 32-bit scale (else 8-bit),
 * 14 signed input, 15 signed output, 16 weights streamed from weight memory (else L1).
 * Programmed from one core; hal_neureka_job returns when the job has finished. */
typedef struct {
  const void *weights, *infeat;
  void *outfeat;
  const void *scale, *scale_shift, *scale_bias;
  uint32_t infeat_d0, infeat_d1, infeat_d2;
  uint32_t outfeat_d0, outfeat_d1, outfeat_d2;
  uint32_t weights_d0, weights_d1, weights_d2;
  uint32_t subtile_rem0, subtile_rem1, subtile_rem2;
  uint32_t subtile_nb0, subtile_nb1;
  uint32_t padding;
  int32_t weight_offset;
  uint32_t filter_mask;
  uint32_t conf0;
} hal_neureka_job_t;

#define HAL_NEUREKA_CONF_WMEM (1u << 16)
void hal_neureka_job(const hal_neureka_job_t *job);
/* Jobs run so far (host shim; 0 where not counted). */
uint64_t hal_neureka_job_count(void);

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
