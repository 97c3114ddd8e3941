"""The midend's integer linear program: tile choice, L1 residency and static offsets in L1 and L2.

Variables (one vector each, constraints assembled as sparse matrices so that building the program
stays fast for networks with hundreds of nodes; solved by HiGHS through CVXPY):
  x[n,c]  node n runs with candidate tiling c (exactly one per node);
  r[b]    activation buffer b stays resident in L1 from its producer to its last consumer, so neither
          side moves it through L2 (only where every node touching b can take it whole);
  y[n,c,b] = r[b] * x[n,c] (linearised), the DMA and L1 slot a resident operand saves;
  o[b]    L1 offset of a resident buffer, above the working area of every node it spans;
  p[b]    L2 offset of every intermediate activation buffer (ignored when resident);
  peak    the top of the intermediate area of L2.
Node working areas (tile slots, both halves of double buffers) sit at the bottom of L1 during the node.
Two buffers whose lifetimes overlap must not overlap in address. With few such pairs each pair gets
a binary (big-M disjunction) and the packing is optimal; above `exact_pair_limit` pairs the order of
each pair is fixed (the earlier-born buffer lower), which keeps the program small and fast.
Objective: modelled cycles (compute, DMA, per-tile overhead) minus the DMA saved by residency, plus a
tiny weight on the L2 peak so that memory is packed tightly among equally fast plans.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from torch_deeploy.backend.memory import align
from torch_deeploy.midend.candidates import Candidate

L2_WEIGHT = 1e-4  # cycles per byte of L2 peak in the objective (a tie-breaker)
L1_WEIGHT = 1e-4  # likewise for the L1 peak: pack resident buffers low
EXACT_PAIR_LIMIT = 150


@dataclass
class BufferInfo:
    name: str  # owner tensor
    size: int  # bytes, aligned
    first: int  # node step of the producer (-1: graph input)
    last: int
    io: bool  # graph input or output: lives in L2 for the whole run, outside the ILP
    touching: list[int]  # kernel node steps that read or write it
    tensors: list[str]  # tensors (views included) stored in it


@dataclass
class Problem:
    candidates: dict[int, list[Candidate]]  # kernel node step -> candidates
    buffers: dict[str, BufferInfo]
    owner: dict[str, str]  # tensor -> buffer
    l1_budget: int
    l2_budget: int  # bytes available for intermediate activations and tiling tables
    table_bytes: dict[int, list[int]]  # per node, per candidate: bytes of tiling tables (in L2)


@dataclass
class Solution:
    choice: dict[int, Candidate]
    resident: dict[str, int]  # buffer -> L1 offset (bytes)
    l2_offset: dict[str, int]  # intermediate buffer -> L2 offset (bytes, relative to the activation area)
    l2_peak: int
    objective: float
    solve_seconds: float
    build_seconds: float
    status: str
    stats: dict[str, int] = field(default_factory=dict)


def _overlap(a: BufferInfo, b: BufferInfo) -> bool:
    return a.first <= b.last and b.first <= a.last


def _whole(c: Candidate, b: BufferInfo) -> bool:
    uses = [o for o in c.operands if o.tensor in b.tensors]
    return bool(uses) and all(o.whole for o in uses)


class _Rows:
    """Sparse rows A v <= b over the stacked variable vector, built incrementally."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.rhs: list[float] = []

    def add(self, terms: list[tuple[int, float]], rhs: float) -> None:
        r = len(self.rhs)
        for c, v in terms:
            self.rows.append(r)
            self.cols.append(c)
            self.vals.append(v)
        self.rhs.append(rhs)

    def matrix(self, n: int) -> tuple[sp.csr_matrix, np.ndarray]:
        return sp.csr_matrix((self.vals, (self.rows, self.cols)), shape=(len(self.rhs), n)), np.array(self.rhs)


