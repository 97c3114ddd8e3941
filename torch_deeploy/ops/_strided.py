"""Shared kernel binding of the strided-copy template (Transpose, Slice): every output element is read
from ``base + sum_d idx_d * stride_d`` of the input, with the output dims simplified first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def row_major_strides(shape: Sequence[int]) -> list[int]:
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= int(s)
    return out[::-1]


def strided_args(dims: Sequence[int], strides: Sequence[int], base: int) -> dict[str, Any]:
    """Template values for out[i] = in[base + sum idx_d(i) * strides_d] over output dims `dims`.

    Size-1 dims are dropped and neighbours that walk the input contiguously (stride_d == stride_{d+1} *
    dim_{d+1}) are merged, so the innermost loop is as long as possible (a memcpy when its stride is 1).
    """
    total = 1
    for d in dims:
        total *= int(d)
    pairs = [(int(d), int(s)) for d, s in zip(dims, strides, strict=True) if d != 1]
    merged: list[tuple[int, int]] = []
    for d, s in pairs:
        if merged and merged[-1][1] == s * d:
            merged[-1] = (merged[-1][0] * d, s)
        else:
            merged.append((d, s))
    if not merged:
        merged = [(1, 1)]
    return {"total": total, "sdims": [d for d, _ in merged], "sstrides": [s for _, s in merged], "base": int(base)}
