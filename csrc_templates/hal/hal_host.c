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
