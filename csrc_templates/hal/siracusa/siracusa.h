/* Bare-metal register map and helpers for the Siracusa SoC (PULP) as modelled by GVSoC.
 *
 * Written from the facts in shared/docs/SIRACUSA.md (sections 3, 4 and 7b); no PULP SDK code. The fabric
 * controller (FC) runs main(); the 8 cluster cores are started by sir_cluster_run() and driven by
 * core 0 through sir_team_fork() (see siracusa_rt.c). Everything here is header-only and inline so that
 * kernels can use it without a call. */
#ifndef SIRACUSA_H
#define SIRACUSA_H

#include <stdint.h>

#ifndef SIR_NUM_CORES
#define SIR_NUM_CORES 8 /* cores started in the cluster; a power of two, 1..8 */
#endif
#define SIR_TEAM_MASK ((1u << SIR_NUM_CORES) - 1u)

/* ---- Memory map (global addresses; SIRACUSA.md section 3) ---- */
#define SIR_L1_BASE 0x10000000u /* cluster TCDM, 256 KiB */
#define SIR_L1_SIZE 0x00040000u
#define SIR_L2_PRIV0_BASE 0x1C000000u /* 32 KiB */
#define SIR_L2_PRIV1_BASE 0x1C008000u /* 32 KiB */
#define SIR_L2_SHARED_BASE 0x1C010000u /* 1984 KiB */
#define SIR_L2_END 0x1C200000u

#define SIR_STDOUT_BASE 0x1A10F000u      /* GVSoC stdout peripheral */
#define SIR_APB_CORESTATUS 0x1A1040A0u   /* end of computation: (1 << 31) | status */
#define SIR_FC_ICACHE_CTRL 0x1A108800u   /* FC instruction cache: +0 enable, +4 flush (crt0 enables it) */

#define SIR_CL_CTRL_BASE 0x10200000u
#define SIR_CL_CTRL_FETCH_EN (SIR_CL_CTRL_BASE + 0x008u)
#define SIR_CL_CTRL_BOOTADDR(i) (SIR_CL_CTRL_BASE + 0x040u + 4u * (uint32_t)(i))
/* Cluster instruction cache control: write non-zero to ENABLE to turn the caches on (GVSoC starts with
 * them off: every fetch then goes to L2, about 7x slower), write to FLUSH to invalidate them. */
#define SIR_ICACHE_CTRL_ENABLE (SIR_CL_CTRL_BASE + 0x1400u)
#define SIR_ICACHE_CTRL_FLUSH (SIR_CL_CTRL_BASE + 0x1404u)

/* Per-core ("demux") event unit: every core sees its own registers at the same address. */
#define SIR_EU_BASE 0x10204000u
#define SIR_EU_MASK_AND (SIR_EU_BASE + 0x04u)
#define SIR_EU_MASK_OR (SIR_EU_BASE + 0x08u)
#define SIR_EU_WAIT_CLEAR (SIR_EU_BASE + 0x3Cu)
#define SIR_EU_BARRIER(n) (SIR_EU_BASE + 0x200u + 0x20u * (uint32_t)(n))
#define SIR_EU_BAR_TRIGGER_MASK 0x00u
#define SIR_EU_BAR_TARGET_MASK 0x0Cu
#define SIR_EU_BAR_TRIGGER_WAIT_CLEAR 0x1Cu
#define SIR_EVT_DMA 8
#define SIR_EVT_BARRIER 16

/* MCHAN v7: per-core channel in the cluster, the FC's own channel behind the cluster peripherals. */
#define SIR_DMA_CL_BASE 0x10204400u
#define SIR_DMA_FC_BASE 0x10201800u
#define SIR_DMA_CMD 0x0u
#define SIR_DMA_STATUS 0x4u
#define SIR_DMA_LEN_MASK 0x1FFFFu     /* bits 16:0: bytes of one command (< 128 KiB) */
#define SIR_DMA_TO_L1 (1u << 17)      /* direction: external (L2) -> L1; 0 = L1 -> L2 */
#define SIR_DMA_INC (1u << 18)        /* increment addresses */
#define SIR_DMA_2D_EXT (1u << 19)     /* 2-D on the external side: + row length, row stride */
#define SIR_DMA_EVENT (1u << 20)      /* raise event SIR_EVT_DMA on completion */

#define SIR_REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

/* ---- Identity and time ---- */
static inline uint32_t sir_hart_id(void) {
  uint32_t v;
  __asm__ volatile("csrr %0, mhartid" : "=r"(v));
  return v;
}
/* Core index inside its cluster (0..7 in the cluster; 0 on the FC). */
static inline uint32_t sir_core_id(void) { return sir_hart_id() & 0x1Fu; }
/* Cluster index: 0 for the cluster, 31 for the FC. */
static inline uint32_t sir_cluster_id(void) { return (sir_hart_id() >> 5) & 0x3Fu; }
static inline int sir_is_fc(void) { return sir_cluster_id() == 31u; }

/* Clock cycles of the calling core's clock domain (32 bits: GVSoC does not implement mcycleh). */
static inline uint32_t sir_cycles(void) {
  uint32_t v;
  __asm__ volatile("csrr %0, mcycle" : "=r"(v));
  return v;
}

