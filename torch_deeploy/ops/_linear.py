"""Shared range rule of the linear ops (MatMul, Gemm, Conv): exact bounds of a dot product whose one
operand is a constant, kept per output element (column / row / channel) so that a per-output bias or
scale can be combined with it before taking the overall min/max."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ops.common import Range, mul_ranges


def dot_bounds(x: Range, w: np.ndarray, axis: int | tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per-output (lo, hi) of sum over `axis` of x_i * w_i when every x_i may be anywhere in x.

    Each product is bounded independently, which is attained (x is free per element), so the bound is
    exact for one output. Arrays keep the reduced axes as size 1 (keepdims) for broadcasting.
    """
    w = np.asarray(w).astype(np.int64)
    pos = np.where(w > 0, w, 0)
    neg = np.where(w < 0, w, 0)
    lo = (pos * x[0] + neg * x[1]).sum(axis=axis, keepdims=True)
    hi = (pos * x[1] + neg * x[0]).sum(axis=axis, keepdims=True)
    return lo, hi


def bounds(lo: np.ndarray | int, hi: np.ndarray | int) -> Range:
    """Overall (min, max) of per-output bounds; (0, 0) when there is no output element."""
    lo_a, hi_a = np.asarray(lo), np.asarray(hi)
    if lo_a.size == 0 or hi_a.size == 0:
        return 0, 0
    return int(lo_a.min()), int(hi_a.max())


# ---- kernel helpers (C templates of MatMul, Gemm, Conv, MaxPool) ----

def fits_int32(*ranges: Range) -> bool:
    return all(lo >= -(2**31) and hi < 2**31 for lo, hi in ranges)


def acc_ctype(*ranges: Range) -> str:
    """int32_t when every given intermediate range fits, else int64_t."""
    return "int32_t" if fits_int32(*ranges) else "int64_t"


def partial_bounds(x: Range, w: np.ndarray | None, w_range: Range | None, axis: int | tuple[int, ...],
                   n_terms: int) -> Range:
    """(min, max) over every partial sum (any subset of the terms, any output) of sum x_i * w_i.

    Joining x with 0 makes every term's range contain 0, so the full-sum bound also bounds each partial
    sum; with a constant w the bound is per output (dot_bounds), else the interval bound of n_terms.
    """
    x0 = (min(x[0], 0), max(x[1], 0))
    if w is not None:
        if np.asarray(w).size == 0:
            return 0, 0
        lo, hi = dot_bounds(x0, w, axis)
        return bounds(lo, hi)
    assert w_range is not None
    p = mul_ranges(x0, (min(w_range[0], 0), max(w_range[1], 0)))
    return p[0] * n_terms, p[1] * n_terms


def tap_ranges(n_out: int, n_in: int, k: int, s: int, d: int, pb: int) -> tuple[list[int], list[int]] | None:
    """Per output position along one axis, the [lo, hi) range of kernel taps that land inside the input
    (0 <= o*s - pb + t*d < n_in); None when every window holds all k taps (no table needed)."""
    lo, hi = [], []
    for o in range(n_out):
        start = o * s - pb
        t0 = max(0, -(start // d) if start < 0 else 0)  # ceil(-start / d)
        t1 = min(k, (n_in - 1 - start) // d + 1) if n_in - 1 - start >= 0 else 0
        lo.append(t0)
        hi.append(max(t0, t1))
    if all(a == 0 for a in lo) and all(b == k for b in hi):
        return None
    return lo, hi


def batch_offsets(p_batch: tuple[int, ...], batch: tuple[int, ...], block: int) -> dict[str, Any]:
    """How a batched operand's matrix is found for output batch b: {"kind": "zero"} (one matrix),
    {"kind": "linear", "block": block} (offset b * block), or {"kind": "table", "offsets": [...]}."""
    nb = int(np.prod(batch, dtype=np.int64))
    if int(np.prod(p_batch, dtype=np.int64)) <= 1 or nb <= 1:
        return {"kind": "zero"}
    full = (1,) * (len(batch) - len(p_batch)) + tuple(p_batch)
    if full == tuple(batch):
        return {"kind": "linear", "block": block}
    idx = np.arange(int(np.prod(full, dtype=np.int64)), dtype=np.int64).reshape(full)
    return {"kind": "table", "offsets": (np.broadcast_to(idx, batch).reshape(-1) * block).tolist()}
