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
static uint64_t dma_to_l1 = 0, dma_to_l2 = 0, dma_tables = 0;

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

void hal_dma_table(void *l1, const void *l2, uint32_t bytes) {
  if (!inside(HAL_MEM_L1, (const uint8_t *)l1, bytes)) {
    fprintf(stderr, "hal: table DMA outside the planned L1 (l1=%p, %u B)\n", l1, (unsigned)bytes);
    abort();
  }
  memcpy(l1, l2, bytes);
  dma_tables += bytes;
}

uint64_t hal_dma_table_bytes(void) { return dma_tables; }

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

void hal_check_fail(const char *what) {
  fprintf(stderr, "hal: %s\n", what);
  abort();
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

uint32_t hal_ticks(void) { return (uint32_t)hal_cycles(); }

/* ---- N-EUREKA functional model (host) ------------------------------------------------------------
 * Executes one job bit-exactly as SIRACUSA.md section 2 documents the engine: unsigned bit-serial
 * weights plus the layer's weight offset, 32-bit accumulation (padding reads 0), then optionally the
 * normalization/quantization unit (per-output-channel scale and bias, one arithmetic right shift,
 * ReLU, saturation to 8 bits). Before computing, every job field is checked for the consistency the
 * chip relies on (geometry vs subtile counts, strides, padding, operand placement); a bad job aborts. */
static uint64_t neureka_jobs = 0;

static void neureka_fail(const char *what) {
  fprintf(stderr, "hal: bad N-EUREKA job: %s\n", what);
  abort();
}

static uint32_t neureka_wbit(const uint8_t *w, uint32_t byte, uint32_t bit) { return (w[byte] >> bit) & 1u; }

void hal_neureka_job(const hal_neureka_job_t *j) {
  const uint32_t kind = j->conf0 & 3u, norm = (j->conf0 >> 5) & 1u, shift = (j->conf0 >> 6) & 31u;
  const uint32_t relu = (j->conf0 >> 11) & 1u, out8 = (j->conf0 >> 12) & 1u, scale32 = (j->conf0 >> 13) & 1u;
  const uint32_t in_signed = (j->conf0 >> 14) & 1u, out_signed = (j->conf0 >> 15) & 1u;
  const int wmem = (j->conf0 & HAL_NEUREKA_CONF_WMEM) != 0;
  if (kind > 2) neureka_fail("kind");
  if (((j->conf0 >> 2) & 7u) != 7u) neureka_fail("only 8-bit weights are modelled");
  const uint32_t blk = kind == 0 ? 32u : 28u;
  const uint32_t nko = j->subtile_nb0 & 0xffffu, nki = j->subtile_nb0 >> 16;
  const uint32_t nho = j->subtile_nb1 & 0xffffu, nwo = j->subtile_nb1 >> 16;
  const uint32_t rko = j->subtile_rem0 & 0xffffu, rki = j->subtile_rem0 >> 16;
  const uint32_t rho = j->subtile_rem1 & 0xffffu, rwo = j->subtile_rem1 >> 16;
  const uint32_t rhi = j->subtile_rem2 & 0xffffu, rwi = j->subtile_rem2 >> 16;
  if (!nko || !nki || !nho || !nwo) neureka_fail("zero subtile count");
  /* output-channel blocks: 32, except depthwise (28, the input blocks: the engine needs nb/rem ko == ki) */
  const uint32_t kblk = kind == 2 ? 28u : 32u;
  if (rko < 1 || rko > kblk || rki < 1 || rki > blk || rho > 6 || rwo > 6) neureka_fail("subtile remainder");
  if (kind == 2 && (nko != nki || rko != rki)) neureka_fail("depthwise subtile counts differ for ko and ki");
  const uint32_t cout = (nko - 1) * kblk + rko, cin = (nki - 1) * blk + rki;
  const uint32_t oh = (nho - 1) * 6 + rho, ow = (nwo - 1) * 6 + rwo;
  const uint32_t pt = (j->padding >> 28) & 15u, pr = (j->padding >> 24) & 15u, pb = (j->padding >> 20) & 15u,
                 pl = (j->padding >> 16) & 15u;
  /* the last input subtile's extent is counted from its start in padded coordinates */
  if ((nho - 1) * 6 + rhi < pt || (nwo - 1) * 6 + rwi < pl) neureka_fail("input subtile remainders");
  const uint32_t hin = (nho - 1) * 6 + rhi - pt, win = (nwo - 1) * 6 + rwi - pl;
  if ((j->padding & 0xffffu) != 0) neureka_fail("only padding value 0 is used");
  if (pt > 2 || pr > 2 || pb > 2 || pl > 2) neureka_fail("padding above 2");
  if (kind == 0) {
    if (pt || pr || pb || pl || hin != oh || win != ow) neureka_fail("1x1 geometry");
  } else if (hin + pt + pb != oh + 2 || win + pl + pr != ow + 2) {
    neureka_fail("3x3 input subtile remainders do not match the output and padding");
  }
  if (kind == 2 && cin != cout) neureka_fail("depthwise with cin != cout");
  const uint32_t ob = out8 ? 1u : 4u;
  if (j->infeat_d0 != cin || j->infeat_d1 != cin * win || j->infeat_d2 != 0) neureka_fail("input strides");
  if (j->outfeat_d0 != cout * ob || j->outfeat_d1 != cout * ob * ow || j->outfeat_d2 != 0) neureka_fail("output strides");
  const uint32_t wd0 = kind == 0 ? 32u : 256u;
  if (j->weights_d0 != wd0 || j->weights_d1 != (kind == 2 ? 0u : nki * wd0) || j->weights_d2 != 0)
    neureka_fail("weight strides");
  if (!norm && (out8 || relu)) neureka_fail("8-bit output or ReLU without normalization");
  if (norm && !out8) neureka_fail("normalized output must be 8-bit");
  /* the engine saturates to [0, 255] with ReLU and to [-128, 127] without: no other combination */
  if (norm && relu == out_signed) neureka_fail("ReLU must go with unsigned output (and no ReLU with signed)");
  if (j->filter_mask != 0) neureka_fail("filter mask");
  const uint32_t wbytes = kind == 2 ? nki * 256u : cout * nki * wd0;
  if (!inside(HAL_MEM_L1, (const uint8_t *)j->infeat, (uint64_t)cin * hin * win)) neureka_fail("input not in L1");
  if (!inside(HAL_MEM_L1, (const uint8_t *)j->outfeat, (uint64_t)cout * ob * oh * ow)) neureka_fail("output not in L1");
  if (!inside(wmem ? HAL_MEM_WMEM : HAL_MEM_L1, (const uint8_t *)j->weights, wbytes))
    neureka_fail(wmem ? "weights not in weight memory" : "weights not in L1");
  if (norm && (!inside(HAL_MEM_L1, (const uint8_t *)j->scale, (uint64_t)cout * (scale32 ? 4u : 1u)) ||
               !inside(HAL_MEM_L1, (const uint8_t *)j->scale_bias, (uint64_t)cout * 4u)))
    neureka_fail("scale/bias not in L1");
  neureka_jobs++;
  const uint8_t *w = (const uint8_t *)j->weights;
  const uint32_t taps = kind == 0 ? 1u : 9u;
  const uint32_t nw = kind == 2 ? taps : cin * taps;
  int32_t *wq = (int32_t *)malloc(sizeof(int32_t) * (nw ? nw : 1));
  if (!wq) neureka_fail("out of host memory");
  for (uint32_t co = 0; co < cout; co++) {
    /* unpack this output channel's unsigned weights from their bit planes */
    for (uint32_t i = 0; i < nw; i++) {
      const uint32_t ci = kind == 2 ? co : i / taps, t = i % taps;
      uint32_t v = 0;
      for (uint32_t b = 0; b < 8; b++) {
        if (kind == 0) { /* 8 groups of 4 channels; in a group, plane b of channel c at bit 4b + c */
          const uint32_t c = ci % 32u, p = (c / 4u) * 32u + b * 4u + c % 4u;
          v |= neureka_wbit(w, co * j->weights_d1 + (ci / 32u) * 32u + p / 8u, p % 8u) << b;
        } else { /* tap-major: tap t, channel c at bit 28t + c of the plane's word */
          const uint32_t p = t * 28u + ci % 28u;
          const uint32_t base = (kind == 2 ? 0u : co * j->weights_d1) + (ci / 28u) * 256u;
          v |= neureka_wbit(w, base + b * 32u + p / 8u, p % 8u) << b;
        }
      }
      wq[i] = (int32_t)v;
    }
    for (uint32_t y = 0; y < oh; y++)
      for (uint32_t x = 0; x < ow; x++) {
        int32_t acc = 0, xsum = 0;
        for (uint32_t t = 0; t < taps; t++) {
          const int32_t iy = (int32_t)y + (kind ? (int32_t)(t / 3u) - (int32_t)pt : 0);
          const int32_t ix = (int32_t)x + (kind ? (int32_t)(t % 3u) - (int32_t)pl : 0);
          if (iy < 0 || ix < 0 || iy >= (int32_t)hin || ix >= (int32_t)win) continue; /* padding value 0 */
          const uint8_t *px = (const uint8_t *)j->infeat + (uint32_t)iy * j->infeat_d1 + (uint32_t)ix * j->infeat_d0;
          const uint32_t c0 = kind == 2 ? co : 0u, c1 = kind == 2 ? co + 1u : cin;
          for (uint32_t ci = c0; ci < c1; ci++) {
            const int32_t a = in_signed ? (int32_t)(int8_t)px[ci] : (int32_t)px[ci];
            acc += wq[kind == 2 ? t : ci * taps + t] * a;
            xsum += a;
          }
        }
        acc += j->weight_offset * xsum;
        uint8_t *dst = (uint8_t *)j->outfeat + y * j->outfeat_d1 + x * j->outfeat_d0;
        if (!norm) {
          memcpy(dst + co * 4u, &acc, 4);
          continue;
        }
        const int64_t sc = scale32 ? (int64_t)((const int32_t *)j->scale)[co] : (int64_t)((const uint8_t *)j->scale)[co];
        int64_t v = ((int64_t)acc * sc + (int64_t)((const int32_t *)j->scale_bias)[co]) >> shift;
        if (relu && v < 0) v = 0;
        v = out_signed ? hal_clip64(v, -128, 127) : hal_clip64(v, 0, 255);
        dst[co] = (uint8_t)(out_signed ? (uint8_t)(int8_t)v : (uint8_t)v);
      }
  }
  free(wq);
}

uint64_t hal_neureka_job_count(void) { return neureka_jobs; }
