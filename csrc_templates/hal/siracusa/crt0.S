/* Start-up code for Siracusa (bare metal, GVSoC): the FC entry point, the cluster cores' entry point and
 * a trap vector table. Facts from shared/docs/SIRACUSA.md 7b; symbols from siracusa.ld.
 *
 * Both kinds of core set gp (small data), tp (one TLS block shared by all cores: picolibc keeps errno
 * there) and mtvec. The FC also turns its instruction cache on (GVSoC starts with it off), runs on a
 * stack at the top of L2 private bank 0, clears .bss and the L1 .bss, calls main() and passes its
 * return value to exit(), which ends the simulation through CORESTATUS.
 * Cluster core i runs on its own stack at the top of L1 and calls sir_cluster_main(i). */

    .section .text.sir_start, "ax"
    .globl  _start
    .type   _start, @function
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      tp, __tls_base
    la      sp, __fc_stack_top
    la      t0, __sir_vectors
    csrw    mtvec, t0
    li      t0, 0x1A108800              /* SIR_FC_ICACHE_CTRL: enable */
    li      t1, -1
    sw      t1, 0(t0)

    la      a0, __bss_start
    la      a1, __bss_end
1:  bgeu    a0, a1, 2f
    sw      zero, 0(a0)
    addi    a0, a0, 4
    j       1b
2:
    la      a0, __l1_bss_start
    la      a1, __l1_bss_end
3:  bgeu    a0, a1, 4f
    sw      zero, 0(a0)
    addi    a0, a0, 4
    j       3b
4:
    li      a0, 0
    li      a1, 0
    call    main
    call    exit
5:  wfi
    j       5b
    .size   _start, . - _start

    .globl  _sir_cluster_start
    .type   _sir_cluster_start, @function
_sir_cluster_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      tp, __tls_base
    la      t0, __sir_vectors
    csrw    mtvec, t0
    csrr    a0, mhartid
    andi    a0, a0, 0x1f                /* core index in the cluster */
    la      t1, __cluster_stack_size
    mul     t1, t1, a0
    la      sp, __l1_stacks_top
    sub     sp, sp, t1                  /* core i: top - i * stack size */
    call    sir_cluster_main
6:  wfi
    j       6b
    .size   _sir_cluster_start, . - _sir_cluster_start

/* Exceptions and interrupts all go to one handler (mtvec base; GVSoC puts interrupt n at base + 4n). */
    .section .text.sir_vectors, "ax"
    .balign 256
    .globl  __sir_vectors
__sir_vectors:
    .option push
    .option norvc
    .rept   35
    j       __sir_trap_entry
    .endr
    .option pop

    .type   __sir_trap_entry, @function
__sir_trap_entry:
    csrr    a0, mcause
    csrr    a1, mepc
    call    sir_trap
7:  j       7b
    .size   __sir_trap_entry, . - __sir_trap_entry
