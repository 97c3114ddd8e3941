"""KVCacheWrite: write one row into a cache at a run-time position, in place.

y = cache with y[..., p, :] = row[..., 0, :] along axis -2, where p = clip(pos, 0, T-1). The output
shares the cache's buffer (extras "inplace": the memory plan aliases it to input 0), so a decode step
updates a statically allocated KV cache without copying it. The write runs on one core straight to the
cache's L2 home (extras "direct": the position is only known at run time, so no static tile table can
describe the box). Readers of the old cache scheduled after the write are refused at compile time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import as_int, rng
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    cache, row, pos = ctx.input(0), ctx.input(1), ctx.input(2)
    if ctx.attrs["axis"] not in (-2, cache.rank - 2):
        raise ctx.fail("only axis -2 (the sequence axis of a (..., T, d) cache) is supported")
    if cache.rank < 2 or row.rank != cache.rank:
        raise ctx.fail(f"cache {list(cache.shape)} and row {list(row.shape)} must have the same rank >= 2")
    want = (*cache.shape[:-2], 1, cache.shape[-1])
    if tuple(row.shape) != want:
        raise ctx.fail(f"row must have shape {list(want)} for a cache of shape {list(cache.shape)}, "
                       f"got {list(row.shape)}")
    if pos.size != 1 or pos.is_float:
        raise ctx.fail(f"pos must be a single integer, got {pos}")
    if cache.is_float or row.is_float:
        raise ctx.fail("cache and row must hold integers")
    lo, hi = rng(row)
    if not cache.dtype.holds(lo, hi):
        raise ctx.fail(f"row values [{lo}, {hi}] do not fit the cache's {cache.dtype}: the write is in place")
    c_lo, c_hi = rng(cache)
    return [TensorType(cache.shape, cache.dtype, (min(c_lo, lo), max(c_hi, hi)))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    cache, row, pos = (as_int(a) for a in inputs)  # type: ignore[arg-type]
    out = cache.copy()
    t = cache.shape[-2]
    p = int(np.clip(int(pos.reshape(-1)[0]), 0, max(t - 1, 0)))
    if t:
        out[..., p, :] = row[..., 0, :]
    return [out]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    cache = k.inputs[0]
    assert cache is not None
    lead = 1
    for s in cache.shape[:-2]:
        lead *= s
    return {"lead": lead, "slots": cache.shape[-2], "width": cache.shape[-1]}


SPEC = register(OpSpec(
    name="KVCacheWrite",
    attrs={"axis": Int(-2)},
    inputs=(3, 3),
    infer=infer,
    reference=reference,
    domains=("", "deeploy"),
    kernel="kv_cache_write",
    kernel_args=kernel_args,
    extras={"inplace": 0, "direct": True},
    doc="writes row into cache[..., clip(pos, 0, T-1), :] in place (a statically allocated KV cache)",
))
