/* Tiled execution of one layer: DMA each tile's boxes into L1 slots, run the kernel on all cores, DMA
 * the output box back. Double-buffered: while the cores compute tile t, the DMA fetches the inputs of
 * tile t+1 and drains the output of tile t-1. Runs on core 0; kernels are forked to the team.
 *
 * The loop runs once per tile for every layer of the network, so its fixed cost matters next to small
 * kernels: the layer's tables are read from an L1 copy (prefetched during the previous layer) and the
 * per-operand work is decided once per layer (which operands move, in which direction). */
#include "tile_runtime.h"

#include "deeploy_hal.h"

/* Read by every layer's tile loop: in L1 (an L2 load costs about 18 cycles on GVSoC's Siracusa). */
HAL_L1_DATA static uint8_t *slot_base;
HAL_L1_DATA static uint32_t slot_size;
HAL_L1_DATA static const tile_layer_t *slot_owner[2]; /* the layer whose tables each slot holds */

void tile_runtime_init(uint8_t *slots, uint32_t slot_bytes) {
  slot_base = slots;
  slot_size = slot_bytes;
  slot_owner[0] = slot_owner[1] = 0;
}

#define AT(L, off, type) ((const type *)((const uint8_t *)(L) + (L)->off))

/* One layer's decoded tables (pointers into the L1 or L2 copy) and the operand lists per transfer kind. */
typedef void (*tile_task_t)(void *);
typedef void *tile_arg_t;

typedef struct {
  const tile_layer_t *L;
  const tile_operand_t *ops;
  const uint32_t *tiles;
  const hal_copy_t *copies;
  const tile_task_t *kernels;
  uint32_t n_ops;
  uint8_t list[3][TILE_MAX_OPERANDS]; /* operand indices: 0 per-tile inputs, 1 once-loaded inputs, 2 outputs */
  uint8_t n_list[3];
} layer_view_t;

#ifdef HAL_CHECK_ARENA
static uint32_t copy_bytes(const hal_copy_t *c) {
  return c->count[0] * c->count[1] * c->count[2] * c->rows * c->row_bytes;
}
#endif

static void move_box(uint8_t *l1, uint8_t *home, uint32_t offset, const hal_copy_t *c, int to_l1) {
  const uint32_t rows = c->rows, row_bytes = c->row_bytes, row_stride = c->row_stride;
  if (!rows || !row_bytes) return;
  home += offset;
  if (c->count[0] == 1 && c->count[1] == 1 && c->count[2] == 1) {
    hal_dma_2d(l1, home, rows, row_bytes, row_stride, to_l1);
    return;
  }
  const uint32_t block = rows * row_bytes;
  for (uint32_t a = 0; a < c->count[0]; a++)
    for (uint32_t b = 0; b < c->count[1]; b++)
      for (uint32_t d = 0; d < c->count[2]; d++) {
        hal_dma_2d(l1, home + a * c->stride[0] + b * c->stride[1] + d * c->stride[2], rows, row_bytes, row_stride,
                   to_l1);
        l1 += block;
      }
}

/* Issue the transfers of tile t for the operands of list `which` using buffer slot `slot`. */
static void transfer(const layer_view_t *v, uint8_t *l1, uint32_t t, uint32_t slot, int which) {
  const uint32_t *row = v->tiles + t * (1u + v->n_ops);
  const hal_copy_t *copies = v->copies + row[0] * v->n_ops;
  for (uint32_t k = 0; k < v->n_list[which]; k++) {
    const uint32_t i = v->list[which][k];
    const tile_operand_t *op = &v->ops[i];
    move_box(l1 + op->l1[which == 1 ? 0u : slot], op->home, row[1 + i], &copies[i], which != 2);
  }
}

static uint32_t compute(const layer_view_t *v, uint8_t *l1, uint32_t t, uint32_t slot) {
  void *args[TILE_MAX_OPERANDS];
  const uint32_t *row = v->tiles + t * (1u + v->n_ops);
  for (uint32_t i = 0; i < v->n_ops; i++) {
    const tile_operand_t *op = &v->ops[i];
    args[i] = op->mode == TILE_IN_PLACE ? op->home + row[1 + i]
                                        : l1 + op->l1[op->mode == TILE_PER_TILE || op->output ? slot : 0u];
  }
  const tile_task_t kernel = v->kernels[row[0]];
#ifdef HAL_CHECK_ARENA
  uint32_t bytes[TILE_MAX_OPERANDS];
  const hal_copy_t *copies = v->copies + row[0] * v->n_ops;
  for (uint32_t i = 0; i < v->n_ops; i++) bytes[i] = copy_bytes(&copies[i]);
  hal_check_begin(args, bytes, v->n_ops);
#endif
  const uint32_t t0 = hal_ticks();
  hal_fork(kernel, args);
  const uint32_t spent = hal_ticks() - t0;
#ifdef HAL_CHECK_ARENA
  hal_check_end();
#endif
  return spent;
}

/* The copy of L's tables to read: a slot that holds it, else L itself (in L2). */
static const tile_layer_t *tables_of(const tile_layer_t *L, uint32_t *slot_in_use) {
  for (uint32_t s = 0; s < 2; s++)
    if (slot_owner[s] == L) {
      *slot_in_use = s;
      return (const tile_layer_t *)(slot_base + s * slot_size);
    }
  *slot_in_use = 2;
  return L;
}

