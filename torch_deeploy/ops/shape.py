"""Shape: the input's dims as a 1-D integer tensor (the ONNX frontend folds it; this is the general rule)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import Attr, InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.registry import register


def dims(shape: tuple[int, ...], attrs: dict[str, Any]) -> list[int]:
    """shape[start:end] with ONNX's clamping (negative counts from the end, then clamp to [0, rank])."""
    r = len(shape)

    def clamp(v: int) -> int:
        return min(max(v + r if v < 0 else v, 0), r)

    start = clamp(attrs["start"])
    end = r if attrs["end"] is None else clamp(attrs["end"])
    return [int(d) for d in shape[start:end]]


def infer(ctx: InferCtx) -> list[TensorType]:
    d = dims(ctx.input(0).shape, ctx.attrs)
    return [TensorType.integer((len(d),), min(d, default=0), max(d, default=0))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    assert x is not None
    return [np.asarray(dims(x.shape, attrs), dtype=np.int64)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    return {"dims": dims(x.shape, k.attrs)}


SPEC = register(OpSpec(
    name="Shape",
    attrs={"start": Int(0), "end": Attr("int", None)},
    infer=infer,
    reference=reference,
    kernel="shape",
    kernel_args=kernel_args,
    doc="dims of the input (slice start:end) as an integer vector",
))
