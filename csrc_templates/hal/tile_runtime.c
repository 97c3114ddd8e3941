/* Tiled execution of one layer: DMA each tile's boxes into L1 slots, run the kernel on all cores, DMA
 * the output box back. Double-buffered: while the cores compute tile t, the DMA fetches the inputs of
 * tile t+1 and drains the output of tile t-1. Runs on core 0; kernels are forked to the team. */
#include "tile_runtime.h"

#include "deeploy_hal.h"

#ifdef HAL_CHECK_ARENA
static uint32_t copy_bytes(const hal_copy_t *c) {
  return c->count[0] * c->count[1] * c->count[2] * c->rows * c->row_bytes;
}
#endif

static void move_box(uint8_t *l1, uint8_t *home, uint32_t offset, const hal_copy_t *c, int to_l1) {
  if (!c->rows || !c->row_bytes) return;
  uint32_t block = c->rows * c->row_bytes;
  for (uint32_t a = 0; a < c->count[0]; a++)
    for (uint32_t b = 0; b < c->count[1]; b++)
      for (uint32_t d = 0; d < c->count[2]; d++) {
        uint8_t *ext = home + offset + a * c->stride[0] + b * c->stride[1] + d * c->stride[2];
        hal_dma_2d(l1, ext, c->rows, c->row_bytes, c->row_stride, to_l1);
        l1 += block;
      }
}

/* Issue the transfers of tile t for operands selected by `which` (0: per-tile inputs, 1: once-loaded
 * inputs, 2: outputs) using buffer slot `slot`. */
static void transfer(const tiled_layer_t *L, uint8_t *l1, uint32_t t, int slot, int which) {
  const uint32_t *row = L->tiles + t * (1u + L->n_ops);
  const hal_copy_t *copies = L->copies + row[0] * L->n_ops;
  for (uint32_t i = 0; i < L->n_ops; i++) {
    const tile_operand_t *op = &L->ops[i];
    if (op->mode == TILE_RESIDENT || op->mode == TILE_IN_PLACE) continue;
    int kind = op->output ? 2 : (op->mode == TILE_ONCE ? 1 : 0);
    if (kind != which) continue;
    move_box(l1 + op->l1[op->mode == TILE_ONCE ? 0 : slot], op->home, row[1 + i], &copies[i], !op->output);
  }
}

static void compute(const tiled_layer_t *L, uint8_t *l1, uint32_t t, int slot) {
  void *args[TILE_MAX_OPERANDS];
  const uint32_t *row = L->tiles + t * (1u + L->n_ops);
  for (uint32_t i = 0; i < L->n_ops; i++) {
    const tile_operand_t *op = &L->ops[i];
    args[i] = op->mode == TILE_IN_PLACE ? op->home + row[1 + i]
                                        : l1 + op->l1[op->mode == TILE_PER_TILE || op->output ? slot : 0];
  }
#ifdef HAL_CHECK_ARENA
  uint32_t bytes[TILE_MAX_OPERANDS];
  const hal_copy_t *copies = L->copies + row[0] * L->n_ops;
  for (uint32_t i = 0; i < L->n_ops; i++) bytes[i] = copy_bytes(&copies[i]);
  hal_check_begin(args, bytes, L->n_ops);
#endif
  hal_fork(L->kernels[row[0]], args);
#ifdef HAL_CHECK_ARENA
  hal_check_end();
#endif
}

void tile_run_layer(const tiled_layer_t *L, uint8_t *l1) {
  uint32_t n = L->n_tiles;
  transfer(L, l1, 0, 0, 1);
  transfer(L, l1, 0, 0, 0);
  hal_dma_wait_all();
  if (!L->double_buffer) {
    for (uint32_t t = 0; t < n; t++) {
      if (t > 0) {
        transfer(L, l1, t, 0, 0);
        hal_dma_wait_all();
      }
      compute(L, l1, t, 0);
      transfer(L, l1, t, 0, 2);
      hal_dma_wait_all();
    }
    return;
  }
  for (uint32_t t = 0; t < n; t++) {
    int slot = (int)(t & 1u);
    if (t + 1 < n) transfer(L, l1, t + 1, slot ^ 1, 0); /* prefetch the next tile's inputs */
    if (t > 0) transfer(L, l1, t - 1, slot ^ 1, 2);     /* drain the previous tile's output */
    compute(L, l1, t, slot);
    hal_dma_wait_all();
  }
  transfer(L, l1, n - 1, (int)((n - 1) & 1u), 2);
  hal_dma_wait_all();
}
