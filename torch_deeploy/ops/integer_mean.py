"""IntegerMean: mean over axes rounded half up, floor((2*sum + cnt) / (2*cnt)) (OPERATORS.md IntegerMean)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx, Int, Ints, OpSpec
from torch_deeploy.ops.common import as_int, rng
from torch_deeploy.ops.registry import register


def norm_axes(axes: tuple[int, ...] | None, rank: int) -> tuple[int, ...]:
    """Axes as sorted non-negative ints; absent or empty means all axes, as in ReduceMean (opset < 18)."""
    if not axes:
        return tuple(range(rank))
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise OpError(f"axis {a} is out of range for an input of rank {rank}")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise OpError(f"axes {list(axes)} name the same axis twice")
    return tuple(sorted(out))


def out_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: int) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    lo, hi = rng(x)
    axes = norm_axes(ctx.attrs["axes"], x.rank)
    shape = out_shape(x.shape, axes, ctx.attrs["keepdims"])
    if any(x.shape[a] == 0 for a in axes) and int(np.prod(shape, dtype=np.int64)) > 0:
        raise ctx.fail(f"cannot average over an empty axis (input shape {list(x.shape)}, axes {list(axes)})")
    return [TensorType.integer(shape, lo, hi)]  # a rounded mean stays within the input's range


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = as_int(inputs[0])  # type: ignore[arg-type]
    axes = norm_axes(attrs["axes"], x.ndim)
    keep = bool(attrs["keepdims"])
    cnt = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    s = x.sum(axis=axes, keepdims=keep)
    if cnt == 0:
        return [np.zeros(s.shape, dtype=np.int64)]
    return [np.floor_divide(2 * s + cnt, 2 * cnt)]


SPEC = register(OpSpec(
    name="IntegerMean",
    attrs={"axes": Ints(None), "keepdims": Int(1, choices=(0, 1))},
    inputs=(1, 1),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="integer_mean",
    doc="integer mean over axes, rounded half up (QuantLib's integerised ReduceMean)",
))
