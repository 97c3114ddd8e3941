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
static uint64_t dma_to_l1 SIR_L1_BSS, dma_to_l2 SIR_L1_BSS, dma_tables SIR_L1_BSS;
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

uint32_t hal_ticks(void) { return SIR_REG32(HAL_TIMER_CNT_LO); }

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

void hal_dma_table(void *l1, const void *l2, uint32_t bytes) {
  dma_begin();
  dma_1d((uint8_t *)l1, (uint8_t *)(uintptr_t)l2, bytes, SIR_DMA_TO_L1);
  dma_tables += bytes;
}

uint64_t hal_dma_table_bytes(void) { return dma_tables; }

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

/* ---- N-EUREKA (SIRACUSA.md sections 2 and 3) ---------------------------------------------------------
 * A memory-mapped HWPE behind the cluster peripherals at 0x10201000: control registers (trigger +0x00,
 * acquire +0x04, status +0x0C), then the 24 job registers from +0x20. One job at a time: acquire a slot
 * (the queue holds 2 jobs), write the 24 registers, trigger, then poll the status until the queue is empty
 * (the driver's GVSoC rule for "job done"; the engine also raises cluster event 12, which we do not use
 * so that a pending event can never wake core 0 early from a team barrier). A job may be split into up
 * to 4 engine jobs (see hal_neureka_job), queued back to back.
 *
 * The job struct of deeploy_hal.h is our own encoding; here it becomes the engine's register layout:
 *  - input pointer: moved back to the padded origin (top/left padding rows/columns before the data);
 *  - strides: input d0 = pixel, d1 = row; output d0 = 32 (one 32-byte word of 8 int32 channels),
 *    d1 = pixel, d2 = row; weights d0 = 32 (one bit plane), d1 = one output channel, d2 = 0;
 *  - subtile counts and remainders: the first of each pair in the high half-word (ko/ki, ho/wo, hi/wi);
 *  - weight pointer: relative to the weight memory base 0x10400000 when streamed from it; L1 addresses
 *    are passed as they are (the engine's L1 port uses the low 18 bits);
 *  - config word: see the NEUREKA_CONF_* bits below. Normalization: acc*scale + bias (per output channel,
 *    bias always present), one right shift, saturation to [0,255] with ReLU or [-128,127] without. */
#define NEUREKA_BASE (SIR_CL_CTRL_BASE + 0x1000u)
#define NEUREKA_TRIGGER (NEUREKA_BASE + 0x00u)
#define NEUREKA_ACQUIRE (NEUREKA_BASE + 0x04u)
#define NEUREKA_STATUS (NEUREKA_BASE + 0x0Cu)
#define NEUREKA_JOB_REG(i) (NEUREKA_BASE + 0x20u + 4u * (uint32_t)(i))
#define NEUREKA_NB_REGS 24
#define NEUREKA_WMEM_BASE 0x10400000u
/* Cluster control: N-EUREKA's shared-L1 interconnect setting (priority bit 8, max stall bits 7:0). */
#define NEUREKA_HCI_CTRL (SIR_CL_CTRL_BASE + 0x18u)
#define NEUREKA_HCI_PRIO 0x100u
#define NEUREKA_MAX_STALL 8u

/* config word fields of the engine */
#define NEUREKA_CONF_WBITS(b) ((uint32_t)(b)-1u)   /* 2:0 weight bits - 1 */
#define NEUREKA_CONF_NORM_QUANT (1u << 4)          /* normalization/quantization on */
#define NEUREKA_CONF_MODE_3X3 (0u << 5)            /* 6:5 filter mode */
#define NEUREKA_CONF_MODE_DW (1u << 5)
#define NEUREKA_CONF_MODE_1X1 (2u << 5)
#define NEUREKA_CONF_WSRC_WMEM (1u << 9)           /* weights from the weight memory */
#define NEUREKA_CONF_NORM_32BIT (2u << 12)         /* 13:12 scale width: 8 (0) or 32 bits */
#define NEUREKA_CONF_WOFFS_LAYER (1u << 15)        /* layer-wise weight offset */
#define NEUREKA_CONF_SHIFT(s) (((uint32_t)(s)&31u) << 16) /* 20:16 right shift */
#define NEUREKA_CONF_QUANT_32BIT (2u << 21)        /* 22:21 output width: 8 (0) or 32 bits */
#define NEUREKA_CONF_IDENTITY (1u << 23)           /* no ReLU (saturate signed) */
#define NEUREKA_CONF_NORM_BIAS (1u << 25)          /* add the per-channel bias */
#define NEUREKA_CONF_INPUT_SIGNED (1u << 26)

