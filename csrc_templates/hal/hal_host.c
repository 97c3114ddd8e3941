/* Host implementation of the hardware abstraction: the embedded default that needs only a C compiler.
 * The team's cores run one after another on the calling thread, so every kernel's work split is
 * exercised exactly as on the cluster (each core's chunk computed with its own core id). */
#define _POSIX_C_SOURCE 199309L
#include <time.h>

#include "deeploy_hal.h"

#ifdef HAL_CHECK_ARENA
#include <sanitizer/asan_interface.h>

void hal_arena_expose(uint8_t *arena, size_t size, const uint32_t *ranges, size_t n) {
  if (n == 0) {
    ASAN_UNPOISON_MEMORY_REGION(arena, size);
    return;
  }
  ASAN_POISON_MEMORY_REGION(arena, size);
  for (size_t i = 0; i < n; i++) ASAN_UNPOISON_MEMORY_REGION(arena + ranges[2 * i], ranges[2 * i + 1]);
}
#endif

#include <stdio.h>
#include <stdlib.h>

static struct { uint8_t *base; uint32_t bytes; int level; } regions[8];
static int n_regions = 0;
static uint64_t dma_to_l1 = 0, dma_to_l2 = 0;

void hal_memory_register(int level, void *base, uint32_t bytes) {
  if (n_regions < 8) {
    regions[n_regions].base = (uint8_t *)base;
    regions[n_regions].bytes = bytes;
    regions[n_regions].level = level;
    n_regions++;
  }
}

static int inside(int level, const uint8_t *p, uint64_t n) {
  for (int i = 0; i < n_regions; i++)
    if (regions[i].level == level && p >= regions[i].base && p + n <= regions[i].base + regions[i].bytes) return 1;
  return 0;
}

/* The host DMA: a checked, counted memcpy. An access outside the planned L1/L2 regions aborts. */
void hal_dma_2d(void *l1, void *l2, uint32_t rows, uint32_t row_bytes, uint32_t stride, int dir) {
  uint64_t total = (uint64_t)rows * row_bytes;
  uint64_t span = rows ? (uint64_t)(rows - 1) * stride + row_bytes : 0;
  if (!inside(HAL_MEM_L1, (const uint8_t *)l1, total) || !inside(HAL_MEM_L2, (const uint8_t *)l2, span)) {
    fprintf(stderr, "hal: DMA outside the planned memories (l1=%p, %llu B; l2=%p, %llu B)\n", l1,
            (unsigned long long)total, l2, (unsigned long long)span);
    abort();
  }
  uint8_t *a = (uint8_t *)l1, *b = (uint8_t *)l2;
  for (uint32_t r = 0; r < rows; r++) {
    if (dir) memcpy(a + (size_t)r * row_bytes, b + (size_t)r * stride, row_bytes);
    else memcpy(b + (size_t)r * stride, a + (size_t)r * row_bytes, row_bytes);
  }
  if (dir) dma_to_l1 += total;
  else dma_to_l2 += total;
}

void hal_dma_wait_all(void) {}

void hal_dma_stats(uint64_t *to_l1, uint64_t *to_l2) {
  *to_l1 = dma_to_l1;
  *to_l2 = dma_to_l2;
}

#ifdef HAL_CHECK_ARENA
void hal_check_begin(void *const *ptrs, const uint32_t *bytes, uint32_t n) {
  for (int i = 0; i < n_regions; i++) ASAN_POISON_MEMORY_REGION(regions[i].base, regions[i].bytes);
  for (uint32_t i = 0; i < n; i++) ASAN_UNPOISON_MEMORY_REGION(ptrs[i], bytes[i]);
}

void hal_check_end(void) {
  for (int i = 0; i < n_regions; i++) ASAN_UNPOISON_MEMORY_REGION(regions[i].base, regions[i].bytes);
}
#endif

static uint32_t current_core = 0;

uint32_t hal_core_id(void) { return current_core; }

void hal_fork(void (*fn)(void *), void *arg) {
  for (uint32_t c = 0; c < HAL_NUM_CORES; c++) {
    current_core = c;
    fn(arg);
  }
  current_core = 0;
}

uint64_t hal_cycles(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
