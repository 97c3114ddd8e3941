"""Shared building blocks for op files: broadcasting, interval arithmetic on value ranges, int helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType

Range = tuple[int, int]
INT32: Range = (-(2**31), 2**31 - 1)  # the values an int32_t holds


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise OpError("input shapes " + ", ".join(str(list(s)) for s in shapes) + " do not broadcast") from None


def rng(t: TensorType) -> Range:
    """Value range of an integer tensor (float tensors have none)."""
    if t.range is None:
        raise OpError(f"expects an integer tensor, got {t.dtype}")
    return t.range


def add_ranges(a: Range, b: Range) -> Range:
    return a[0] + b[0], a[1] + b[1]


def sub_ranges(a: Range, b: Range) -> Range:
    return a[0] - b[1], a[1] - b[0]


def mul_ranges(a: Range, b: Range) -> Range:
    p = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]]
    return min(p), max(p)


def scale_range(r: Range, k: int) -> Range:
    return (r[0] * k, r[1] * k) if k >= 0 else (r[1] * k, r[0] * k)


def dot_range(x: Range, w: np.ndarray | Range, n: int, axis_sum: Callable | None = None) -> Range:
    """Range of a sum of n products x*w. With constant w the bound is exact per weight."""
    if isinstance(w, np.ndarray):
        w = w.astype(np.int64)
        pos = np.where(w > 0, w, 0)
        neg = np.where(w < 0, w, 0)
        # Reduce over everything but the first (output-channel) axis when given; else over all.
        if axis_sum is None:
            hi = int((pos * x[1] + neg * x[0]).sum())
            lo = int((pos * x[0] + neg * x[1]).sum())
            return lo, hi
        hi_c = axis_sum(pos * x[1] + neg * x[0])
        lo_c = axis_sum(pos * x[0] + neg * x[1])
        return int(np.min(lo_c)), int(np.max(hi_c))
    lo, hi = mul_ranges(x, w)
    return lo * n, hi * n


def clamp_range(r: Range, lo: int, hi: int) -> Range:
    return max(min(r[0], hi), lo), min(max(r[1], lo), hi)


def any_float(*ts: TensorType | None) -> bool:
    return any(t is not None and t.is_float for t in ts)


def as_int(a: np.ndarray) -> np.ndarray:
    """Integer view of reference data (int64), refusing non-integral floats."""
    if a.dtype.kind in "iub":
        return a.astype(np.int64)
    r = np.rint(a)
    if not np.array_equal(r, a):
        raise OpError("integer op received non-integer values")
    return r.astype(np.int64)


def floor_div(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """Mathematical floor division on int64 arrays (what C's >> does for powers of two)."""
    return np.floor_divide(a, b)


def trunc_div(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """C's '/' on integers: rounds toward zero."""
    q = np.floor_divide(np.abs(a), np.abs(b))
    return np.where((np.sign(a) * np.sign(b)) < 0, -q, q)


def saturating_division_shift(lo: int, hi: int, d_max: int) -> int | None:
    """s for division by multiply-and-shift of a result saturated to [lo, hi]: with v clamped to
    [(lo-1)*d, (hi+1)*d] (which changes no saturated result), n = v or ~v is in [0, K*d], K = max(1-lo, hi+1), and
    floor(n / d) = (n * m) >> s with m = ceil(2^s / d) for every 1 <= d <= d_max, the product in 32 unsigned bits.
    Exact when K * d_max^2 <= 2^s: n * m / 2^s = n/d + n*e / (d*2^s) with e = m*d - 2^s < d, and n*e < K*d^2 <= 2^s
    keeps the error below 1/d. None when no s keeps n * m below 2^32."""
    k = max(1 - lo, hi + 1)
    s = max(1, (k * d_max * d_max - 1).bit_length())
    return s if k * (2**s + d_max) < 2**32 else None


def isqrt(n: np.ndarray) -> np.ndarray:
    """Largest r with r*r <= n, elementwise (0 for n <= 0); exact for int64."""
    n = np.asarray(n, dtype=np.int64)
    r = np.floor(np.sqrt(np.maximum(n, 0).astype(np.float64))).astype(np.int64)
    r = np.where(r * r > n, r - 1, r)
    r = np.where((r + 1) * (r + 1) <= n, r + 1, r)
    return np.maximum(r, 0)


def channel_param(p: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """Broadcast a requantization parameter against x (OPERATORS.md, RequantShift broadcasting rule).

    If numpy broadcasting leaves x's shape unchanged it is used; otherwise the parameter is a
    per-channel vector along axis 1.
    """
    try:
        if np.broadcast_shapes(p.shape, x_shape) == tuple(x_shape):
            return p
    except ValueError:
        pass
    flat = p.reshape(-1)
    if len(x_shape) < 2 or flat.size != x_shape[1]:
        raise OpError(f"parameter of shape {list(p.shape)} fits neither numpy broadcasting nor axis 1 "
                      f"of an input of shape {list(x_shape)}")
    shape = [1] * len(x_shape)
    shape[1] = flat.size
    return flat.reshape(shape)


def channel_vector(p: np.ndarray, y_shape: tuple[int, ...], axis: int, what: str) -> np.ndarray:
    """The requantization parameter p as one int64 value per index of y's `axis` (per output channel);
    ValueError (saying why) when it does not broadcast to y or varies along another axis."""
    try:
        full = np.broadcast_to(channel_param(p.astype(np.int64), y_shape), y_shape)
    except (OpError, ValueError):
        raise ValueError(f"{what} of shape {list(p.shape)} does not broadcast to the output") from None
    idx: list[Any] = [0] * len(y_shape)
    idx[axis] = slice(None)
    vec = full[tuple(idx)]
    shape = [1] * len(y_shape)
    shape[axis] = -1
    if not np.array_equal(full, np.broadcast_to(vec.reshape(shape), y_shape)):
        raise ValueError(f"{what} varies along pixels (not per output channel)")
    return np.asarray(vec)
