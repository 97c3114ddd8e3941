"""How a kernel indexes a broadcast operand: the cheapest of scalar, one contiguous block, or full strides.

For an operand p broadcast against an output of shape `out`, element i of the output reads
  scalar: p[0];  block: p[(i / inner) % count];  full: p[sum(idx_d(i) * stride_d)].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bcast:
    kind: str  # "same" (same shape as out), "scalar", "block" or "full"
    inner: int = 1
    count: int = 1
    strides: tuple[int, ...] = ()  # per output dim, 0 where broadcast ("full" only)
    out_shape: tuple[int, ...] = ()


def bcast(p_shape: Sequence[int], out_shape: Sequence[int]) -> Bcast:
    out = tuple(int(s) for s in out_shape)
    p = (1,) * (len(out) - len(p_shape)) + tuple(int(s) for s in p_shape)
    size = int(np.prod(p, dtype=np.int64))
    if p == out:
        return Bcast("same", out_shape=out)
    if size == 1:
        return Bcast("scalar", out_shape=out)
    live = [d for d, s in enumerate(p) if s != 1]
    a, b = live[0], live[-1] + 1
    if all(p[d] == out[d] for d in range(a, b)):
        inner = int(np.prod(out[b:], dtype=np.int64))
        return Bcast("block", inner=inner, count=int(np.prod(out[a:b], dtype=np.int64)), out_shape=out)
    strides, acc = [0] * len(out), 1
    for d in reversed(range(len(out))):
        strides[d] = acc if p[d] != 1 else 0
        acc *= p[d]
    return Bcast("full", strides=tuple(strides), out_shape=out)


def channel_bcast(p_shape: Sequence[int], x_shape: Sequence[int]) -> Bcast:
    """RequantShift's rule: numpy broadcasting if it keeps x's shape, else per-channel on axis 1."""
    x = tuple(int(s) for s in x_shape)
    try:
        if np.broadcast_shapes(tuple(p_shape), x) == x:
            return bcast(p_shape, x)
    except ValueError:
        pass
    shape = [1] * len(x)
    shape[1] = int(np.prod(p_shape, dtype=np.int64))
    return bcast(shape, x)
