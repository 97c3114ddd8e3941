"""Shared range rule of the linear ops (MatMul, Gemm, Conv): exact bounds of a dot product whose one
operand is a constant, kept per output element (column / row / channel) so that a per-output bias or
scale can be combined with it before taking the overall min/max."""

from __future__ import annotations

import numpy as np

from torch_deeploy.ops.common import Range


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
