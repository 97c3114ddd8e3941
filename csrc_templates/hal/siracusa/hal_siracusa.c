/* Siracusa implementation of the hardware abstraction (deeploy_hal.h) on the bare-metal runtime of this
 * directory (siracusa.h, siracusa_rt.c). The network runs on cluster core 0 (main_siracusa.c offloads
 * it from the fabric controller); hal_fork() runs a kernel on the whole team with the hardware barrier;
 * DMA goes through core 0's MCHAN v7 channel; cycles come from the cluster timer (cluster clock).
 *
 * DMA: every transfer issued between two hal_dma_wait_all() calls shares one MCHAN transfer id
 * (allocated by the first of them), so the 16 ids are never exhausted; one wait polls that id's status
 * bit and gives it back. Commands longer than the 17-bit length field are split. */
#include "deeploy_hal.h"
#include "siracusa.h"

#if HAL_NUM_CORES != SIR_NUM_CORES
#error "HAL_NUM_CORES and SIR_NUM_CORES must be equal"
#endif

/* Cluster timer 0 (cluster peripherals + 0x400): 64-bit cascaded mode on the cluster clock. */
#define HAL_TIMER_BASE (SIR_CL_CTRL_BASE + 0x400u)
#define HAL_TIMER_CFG_LO (HAL_TIMER_BASE + 0x00u)
#define HAL_TIMER_CNT_LO (HAL_TIMER_BASE + 0x08u)
#define HAL_TIMER_CNT_HI (HAL_TIMER_BASE + 0x0Cu)
#define HAL_TIMER_ENABLE 0x1u
#define HAL_TIMER_RESET 0x2u
#define HAL_TIMER_CASC 0x80000000u

/* Largest single command: the length field has 17 bits; keep whole rows inside it. */
#define HAL_DMA_MAX 0x10000u

/* State of core 0's DMA and timer: in L1, so the tile loop does not pay L2 latency for it. */
static uint64_t dma_to_l1 SIR_L1_BSS, dma_to_l2 SIR_L1_BSS;
static int32_t dma_id SIR_L1_DATA = -1; /* transfer id of the current batch, -1 when none */
static int32_t timer_started SIR_L1_BSS;

uint32_t hal_core_id(void) { return sir_core_id(); }

void hal_fork(void (*fn)(void *), void *arg) {
#if HAL_NUM_CORES == 1
  fn(arg);
#else
  sir_team_fork(fn, arg);
#endif
}

uint64_t hal_cycles(void) {
  if (!timer_started) {
    SIR_REG32(HAL_TIMER_CFG_LO) = HAL_TIMER_ENABLE | HAL_TIMER_RESET | HAL_TIMER_CASC;
    timer_started = 1;
  }
  uint32_t hi, lo, hi2;
  do {
    hi = SIR_REG32(HAL_TIMER_CNT_HI);
    lo = SIR_REG32(HAL_TIMER_CNT_LO);
    hi2 = SIR_REG32(HAL_TIMER_CNT_HI);
  } while (hi != hi2);
  return ((uint64_t)hi << 32) | lo;
}

void hal_memory_register(int level, void *base, uint32_t bytes) {
  (void)level;
  (void)base;
  (void)bytes;
}

static inline void dma_word(uint32_t v) { SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD) = v; }

static inline void dma_begin(void) {
  __asm__ volatile("" ::: "memory");
  if (dma_id < 0) dma_id = (int32_t)SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD);
}

static void dma_1d(uint8_t *l1, uint8_t *l2, uint32_t bytes, uint32_t dir) {
  while (bytes) {
    uint32_t n = bytes < HAL_DMA_MAX ? bytes : HAL_DMA_MAX;
    dma_word(n | SIR_DMA_INC | dir);
    dma_word((uint32_t)(uintptr_t)l1);
    dma_word((uint32_t)(uintptr_t)l2);
    l1 += n;
    l2 += n;
    bytes -= n;
  }
}

void hal_dma_2d(void *l1, void *l2, uint32_t rows, uint32_t row_bytes, uint32_t stride, int dir) {
  uint64_t total = (uint64_t)rows * row_bytes;
  if (!total) return;
  uint32_t d = dir ? SIR_DMA_TO_L1 : 0u;
  uint8_t *a = (uint8_t *)l1, *b = (uint8_t *)l2;
  dma_begin();
  if (rows == 1 || stride == row_bytes) {
    dma_1d(a, b, (uint32_t)total, d);
  } else if (row_bytes > HAL_DMA_MAX) {
    for (uint32_t r = 0; r < rows; r++) dma_1d(a + r * row_bytes, b + r * stride, row_bytes, d);
  } else {
    uint32_t per = HAL_DMA_MAX / row_bytes; /* rows per command */
    for (uint32_t r = 0; r < rows; r += per) {
      uint32_t n = rows - r < per ? rows - r : per;
      dma_word((n * row_bytes) | SIR_DMA_INC | SIR_DMA_2D_EXT | d);
      dma_word((uint32_t)(uintptr_t)(a + r * row_bytes));
      dma_word((uint32_t)(uintptr_t)(b + r * stride));
      dma_word(row_bytes);
      dma_word(stride);
    }
  }
  if (dir) dma_to_l1 += total;
  else dma_to_l2 += total;
}

void hal_dma_wait_all(void) {
  if (dma_id >= 0) {
    sir_dma_wait((uint32_t)dma_id);
    dma_id = -1;
  }
  __asm__ volatile("" ::: "memory");
}

void hal_dma_stats(uint64_t *to_l1, uint64_t *to_l2) {
  *to_l1 = dma_to_l1;
  *to_l2 = dma_to_l2;
}
