"""IntegerMean: mean over axes rounded half up, floor((2*sum + cnt) / (2*cnt)) (OPERATORS.md IntegerMean)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import reduction
from torch_deeploy.ops.base import InferCtx, Int, Ints, KernelNode, OpSpec
from torch_deeploy.ops.common import as_int, rng
from torch_deeploy.ops.i_softmax import c_int_type
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


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """Kept and reduced dims as (size, input stride) lists, adjacent dims of the same kind merged."""
    x = k.inputs[0]
    assert x is not None
    lo, hi = rng(x)
    axes = norm_axes(k.attrs["axes"], x.rank)
    cnt = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    strides, acc = [0] * x.rank, 1
    for d in reversed(range(x.rank)):
        strides[d] = acc
        acc *= x.shape[d]
    kept: list[list[int]] = []
    red: list[list[int]] = []
    prev = None
    for d in range(x.rank):
        if x.shape[d] == 1:
            continue  # contributes nothing to either index
        kind = d in axes
        group = red if kind else kept
        if prev == kind:  # merge with the previous dim: it is contiguous in the same group
            group[-1][0] *= x.shape[d]
            group[-1][1] = strides[d]
        else:
            group.append([x.shape[d], strides[d]])
        prev = kind
    n = max(cnt, 1)
    st = c_int_type(min(2 * lo * n, 0), max(2 * hi * n + n, 2 * n), "twice the IntegerMean sum")
    return {"cnt": cnt, "kept": [tuple(g) for g in kept], "red": [tuple(g) for g in red], "st": st}


SPEC = register(OpSpec(
    name="IntegerMean",
    attrs={"axes": Ints(None), "keepdims": Int(1, choices=(0, 1))},
    inputs=(1, 1),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="integer_mean",
    kernel_args=kernel_args,
    tiling=reduction(lambda k: norm_axes(k.attrs["axes"], len(k.inputs[0].shape)), lambda k: bool(k.attrs["keepdims"])),
    doc="integer mean over axes, rounded half up (QuantLib's integerised ReduceMean)",
))
