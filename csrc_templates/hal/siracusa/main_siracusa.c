/* Siracusa (GVSoC) harness: the fabric controller copies the inputs baked into the image
 * (inputs_data.c, written by the gvsoc runner: the simulator has no file I/O) into the network's input
 * buffers, offloads network_init + network_run to cluster core 0, then prints every output as hex lines
 * and the cycle counts (cluster clock), and returns 0.
 * Output protocol (parsed by torch_deeploy/runners/gvsoc.py), one line each:
 *   OUT <i> <hex bytes>      (an output may span several lines; they concatenate in order)
 *   PERF total <cycles> | PERF layer <l> <cycles> | PERF kernel <l> <cycles in kernels>
 *   PERF dma_to_l1 <bytes> | PERF dma_to_l2 <bytes> | PERF dma_tables <bytes>
 *   DONE */
#include <stdint.h>
#include <string.h>

#include "deeploy_hal.h"
#include "network.h"
#include "siracusa.h"

extern const uint8_t deeploy_inputs[];
extern const uint32_t deeploy_inputs_bytes;

#ifndef DEEPLOY_REPEAT
#define DEEPLOY_REPEAT 1
#endif

static volatile uint64_t total_cycles;

static void cluster_entry(void *arg) {
  (void)arg;
  network_init();
  uint64_t t0 = hal_cycles();
  for (int r = 0; r < DEEPLOY_REPEAT; r++) network_run();
  total_cycles = (hal_cycles() - t0) / DEEPLOY_REPEAT;
}

static void put_str(const char *s) {
  while (*s) sir_putc(*s++);
}

static void put_u64(uint64_t v) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v);
  while (n) sir_putc(buf[--n]);
}

static void put_perf(const char *what, int index, uint64_t v) {
  put_str("PERF ");
  put_str(what);
  sir_putc(' ');
  if (index >= 0) {
    put_u64((uint64_t)index);
    sir_putc(' ');
  }
  put_u64(v);
  sir_putc('\n');
}

int main(void) {
  static const char hex[] = "0123456789abcdef";
  uint32_t pos = 0;
  for (int i = 0; i < NETWORK_NUM_INPUTS; i++) {
    memcpy(network_input_ptr[i], deeploy_inputs + pos, network_input_bytes[i]);
    pos += network_input_bytes[i];
  }
  if (pos != deeploy_inputs_bytes) {
    put_str("ERROR input size mismatch\n");
    return 3;
  }
  sir_cluster_run(cluster_entry, 0);
  for (int i = 0; i < NETWORK_NUM_OUTPUTS; i++) {
    const uint8_t *p = (const uint8_t *)network_output_ptr[i];
    uint32_t n = network_output_bytes[i];
    uint32_t k = 0;
    do {
      put_str("OUT ");
      put_u64((uint64_t)i);
      sir_putc(' ');
      for (uint32_t e = k + 256u < n ? k + 256u : n; k < e; k++) {
        sir_putc(hex[p[k] >> 4]);
        sir_putc(hex[p[k] & 15u]);
      }
      sir_putc('\n');
    } while (k < n);
  }
  put_perf("total", -1, total_cycles);
  for (int l = 0; l < NETWORK_NUM_LAYERS; l++) put_perf("layer", l, network_layer_cycles[l]);
  for (int l = 0; l < NETWORK_NUM_LAYERS; l++) put_perf("kernel", l, network_layer_kernel_cycles[l]);
  uint64_t to_l1 = 0, to_l2 = 0;
  hal_dma_stats(&to_l1, &to_l2);
  put_perf("dma_to_l1", -1, to_l1);
  put_perf("dma_to_l2", -1, to_l2);
  put_perf("dma_tables", -1, hal_dma_table_bytes());
  put_str("DONE\n");
  return 0;
}
