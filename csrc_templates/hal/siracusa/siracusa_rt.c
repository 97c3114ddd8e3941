/* Minimal Siracusa runtime for bare-metal programs on GVSoC: picolibc stdio on the GVSoC stdout
 * peripheral, exit() through CORESTATUS, a trap report, and the cluster start / team fork.
 *
 * Cluster model: the FC turns the cluster instruction caches on, writes every core's boot address and
 * enables fetch (sir_cluster_run). Each core programs the team barrier, then core 0 runs the entry
 * function while the others wait at the barrier for work: sir_team_fork() publishes (fn, arg), meets
 * them at the barrier, runs fn itself and meets them again. When the entry returns, core 0 releases the
 * workers with fn == NULL, all cores sleep, and core 0 raises a flag in L2 that the FC polls (there
 * are no data caches, so the read is never stale). */
#include <stdio.h>

#include "siracusa.h"

/* ---- stdio: every character goes to the calling core's stdout channel ---- */
static int sir_stdout_put(char c, FILE *f) {
  (void)f;
  sir_putc(c);
  return (unsigned char)c;
}
static FILE sir_stdio = FDEV_SETUP_STREAM(sir_stdout_put, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &sir_stdio;
FILE *const stdout = &sir_stdio;
FILE *const stderr = &sir_stdio;

/* picolibc's exit() ends here: the low 31 bits of status become GVSoC's exit status. */
void _exit(int status) { sir_exit((uint32_t)status); }

/* Status for an unexpected trap (illegal instruction, bad access, ...): reported and fatal. */
#define SIR_TRAP_STATUS 0x7E

void sir_trap(uint32_t mcause, uint32_t mepc) {
  printf("TRAP on hart 0x%03x: mcause 0x%08x mepc 0x%08x\n", (unsigned)sir_hart_id(), (unsigned)mcause,
         (unsigned)mepc);
  sir_exit(SIR_TRAP_STATUS);
}

/* ---- cluster ---- */
extern void _sir_cluster_start(void);

static void (*volatile sir_entry_fn)(void *);
static void *volatile sir_entry_arg;
static volatile uint32_t sir_cluster_done;

/* Fork descriptor in L1: written by core 0 before a barrier, read by the others after it. */
static void (*volatile sir_fork_fn)(void *) SIR_L1_BSS;
static void *volatile sir_fork_arg SIR_L1_BSS;

void sir_team_fork(void (*fn)(void *), void *arg) {
  sir_fork_fn = fn;
  sir_fork_arg = arg;
  sir_barrier(); /* workers pick up (fn, arg) */
  fn(arg);
  sir_barrier(); /* all finished */
}

static __attribute__((noreturn)) void sir_core_sleep(void) {
  sir_eu_mask_clear(0xFFFFFFFFu); /* no event can wake this core again */
  for (;;) (void)sir_eu_wait_clear();
}

/* Called by crt0 on every cluster core, on its own L1 stack. */
void __attribute__((noreturn)) sir_cluster_main(uint32_t core) {
  sir_barrier_setup(SIR_TEAM_MASK);
  if (core == 0) {
    sir_entry_fn(sir_entry_arg);
    sir_fork_fn = 0;
    sir_barrier(); /* release the workers */
    sir_cluster_done = 1;
  } else {
    for (;;) {
      sir_barrier();
      void (*fn)(void *) = sir_fork_fn;
      if (!fn) break;
      fn(sir_fork_arg);
      sir_barrier();
    }
  }
  sir_core_sleep();
}

void sir_cluster_run(void (*entry)(void *), void *arg) {
  sir_entry_fn = entry;
  sir_entry_arg = arg;
  sir_cluster_done = 0;
  SIR_REG32(SIR_ICACHE_CTRL_ENABLE) = 0xFFFFFFFFu;
  for (uint32_t i = 0; i < SIR_NUM_CORES; i++)
    SIR_REG32(SIR_CL_CTRL_BOOTADDR(i)) = (uint32_t)(uintptr_t)_sir_cluster_start;
  SIR_REG32(SIR_CL_CTRL_FETCH_EN) = SIR_TEAM_MASK;
  while (!sir_cluster_done) {
    /* poll the L2 flag; a short pause keeps the FC's bus traffic (and the simulator's work) low */
    for (int i = 0; i < 16; i++) __asm__ volatile("nop");
  }
  __asm__ volatile("" ::: "memory");
}