static int32_t neureka_open SIR_L1_BSS;
static uint32_t neureka_jobs SIR_L1_BSS;

static uint32_t neureka_conf(uint32_t c) {
  const uint32_t kind = c & 3u, norm = (c >> 5) & 1u, shift = (c >> 6) & 31u, relu = (c >> 11) & 1u;
  const uint32_t scale32 = (c >> 13) & 1u, in_signed = (c >> 14) & 1u;
  uint32_t r = NEUREKA_CONF_WBITS(((c >> 2) & 7u) + 1u) | NEUREKA_CONF_WOFFS_LAYER;
  r |= kind == 0 ? NEUREKA_CONF_MODE_1X1 : (kind == 1 ? NEUREKA_CONF_MODE_3X3 : NEUREKA_CONF_MODE_DW);
  if (norm) {
    r |= NEUREKA_CONF_NORM_QUANT | NEUREKA_CONF_NORM_BIAS | NEUREKA_CONF_SHIFT(shift);
    if (scale32) r |= NEUREKA_CONF_NORM_32BIT;
    if (!relu) r |= NEUREKA_CONF_IDENTITY;
  } else {
    r |= NEUREKA_CONF_QUANT_32BIT | NEUREKA_CONF_IDENTITY;
  }
  if (in_signed) r |= NEUREKA_CONF_INPUT_SIGNED;
  if (c & HAL_NEUREKA_CONF_WMEM) r |= NEUREKA_CONF_WSRC_WMEM;
  return r;
}

static inline uint32_t neureka_swap_halves(uint32_t v) { return (v << 16) | (v >> 16); }

/* Queue one job (24 registers) and return; the queue takes 2, acquire spins while it is full. */
static void neureka_push(const uint32_t *regs) {
  __asm__ volatile("" ::: "memory");
  /* a free slot: acquire returns the job id, or a value >= 256 while the queue is full */
  while (SIR_REG32(NEUREKA_ACQUIRE) >= 256u) {
  }
  for (int i = 0; i < NEUREKA_NB_REGS; i++) SIR_REG32(NEUREKA_JOB_REG(i)) = regs[i];
  SIR_REG32(NEUREKA_TRIGGER) = 0u;
  neureka_jobs++;
}

/* The part of the job's output rows [r0, r0+nr) x columns [c0, c0+nc) as one engine job. `origin` is the
 * input address of the padded origin; the part pads on the sides where it touches the job's border. */
static void neureka_part(uint32_t *regs, const hal_neureka_job_t *j, uint32_t origin, uint32_t taps_1,
                         uint32_t r0, uint32_t nr, uint32_t c0, uint32_t nc, uint32_t oh, uint32_t ow) {
  const uint32_t pad = j->padding;
  const uint32_t ptop = r0 == 0u ? (pad >> 28) & 15u : 0u, pright = c0 + nc == ow ? (pad >> 24) & 15u : 0u;
  const uint32_t pbot = r0 + nr == oh ? (pad >> 20) & 15u : 0u, pleft = c0 == 0u ? (pad >> 16) & 15u : 0u;
  const uint32_t nbh = (nr + 5u) / 6u, nbw = (nc + 5u) / 6u;
  const uint32_t rh = nr - (nbh - 1u) * 6u, rw = nc - (nbw - 1u) * 6u;
  regs[1] = origin + r0 * j->infeat_d1 + c0 * j->infeat_d0;
  regs[2] = (uint32_t)(uintptr_t)j->outfeat + r0 * j->outfeat_d1 + c0 * j->outfeat_d0;
  regs[16] = (rh << 16) | rw;
  regs[17] = ((rh + taps_1 - pbot) << 16) | (rw + taps_1 - pright);
  regs[19] = (nbh << 16) | nbw;
  regs[20] = (ptop << 28) | (pright << 24) | (pbot << 20) | (pleft << 16) | (pad & 0xffffu);
  neureka_push(regs);
}