/* ---- Output and end of program ---- */
/* One character on the calling core's stdout channel (GVSoC prints each core's line at '\n'). */
static inline void sir_putc(char c) {
  uint32_t h = sir_hart_id();
  uint32_t addr = SIR_STDOUT_BASE + ((h & 0x1Fu) << 3) + (((h >> 5) & 0x3Fu) << 7);
  SIR_REG32(addr) = (uint32_t)(unsigned char)c;
}

/* Stop the platform: GVSoC quits with the low 31 bits as its status. */
static inline __attribute__((noreturn)) void sir_exit(uint32_t status) {
  SIR_REG32(SIR_APB_CORESTATUS) = 0x80000000u | (status & 0x7FFFFFFFu);
  for (;;) __asm__ volatile("wfi");
}

/* ---- Cluster event unit and barrier (cluster cores only) ---- */
static inline void sir_eu_mask_set(uint32_t mask) { SIR_REG32(SIR_EU_MASK_OR) = mask; }
static inline void sir_eu_mask_clear(uint32_t mask) { SIR_REG32(SIR_EU_MASK_AND) = mask; }
/* Sleep (clock-gated) until an event of the current mask arrives, then clear it. */
static inline uint32_t sir_eu_wait_clear(void) { return SIR_REG32(SIR_EU_WAIT_CLEAR); }

/* Every core of the team runs this once before its first barrier: all program the same masks, so the
 * order in which the cores arrive does not matter. */
static inline void sir_barrier_setup(uint32_t team_mask) {
  sir_eu_mask_set(1u << SIR_EVT_BARRIER);
  SIR_REG32(SIR_EU_BARRIER(0) + SIR_EU_BAR_TRIGGER_MASK) = team_mask;
  SIR_REG32(SIR_EU_BARRIER(0) + SIR_EU_BAR_TARGET_MASK) = team_mask;
}
/* Hardware barrier over the team: one load triggers, sleeps until all arrived and clears the event. */
static inline void sir_barrier(void) {
  (void)SIR_REG32(SIR_EU_BARRIER(0) + SIR_EU_BAR_TRIGGER_WAIT_CLEAR);
  __asm__ volatile("" ::: "memory");
}

/* ---- Cluster DMA (MCHAN v7), from a cluster core through its own channel ---- */
/* Start a 1-D copy of `bytes` (< 128 KiB) between L1 and L2; returns the transfer id. */
static inline uint32_t sir_dma_1d(void *l1, const void *l2, uint32_t bytes, uint32_t dir_to_l1) {
  __asm__ volatile("" ::: "memory");
  uint32_t id = SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD);
  SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD) =
      (bytes & SIR_DMA_LEN_MASK) | SIR_DMA_INC | (dir_to_l1 ? SIR_DMA_TO_L1 : 0u);
  SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD) = (uint32_t)(uintptr_t)l1;
  SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD) = (uint32_t)(uintptr_t)l2;
  return id;
}
/* Start a 2-D copy: `rows` rows of `row_bytes`, `stride` bytes apart in L2, packed in L1. */
static inline uint32_t sir_dma_2d(void *l1, const void *l2, uint32_t rows, uint32_t row_bytes, uint32_t stride,
                                  uint32_t dir_to_l1) {
  __asm__ volatile("" ::: "memory");
  uint32_t id = SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD);
  SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD) =
      ((rows * row_bytes) & SIR_DMA_LEN_MASK) | SIR_DMA_INC | SIR_DMA_2D_EXT | (dir_to_l1 ? SIR_DMA_TO_L1 : 0u);
  SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD) = (uint32_t)(uintptr_t)l1;
  SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD) = (uint32_t)(uintptr_t)l2;
  SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD) = row_bytes;
  SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_CMD) = stride;
  return id;
}
static inline int sir_dma_busy(uint32_t id) { return (SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_STATUS) >> id) & 1u; }
/* Poll until transfer `id` has finished, then give the id back. */
static inline void sir_dma_wait(uint32_t id) {
  while (sir_dma_busy(id)) {
  }
  SIR_REG32(SIR_DMA_CL_BASE + SIR_DMA_STATUS) = 1u << id;
  __asm__ volatile("" ::: "memory");
}

/* ---- Placement of static buffers (sections known to siracusa.ld) ---- */
#define SIR_L1_BSS __attribute__((section(".bss.__l1"), aligned(4)))   /* zero-initialised, in L1 */
#define SIR_L1_DATA __attribute__((section(".data.__l1"), aligned(4))) /* initialised, in L1 */

/* ---- Runtime (siracusa_rt.c) ---- */
/* FC: start the cluster cores, run entry(arg) on cluster core 0 (the others wait for sir_team_fork),
 * and return when entry has returned. Once per program: the cores sleep for good afterwards. */
void sir_cluster_run(void (*entry)(void *), void *arg);
/* Cluster core 0: run fn(arg) on every core of the team (core 0 included); returns when all finished. */
void sir_team_fork(void (*fn)(void *), void *arg);

#endif
