/* Bring-up test for Siracusa on GVSoC: FC boot and stdout, cluster start, per-core work with the hart id,
 * the hardware barrier, MCHAN DMA L2 -> L1 -> L2 (1-D) and a strided 2-D read, mcycle, and the exit
 * status through CORESTATUS (0 = every check passed; otherwise the number of failed checks).
 * Build and run: see Makefile in this directory. */
#include <stdio.h>

#include "siracusa.h"

#define DMA_BYTES 4096
#define ROWS 8
#define ROW_BYTES 32
#define ROW_STRIDE 128

static uint8_t l2_src[DMA_BYTES];
static uint8_t l2_dst[DMA_BYTES];
static uint8_t l1_buf[DMA_BYTES] SIR_L1_BSS;
static uint8_t l1_rows[ROWS * ROW_BYTES] SIR_L1_BSS;
static uint32_t l1_slots[SIR_NUM_CORES] SIR_L1_BSS;

/* Results the cluster leaves in L2 for the FC. */
static volatile uint32_t core_value[SIR_NUM_CORES];
static volatile uint32_t core_hart[SIR_NUM_CORES];
static volatile uint32_t neighbour_errors;
static volatile uint32_t rows_errors;
static volatile uint32_t cyc_in, cyc_out, cyc_2d, cyc_fork, cyc_add, cyc_entry;

/* The value core `hart` computes: (hart + 1)^2 as a sum of odd numbers, plus 1000 * hart. */
static uint32_t expected_value(uint32_t hart) { return (hart + 1) * (hart + 1) + 1000u * hart; }

static void per_core_work(void *arg) {
  (void)arg;
  uint32_t core = sir_core_id(), hart = sir_hart_id();
  uint32_t v = 0;
  for (uint32_t k = 0; k <= hart; k++) v += 2 * k + 1;
  v += 1000u * hart;
  l1_slots[core] = v;
  core_value[core] = v;
  core_hart[core] = hart;
  sir_barrier(); /* after this, every core's slot is written */
  uint32_t next = (core + 1) % SIR_NUM_CORES;
  if (l1_slots[next] != expected_value(next)) neighbour_errors++; /* (a race here would show as a count) */
  printf("cluster core %u (hart 0x%03x): value %u, neighbour %u sees %u\n", (unsigned)core, (unsigned)hart,
         (unsigned)v, (unsigned)next, (unsigned)l1_slots[next]);
}

static void add_one_chunk(void *arg) {
  (void)arg;
  uint32_t core = sir_core_id();
  uint32_t per = DMA_BYTES / SIR_NUM_CORES;
  for (uint32_t i = core * per; i < (core + 1) * per; i++) l1_buf[i] = (uint8_t)(l1_buf[i] + 1);
}

static void cluster_entry(void *arg) {
  (void)arg;
  uint32_t t_entry = sir_cycles();
  uint32_t t0 = sir_cycles();
  sir_team_fork(per_core_work, 0);
  uint32_t t1 = sir_cycles();
  cyc_fork = t1 - t0;

  t0 = sir_cycles();
  uint32_t id = sir_dma_1d(l1_buf, l2_src, DMA_BYTES, 1);
  sir_dma_wait(id);
  cyc_in = sir_cycles() - t0;

  t0 = sir_cycles();
  sir_team_fork(add_one_chunk, 0);
  cyc_add = sir_cycles() - t0;

  t0 = sir_cycles();
  id = sir_dma_1d(l1_buf, l2_dst, DMA_BYTES, 0);
  sir_dma_wait(id);
  cyc_out = sir_cycles() - t0;

  t0 = sir_cycles();
  id = sir_dma_2d(l1_rows, l2_src + 64, ROWS, ROW_BYTES, ROW_STRIDE, 1);
  sir_dma_wait(id);
  cyc_2d = sir_cycles() - t0;
  uint32_t bad = 0;
  for (uint32_t r = 0; r < ROWS; r++)
    for (uint32_t b = 0; b < ROW_BYTES; b++)
      if (l1_rows[r * ROW_BYTES + b] != l2_src[64 + r * ROW_STRIDE + b]) bad++;
  rows_errors = bad;
  cyc_entry = sir_cycles() - t_entry;
}

int main(void) {
  printf("hello from the FC (hart 0x%03x)\n", (unsigned)sir_hart_id());
#ifdef SIR_TEST_TRAP
  __asm__ volatile(".word 0"); /* an illegal instruction: checks the trap report (status 0x7E) */
#endif
  uint32_t t_init = sir_cycles();
  for (uint32_t i = 0; i < DMA_BYTES; i++) l2_src[i] = (uint8_t)(i * 7u + 3u);
  t_init = sir_cycles() - t_init;

  uint32_t t0 = sir_cycles();
  sir_cluster_run(cluster_entry, 0);
  uint32_t fc_cycles = sir_cycles() - t0;

  uint32_t errors = 0;
  for (uint32_t c = 0; c < SIR_NUM_CORES; c++)
    if (core_hart[c] != c || core_value[c] != expected_value(c)) {
      printf("FAIL core %u: hart 0x%x value %u\n", (unsigned)c, (unsigned)core_hart[c], (unsigned)core_value[c]);
      errors++;
    }
  if (neighbour_errors) {
    printf("FAIL barrier: %u cores read a stale neighbour slot\n", (unsigned)neighbour_errors);
    errors++;
  }
  uint32_t dma_bad = 0;
  for (uint32_t i = 0; i < DMA_BYTES; i++)
    if (l2_dst[i] != (uint8_t)(l2_src[i] + 1)) dma_bad++;
  if (dma_bad) {
    printf("FAIL dma 1-D round trip: %u bytes differ\n", (unsigned)dma_bad);
    errors++;
  }
  if (rows_errors) {
    printf("FAIL dma 2-D read: %u bytes differ\n", (unsigned)rows_errors);
    errors++;
  }
  printf("fork+barrier %u cycles; DMA %u B L2->L1 %u cycles, L1->L2 %u cycles; 2-D %ux%u B %u cycles\n",
         (unsigned)cyc_fork, DMA_BYTES, (unsigned)cyc_in, (unsigned)cyc_out, ROWS, ROW_BYTES, (unsigned)cyc_2d);
  printf("fork of a %u B add over %u cores: %u cycles\n", DMA_BYTES, SIR_NUM_CORES, (unsigned)cyc_add);
  printf("cluster entry on core 0: %u cluster cycles; whole cluster run: %u FC cycles\n", (unsigned)cyc_entry,
         (unsigned)fc_cycles);
  printf("FC loop filling %u B of L2: %u FC cycles\n", DMA_BYTES, (unsigned)t_init);
  printf("%s: %u errors\n", errors ? "FAIL" : "PASS", (unsigned)errors);
#ifdef SIR_TEST_FORCE_STATUS
  return SIR_TEST_FORCE_STATUS; /* checks the non-zero exit path */
#endif
  return (int)errors;
}
