/* Host test harness: reads the inputs (graph order, storage types, concatenated) from a file, runs the
 * network, writes the outputs the same way, and optionally compares them with expected outputs
 * (integers exactly, floats within 1e-4) and writes per-layer timings.
 * usage: network INPUTS.bin OUTPUTS.bin [--expect EXPECTED.bin] [--perf PERF.txt] [--repeat N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deeploy_hal.h"
#include "network.h"

static int read_exact(FILE *f, void *dst, size_t n) { return n == 0 || fread(dst, 1, n, f) == n; }

static double element(const uint8_t *p, int kind, size_t i) {
  switch (kind) {
    case NETWORK_KIND_I8: return ((const int8_t *)p)[i];
    case NETWORK_KIND_U8: return ((const uint8_t *)p)[i];
    case NETWORK_KIND_I16: return ((const int16_t *)p)[i];
    case NETWORK_KIND_U16: return ((const uint16_t *)p)[i];
    case NETWORK_KIND_I32: return ((const int32_t *)p)[i];
    case NETWORK_KIND_I64: return (double)((const int64_t *)p)[i];
    default: return ((const float *)p)[i];
  }
}

/* Persistent session (network --session): the arena and every buffer in it, including state written in
 * place such as a KV cache, survive between steps. Each step reads a header of two uint32 masks (inputs
 * supplied, outputs wanted), then the supplied inputs' bytes; it runs the network and writes the run time
 * (uint64, ns) and the wanted outputs' bytes to stdout. End of input ends the session. */
static int session(void) {
  network_init();
  for (;;) {
    uint32_t masks[2];
    if (fread(masks, sizeof masks, 1, stdin) != 1) return 0;
    for (int i = 0; i < NETWORK_NUM_INPUTS; i++)
      if ((masks[0] >> i) & 1u)
        if (!read_exact(stdin, network_input_ptr[i], network_input_bytes[i])) return 2;
    uint64_t t0 = hal_cycles();
    network_run();
    uint64_t dt = hal_cycles() - t0;
    if (fwrite(&dt, sizeof dt, 1, stdout) != 1) return 2;
    for (int i = 0; i < NETWORK_NUM_OUTPUTS; i++)
      if (((masks[1] >> i) & 1u) && network_output_bytes[i] &&
          fwrite(network_output_ptr[i], 1, network_output_bytes[i], stdout) != network_output_bytes[i])
        return 2;
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  const char *expect = NULL, *perf = NULL;
  long repeat = 1;
  if (argc == 2 && !strcmp(argv[1], "--session")) return session();
  if (argc < 3) {
    fprintf(stderr, "usage: %s INPUTS.bin OUTPUTS.bin [--expect EXPECTED.bin] [--perf PERF.txt] [--repeat N]\n", argv[0]);
    return 2;
  }
  for (int a = 3; a + 1 < argc; a += 2) {
    if (!strcmp(argv[a], "--expect")) expect = argv[a + 1];
    else if (!strcmp(argv[a], "--perf")) perf = argv[a + 1];
    else if (!strcmp(argv[a], "--repeat")) repeat = strtol(argv[a + 1], NULL, 10);
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  for (int i = 0; i < NETWORK_NUM_INPUTS; i++) {
    if (!read_exact(f, network_input_ptr[i], network_input_bytes[i])) {
      fprintf(stderr, "%s: too short for input %d (%u bytes)\n", argv[1], i, (unsigned)network_input_bytes[i]);
      fclose(f);
      return 2;
    }
  }
  fclose(f);
  network_init();
  uint64_t t0 = hal_cycles();
  for (long r = 0; r < (repeat > 0 ? repeat : 1); r++) network_run();
  uint64_t total = hal_cycles() - t0;
  FILE *o = fopen(argv[2], "wb");
  if (!o) { perror(argv[2]); return 2; }
  for (int i = 0; i < NETWORK_NUM_OUTPUTS; i++) {
    if (network_output_bytes[i] && fwrite(network_output_ptr[i], 1, network_output_bytes[i], o) != network_output_bytes[i]) {
      perror(argv[2]);
      fclose(o);
      return 2;
    }
  }
  fclose(o);
  if (perf) {
    FILE *p = fopen(perf, "w");
    if (!p) { perror(perf); return 2; }
    fprintf(p, "total %llu\n", (unsigned long long)(total / (uint64_t)(repeat > 0 ? repeat : 1)));
    for (int l = 0; l < NETWORK_NUM_LAYERS; l++) fprintf(p, "layer %d %llu\n", l, (unsigned long long)network_layer_cycles[l]);
    for (int l = 0; l < NETWORK_NUM_LAYERS; l++)
      fprintf(p, "kernel %d %llu\n", l, (unsigned long long)network_layer_kernel_cycles[l]);
    uint64_t to_l1 = 0, to_l2 = 0;
    hal_dma_stats(&to_l1, &to_l2);
    fprintf(p, "dma_to_l1 %llu\ndma_to_l2 %llu\ndma_tables %llu\n", (unsigned long long)to_l1, (unsigned long long)to_l2,
            (unsigned long long)hal_dma_table_bytes());
    fclose(p);
  }
  if (expect) {
    FILE *e = fopen(expect, "rb");
    if (!e) { perror(expect); return 2; }
    size_t errors = 0, total_elems = 0;
    for (int i = 0; i < NETWORK_NUM_OUTPUTS; i++) {
      size_t n = network_output_bytes[i];
      uint8_t *want = malloc(n ? n : 1);
      if (!want || !read_exact(e, want, n)) { fprintf(stderr, "%s: too short\n", expect); free(want); fclose(e); return 2; }
      size_t count = network_output_elems[i];
      for (size_t k = 0; k < count; k++) {
        double g = element((const uint8_t *)network_output_ptr[i], network_output_kind[i], k);
        double w = element(want, network_output_kind[i], k);
        int bad = network_output_kind[i] == NETWORK_KIND_F32 ? !(fabs(g - w) <= 1e-4) : g != w;
        errors += bad;
      }
      total_elems += count;
      free(want);
    }
    fclose(e);
    printf("Errors: %zu out of %zu\n", errors, total_elems);
    return errors ? 1 : 0;
  }
  return 0;
}