def solve(pb: Problem, *, time_limit: float = 60.0, residency: bool = True,
          exact_pair_limit: int = EXACT_PAIR_LIMIT) -> Solution:
    t0 = time.perf_counter()
    steps = sorted(pb.candidates)
    # --- variable layout: [x | r | y | o | p | peak | z] ------------------------------------------------
    nv = 0
    x_idx: dict[int, list[int]] = {}
    for n in steps:
        x_idx[n] = list(range(nv, nv + len(pb.candidates[n])))
        nv += len(pb.candidates[n])
    inter = [b for b in pb.buffers.values() if not b.io]
    eligible: list[BufferInfo] = []
    if residency:
        for b in inter:
            if b.size <= pb.l1_budget and b.touching and all(
                    any(_whole(c, b) for c in pb.candidates[n]) for n in b.touching):
                eligible.append(b)
    r_idx = {b.name: nv + i for i, b in enumerate(eligible)}
    nv += len(eligible)
    y_terms: list[tuple[int, int, int, float, float]] = []  # (y var, x var, r var, slot bytes, dma cycles)
    for b in eligible:
        for n in b.touching:
            for i, c in enumerate(pb.candidates[n]):
                if _whole(c, b):
                    uses = [o for o in c.operands if pb.owner.get(o.tensor) == b.name]
                    y_terms.append((nv, x_idx[n][i], r_idx[b.name], float(sum(o.l1_bytes for o in uses)),
                                    float(sum(o.dma_cycles for o in uses))))
                    nv += 1
    o_idx = {b.name: nv + i for i, b in enumerate(eligible)}
    nv += len(eligible)
    p_idx = {b.name: nv + i for i, b in enumerate(inter)}
    nv += len(inter)
    peak_idx = nv
    l1peak_idx = nv + 1
    nv += 2
    l1_pairs = [(a, b) for i, a in enumerate(eligible) for b in eligible[i + 1:] if _overlap(a, b)]
    l2_pairs = [(a, b) for i, a in enumerate(inter) for b in inter[i + 1:] if _overlap(a, b)]
    exact = len(l1_pairs) + len(l2_pairs) <= exact_pair_limit
    z_start = nv
    if exact:
        nv += len(l1_pairs) + len(l2_pairs)
    n_int = len(x_idx) and sum(len(v) for v in x_idx.values())

    # --- constraints --------------------------------------------------------------------------------
    A = _Rows()
    eq_rows: list[list[int]] = [x_idx[n] for n in steps]
    cost = np.zeros(nv)
    for n in steps:
        for i, c in enumerate(pb.candidates[n]):
            cost[x_idx[n][i]] = c.cycles
    # y <= x, y <= r, and r[b] <= sum of x over candidates taking b whole, per touching node
    by_node_buffer: dict[tuple[int, int], list[int]] = {}
    for yv, xv, rv, _, dma in y_terms:
        A.add([(yv, 1), (xv, -1)], 0)
        A.add([(yv, 1), (rv, -1)], 0)
        cost[yv] -= dma
    for b in eligible:
        for n in b.touching:
            whole = [x_idx[n][i] for i, c in enumerate(pb.candidates[n]) if _whole(c, b)]
            by_node_buffer[(n, r_idx[b.name])] = whole
            A.add([(r_idx[b.name], 1)] + [(v, -1) for v in whole], 0)
    # working area of node n (bytes) = sum_c l1(c) x - sum saved slots y
    work: dict[int, list[tuple[int, float]]] = {
        n: [(x_idx[n][i], float(c.l1_bytes)) for i, c in enumerate(pb.candidates[n])] for n in steps}
    step_of_x = {v: n for n in steps for v in x_idx[n]}
    for yv, xv, _, slot, _ in y_terms:
        work[step_of_x[xv]].append((yv, -slot))
    for n in steps:
        A.add(work[n], pb.l1_budget)
        A.add(work[n] + [(l1peak_idx, -1)], 0)  # the L1 peak covers every working area
    big1 = 2.0 * pb.l1_budget
    for b in eligible:
        ov, rv = o_idx[b.name], r_idx[b.name]
        A.add([(ov, 1), (rv, big1)], pb.l1_budget - b.size + big1)  # o + size <= L1 when resident
        A.add([(ov, 1), (rv, big1), (l1peak_idx, -1)], -b.size + big1)  # ... and <= the L1 peak
        for n in steps:
            if b.first <= n <= b.last:  # o >= work[n] when resident
                A.add([(v, c) for v, c in work[n]] + [(ov, -1), (rv, big1)], big1)
    big2 = 2.0 * max(pb.l2_budget, 1) + sum(b.size for b in inter)
    for b in inter:  # p + size <= peak (+ slack when resident)
        terms = [(p_idx[b.name], 1), (peak_idx, -1)]
        if b.name in r_idx:
            terms.append((r_idx[b.name], -big2))
        A.add(terms, -b.size)
    z = z_start
    # Without pair binaries, each overlapping pair keeps the order of a greedy best-fit placement: a
    # packing with that order exists, and the program may still move every offset.
    l1_rank = _greedy_rank(eligible)
    l2_rank = _greedy_rank(inter)
    for a, b in l1_pairs:  # binding only when both are resident: relaxed by big1 * (2 - r_a - r_b)
        a, b = sorted((a, b), key=lambda t: l1_rank[t.name])
        oa, ob, ra, rb = o_idx[a.name], o_idx[b.name], r_idx[a.name], r_idx[b.name]
        if exact:
            A.add([(oa, 1), (ob, -1), (z, big1), (ra, big1), (rb, big1)], -a.size + 3 * big1)
            A.add([(ob, 1), (oa, -1), (z, -big1), (ra, big1), (rb, big1)], -b.size + 2 * big1)
            z += 1
        else:
            A.add([(oa, 1), (ob, -1), (ra, big1), (rb, big1)], -a.size + 2 * big1)
    for a, b in l2_pairs:  # relaxed when either is resident (it then needs no L2): big2 * (r_a + r_b)
        a, b = sorted((a, b), key=lambda t: l2_rank[t.name])
        pa, pb_ = p_idx[a.name], p_idx[b.name]
        rel = [(r_idx[t.name], -big2) for t in (a, b) if t.name in r_idx]
        if exact:
            A.add([(pa, 1), (pb_, -1), (z, big2)] + rel, -a.size + big2)
            A.add([(pb_, 1), (pa, -1), (z, -big2)] + rel, -b.size)
            z += 1
        else:
            A.add([(pa, 1), (pb_, -1)] + rel, -a.size)
    # peak + tables <= budget
    tables = [(peak_idx, 1.0)] + [(x_idx[n][i], float(t)) for n in steps for i, t in enumerate(pb.table_bytes[n])]
    A.add(tables, pb.l2_budget)
    cost[peak_idx] = L2_WEIGHT
    cost[l1peak_idx] = L1_WEIGHT

    # --- CVXPY model: one binary and one continuous vector, three sparse matrix constraints ----------------
    bin_idx = np.array([i for n in steps for i in x_idx[n]] + list(r_idx.values()) + list(range(z_start, z)), dtype=int)
    is_bin = np.zeros(nv, dtype=bool)
    is_bin[bin_idx] = True
    cont_idx = np.flatnonzero(~is_bin)
    M, rhs = A.matrix(nv)
    M = M.tocsc()
    vb = cp.Variable(len(bin_idx), boolean=True)
    vc = cp.Variable(len(cont_idx), nonneg=True)
    pos = np.empty(nv, dtype=int)
    pos[bin_idx] = np.arange(len(bin_idx))
    e_rows = [k for k, rows in enumerate(eq_rows) for _ in rows]
    e_cols = [pos[i] for rows in eq_rows for i in rows]
    E = sp.csr_matrix((np.ones(len(e_rows)), (e_rows, e_cols)), shape=(len(eq_rows), len(bin_idx)))
    cons = [M[:, bin_idx] @ vb + M[:, cont_idx] @ vc <= rhs]
    if len(eq_rows):
        cons.append(E @ vb == 1)
    y_pos = [int(np.searchsorted(cont_idx, y)) for y, *_ in y_terms]
    if y_pos:
        cons.append(vc[y_pos] <= 1)
    prob = cp.Problem(cp.Minimize(cost[bin_idx] @ vb + cost[cont_idx] @ vc), cons)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        with _quiet():
            prob.solve(solver=cp.HIGHS, time_limit=time_limit, output_flag=False)
    except cp.error.SolverError as e:
        return Solution({}, {}, {}, 0, float("inf"), time.perf_counter() - t1, build, f"solver error: {e}")
    solve_s = time.perf_counter() - t1
    if prob.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE, cp.UNBOUNDED) or vb.value is None:
        return Solution({}, {}, {}, 0, float("inf"), solve_s, build, prob.status)
    val = np.zeros(nv)
    val[bin_idx] = vb.value
    val[cont_idx] = vc.value
    choice = {n: pb.candidates[n][int(np.argmax(val[x_idx[n]]))] for n in steps}
    resident = {b: _to_bytes(val[o_idx[b]]) for b in r_idx if val[r_idx[b]] > 0.5}
    l2_off = {b: _to_bytes(val[p_idx[b]]) for b in p_idx if b not in resident}
    l2_peak = max((l2_off[b] + pb.buffers[b].size for b in l2_off), default=0)
    stats = {"nodes": len(steps), "candidates": n_int, "resident_eligible": len(eligible),
             "l1_pairs": len(l1_pairs), "l2_pairs": len(l2_pairs), "exact_packing": int(exact),
             "variables": nv, "constraints": len(rhs)}
    return Solution(choice, resident, l2_off, align(l2_peak), float(prob.value), solve_s, build, prob.status, stats)


def _greedy_rank(bufs: list[BufferInfo]) -> dict[str, tuple[int, str]]:
    """(offset, name) of each buffer in a best-fit placement: the order used for fixed pairs."""
    from torch_deeploy.backend.memory import Buffer, _place

    tmp = [Buffer(b.name, b.size, b.first, b.last) for b in bufs]
    _place(tmp)
    return {b.name: (b.offset, b.name) for b in tmp}


@contextmanager
def _quiet():
    """HiGHS prints a banner on stdout from C++ even with output off: silence file descriptor 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _to_bytes(v: float) -> int:
    """Offsets come out of the LP as sums of aligned sizes; round and re-align defensively."""
    return align(int(round(float(v))))
