"""ReduceMean: integer inputs give the rounded mean floor((2*sum + cnt) / (2*cnt)) (round half up, as
the QuantLib goldens require); float inputs give the plain float mean. Axes as attribute or input."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx, OpSpec
from torch_deeploy.ops.common import as_int, rng
from torch_deeploy.ops.reduce_sum import REDUCE_ATTRS, reduce_kernel_args, reduce_tiling, reduced, run_axes
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    axes, shape, cnt = reduced(ctx)
    x = ctx.input(0)
    if x.is_float:
        return [TensorType.floating(shape)]
    if cnt == 0 and int(np.prod(shape, dtype=np.int64)) > 0:
        raise ctx.fail(f"reduces over an empty axis of input {list(x.shape)}: the integer mean is undefined")
    lo, hi = rng(x)  # a rounded mean of integers in [lo, hi] stays in [lo, hi]
    return [TensorType.integer(shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, axes = run_axes(inputs, attrs)
    if axes is None:
        return [x.astype(np.float32) if x.dtype.kind == "f" else as_int(x)]
    keep = bool(attrs["keepdims"])
    if x.dtype.kind == "f":
        return [x.astype(np.float64).mean(axis=axes, keepdims=keep).astype(np.float32)]
    xi = as_int(x)
    cnt = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    s = xi.sum(axis=axes, keepdims=keep)
    if cnt == 0:
        return [s]  # only reachable for an empty output (the type rule rejects the rest)
    return [np.floor_divide(2 * s + cnt, 2 * cnt)]


SPEC = register(OpSpec(
    name="ReduceMean",
    attrs=REDUCE_ATTRS,
    inputs=(1, 2),
    infer=infer,
    reference=reference,
    kernel="reduce",
    kernel_args=lambda k: {**reduce_kernel_args(k), "mean": True},
    tiling=reduce_tiling,
    doc="integer: mean rounded half up, floor((2*sum+cnt)/(2*cnt)); float: plain mean; axes attr or input",
))