/* The pointers into L's tables. */
static void view(layer_view_t *v, const tile_layer_t *L) {
  v->L = L;
  v->n_ops = L->n_ops;
  v->ops = AT(L, ops, tile_operand_t);
  v->tiles = AT(L, tiles, uint32_t);
  v->copies = AT(L, copies, hal_copy_t);
  v->kernels = AT(L, kernels, tile_task_t);
}

/* The pointers, and the operand lists per transfer kind (what the tile loop needs). */
static void decode(layer_view_t *v, const tile_layer_t *L) {
  view(v, L);
  v->n_list[0] = v->n_list[1] = v->n_list[2] = 0;
  for (uint32_t i = 0; i < v->n_ops; i++) {
    const tile_operand_t *op = &v->ops[i];
    if (op->mode == TILE_RESIDENT || op->mode == TILE_IN_PLACE) continue;
    const int kind = op->output ? 2 : (op->mode == TILE_ONCE ? 1 : 0);
    v->list[kind][v->n_list[kind]++] = (uint8_t)i;
  }
}

/* The next layer's tables into the L1 slot this layer's tables do not use (in_use: this layer's slot, 2 for none);
 * they travel while this layer runs. */
static void prefetch_tables(const tile_layer_t *next, uint32_t bytes, uint32_t in_use) {
  if (next && slot_size) {
    const uint32_t s = in_use == 0 ? 1u : 0u;
    slot_owner[s] = next;
    hal_dma_table(slot_base + s * slot_size, next, bytes);
  }
}

/* A single-tile layer from its resolved plan. Under HAL_CHECK_ARENA (host runner) the plan is checked against
 * the general tables first: the same kernel arguments the tile loop would pass. */
static uint32_t run_single(const layer_view_t *v, uint8_t *l1) {
  const tile_layer_t *L = v->L;
  void *const *args = AT(L, args, tile_arg_t);
  const tile_dma_t *d = AT(L, dma, tile_dma_t);
  const uint32_t n_in = L->n_dma_in, n_all = n_in + L->n_dma_out;
  for (uint32_t k = 0; k < n_in; k++) hal_dma_2d(d[k].l1, d[k].l2, d[k].rows, d[k].row_bytes, d[k].stride, 1);
  hal_dma_wait_all();
  const tile_task_t kernel = v->kernels[v->tiles[0]];
#ifdef HAL_CHECK_ARENA
  /* the tables live in the memories the check poisons: the kernel gets a copy of its arguments */
  uint32_t bytes[TILE_MAX_OPERANDS];
  void *copy[TILE_MAX_OPERANDS];
  for (uint32_t i = 0; i < v->n_ops; i++) {
    const tile_operand_t *op = &v->ops[i];
    void *want = op->mode == TILE_IN_PLACE ? op->home + v->tiles[1 + i] : l1 + op->l1[0];
    if (args[i] != want) hal_check_fail("single-tile plan: kernel argument differs from the tile tables");
    bytes[i] = copy_bytes(&v->copies[v->tiles[0] * v->n_ops + i]);
    copy[i] = args[i];
  }
  args = copy;
  hal_check_begin(args, bytes, v->n_ops);
#else
  (void)l1;
#endif
  const uint32_t t0 = hal_ticks();
  hal_fork(kernel, (void *)args);
  const uint32_t spent = hal_ticks() - t0;
#ifdef HAL_CHECK_ARENA
  hal_check_end();
#endif
  for (uint32_t k = n_in; k < n_all; k++) hal_dma_2d(d[k].l1, d[k].l2, d[k].rows, d[k].row_bytes, d[k].stride, 0);
  hal_dma_wait_all();
  return spent;
}

uint32_t tile_run_layer(const tile_layer_t *layer, uint8_t *l1, const tile_layer_t **following) {
  uint32_t in_use;
  const tile_layer_t *T = tables_of(layer, &in_use);
  *following = T->following;
  /* first in the DMA queue: measured faster than behind the inputs */
  prefetch_tables(T->prefetch, T->prefetch_bytes, in_use);
  layer_view_t v;
  if (T->args) {
    view(&v, T);
    return run_single(&v, l1);
  }
  decode(&v, T);
  const uint32_t n = v.L->n_tiles;
  uint32_t kernel_cycles = 0;
  transfer(&v, l1, 0, 0, 1);
  transfer(&v, l1, 0, 0, 0);
  hal_dma_wait_all();
  if (!v.L->double_buffer) {
    for (uint32_t t = 0; t < n; t++) {
      if (t > 0) {
        transfer(&v, l1, t, 0, 0);
        hal_dma_wait_all();
      }
      kernel_cycles += compute(&v, l1, t, 0);
      transfer(&v, l1, t, 0, 2);
      hal_dma_wait_all();
    }
    return kernel_cycles;
  }
  for (uint32_t t = 0; t < n; t++) {
    const uint32_t slot = t & 1u;
    if (t + 1 < n) transfer(&v, l1, t + 1, slot ^ 1u, 0); /* prefetch the next tile's inputs */
    if (t > 0) transfer(&v, l1, t - 1, slot ^ 1u, 2);     /* drain the previous tile's output */
    kernel_cycles += compute(&v, l1, t, slot);
    hal_dma_wait_all();
  }
  transfer(&v, l1, n - 1, (n - 1) & 1u, 2);
  hal_dma_wait_all();
  return kernel_cycles;
}
