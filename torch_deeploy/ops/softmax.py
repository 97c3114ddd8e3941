"""Softmax (float): exp(x - max) / sum(exp(x - max)) along one axis (opset-13 semantics, default -1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import from_axis
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.registry import register


def norm_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise OpError(f"axis {axis} is out of range for input rank {rank} (allowed {-rank}..{rank - 1})")
    return axis + rank if axis < 0 else axis


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    norm_axis(ctx.attrs["axis"], x.rank)
    return [TensorType.floating(x.shape)]


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """Float64 softmax along axis (shared with the loss ops)."""
    d = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(d)
    return e / np.sum(e, axis=axis, keepdims=True)


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = np.asarray(inputs[0], dtype=np.float64)
    if x.size == 0:
        return [x.astype(np.float32)]
    return [softmax(x, norm_axis(attrs["axis"], x.ndim)).astype(np.float32)]


def line_args(shape: tuple[int, ...], axis: int, log: bool) -> dict[str, Any]:
    """Softmax template values (shared with SoftmaxCrossEntropyLoss): outer x inner lines of n elements."""
    return {"outer": int(np.prod(shape[:axis], dtype=np.int64)), "n": shape[axis],
            "inner": max(int(np.prod(shape[axis + 1:], dtype=np.int64)), 1), "log": log}


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    return line_args(x.shape, norm_axis(k.attrs["axis"], x.rank), False)


SPEC = register(OpSpec(
    name="Softmax",
    attrs={"axis": Int(-1)},
    infer=infer,
    reference=reference,
    kernel="softmax",
    kernel_args=kernel_args,
    tiling=from_axis(lambda k: norm_axis(k.attrs["axis"], len(k.outputs[0].shape))),
    doc="float softmax along axis (default last)",
    extras={"float_only": True},
))
