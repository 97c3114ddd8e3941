"""Concat: join along one axis; the output range is the union of the (non-empty) input ranges."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import concatenation
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import any_float
from torch_deeploy.ops.registry import register


def norm_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise OpError(f"axis {axis} is out of range for inputs of rank {rank} (allowed {-rank}..{rank - 1})")
    return axis + rank if axis < 0 else axis


def infer(ctx: InferCtx) -> list[TensorType]:
    ts = [ctx.input(i) for i in range(len(ctx.inputs))]
    rank = ts[0].rank
    if rank == 0:
        raise ctx.fail("cannot concatenate 0-d (scalar) tensors")
    axis = norm_axis(ctx.attrs["axis"], rank)
    for i, t in enumerate(ts):
        if t.rank != rank or any(a != b for d, (a, b) in enumerate(zip(t.shape, ts[0].shape, strict=True))
                                 if d != axis):
            raise ctx.fail(f"input {i} has shape {list(t.shape)}, which does not match input 0 "
                           f"{list(ts[0].shape)} outside axis {axis}")
    shape = list(ts[0].shape)
    shape[axis] = sum(t.shape[axis] for t in ts)
    if any_float(*ts):
        return [TensorType.floating(tuple(shape))]
    # Empty inputs (e.g. an empty KV cache) contribute no values, so they do not widen the range.
    ranges = [t.range for t in ts if t.size] or [t.range for t in ts]
    lo = min(r[0] for r in ranges)  # type: ignore[index]
    hi = max(r[1] for r in ranges)  # type: ignore[index]
    return [TensorType.integer(tuple(shape), lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    xs = [np.asarray(x) for x in inputs if x is not None]
    if any(x.dtype.kind == "f" for x in xs):
        xs = [x.astype(np.float32) for x in xs]
    return [np.concatenate(xs, axis=norm_axis(attrs["axis"], xs[0].ndim))]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """Row layout: outer rows (dims before axis); input k holds `inner` elements of each, at `off`."""
    y = k.outputs[0]
    axis = norm_axis(k.attrs["axis"], y.rank)
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    after = int(np.prod(y.shape[axis + 1:], dtype=np.int64))
    parts, off = [], 0
    for t in k.inputs:
        if t is None or not t.size:
            continue
        inner = t.shape[axis] * after
        parts.append({"off": off, "inner": inner})
        off += inner
    return {"axis": axis, "outer": outer, "row": max(off, 1), "parts": parts}


SPEC = register(OpSpec(
    name="Concat",
    attrs={"axis": Int()},
    inputs=(1, 2**31 - 1),
    infer=infer,
    reference=reference,
    kernel="concat",
    kernel_args=kernel_args,
    tiling=concatenation(lambda k: norm_axis(k.attrs["axis"], len(k.outputs[0].shape))),
    doc="concatenate along axis (zero-sized inputs allowed)",
))