void hal_neureka_job(const hal_neureka_job_t *j) {
  if (!neureka_open) {
    SIR_REG32(NEUREKA_HCI_CTRL) = NEUREKA_HCI_PRIO | NEUREKA_MAX_STALL;
    neureka_open = 1;
  }
  const uint32_t pt = (j->padding >> 28) & 15u, pr = (j->padding >> 24) & 15u, pb = (j->padding >> 20) & 15u,
                 pl = (j->padding >> 16) & 15u;
  const uint32_t wmem = (j->conf0 & HAL_NEUREKA_CONF_WMEM) != 0u;
  const uint32_t w = (uint32_t)(uintptr_t)j->weights;
  const uint32_t taps_1 = (j->conf0 & 3u) == 0u ? 0u : 2u; /* kernel size - 1 */
  const uint32_t nho = j->subtile_nb1 & 0xffffu, nwo = j->subtile_nb1 >> 16;
  const uint32_t oh = (nho - 1u) * 6u + (j->subtile_rem1 & 0xffffu), ow = (nwo - 1u) * 6u + (j->subtile_rem1 >> 16);
  const uint32_t origin = (uint32_t)(uintptr_t)j->infeat - pt * j->infeat_d1 - pl * j->infeat_d0;
  uint32_t regs[NEUREKA_NB_REGS];
  regs[0] = wmem ? w - NEUREKA_WMEM_BASE : w;
  regs[3] = (uint32_t)(uintptr_t)j->scale;
  regs[4] = (uint32_t)(uintptr_t)j->scale_shift;
  regs[5] = (uint32_t)(uintptr_t)j->scale_bias;
  regs[6] = j->infeat_d0;
  regs[7] = j->infeat_d1;
  regs[8] = j->infeat_d2;
  regs[9] = 32u;
  regs[10] = j->outfeat_d0;
  regs[11] = j->outfeat_d1;
  regs[12] = 32u;
  regs[13] = j->weights_d1;
  regs[14] = j->weights_d2;
  regs[15] = neureka_swap_halves(j->subtile_rem0);
  regs[18] = neureka_swap_halves(j->subtile_nb0);
  regs[21] = (uint32_t)j->weight_offset;
  regs[22] = j->filter_mask;
  regs[23] = neureka_conf(j->conf0);
  /* The engine pads the right (bottom) side only in the last column (row) of subtiles: the 8-wide input
   * window of an earlier subtile reads memory where the padding should be when the last subtile has
   * fewer output columns than the right padding. Such a job runs as two parts per direction: all but
   * the last `padding` columns (no right padding), then those columns as one subtile. */
  const uint32_t split_h = nho > 1u && (oh - (nho - 1u) * 6u) < pb, split_w = nwo > 1u && (ow - (nwo - 1u) * 6u) < pr;
  if (!split_h && !split_w) {
    /* the usual case: one engine job, its subtile counts and remainders as the job gives them (no divisions, and
     * neureka_part's code is not fetched) */
    const uint32_t rh = j->subtile_rem1 & 0xffffu, rw = j->subtile_rem1 >> 16;
    regs[1] = origin;
    regs[2] = (uint32_t)(uintptr_t)j->outfeat;
    regs[16] = (rh << 16) | rw;
    regs[17] = ((rh + taps_1 - pb) << 16) | (rw + taps_1 - pr);
    regs[19] = (nho << 16) | nwo;
    regs[20] = j->padding;
    neureka_push(regs);
  } else {
    const uint32_t h0 = split_h ? oh - pb : oh, w0 = split_w ? ow - pr : ow;
    neureka_part(regs, j, origin, taps_1, 0u, h0, 0u, w0, oh, ow);
    if (split_w) neureka_part(regs, j, origin, taps_1, 0u, h0, w0, ow - w0, oh, ow);
    if (split_h) neureka_part(regs, j, origin, taps_1, h0, oh - h0, 0u, w0, oh, ow);
    if (split_h && split_w) neureka_part(regs, j, origin, taps_1, h0, oh - h0, w0, ow - w0, oh, ow);
  }
  while (SIR_REG32(NEUREKA_STATUS) != 0u) {
  }
  __asm__ volatile("" ::: "memory");
}

uint64_t hal_neureka_job_count(void) { return neureka_jobs; }
