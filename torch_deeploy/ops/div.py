"""Div: float true division a / b (float32). Appears only in float quantise patterns; integer inputs are
converted to float, since integer Div (truncating) has no use in the conformance graphs."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.backend.cindex import bcast
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import InferCtx, KernelNode, OpSpec
from torch_deeploy.ops.common import broadcast_shapes
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    return [TensorType.floating(broadcast_shapes(ctx.input(0).shape, ctx.input(1).shape))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    a, b = (np.asarray(x, dtype=np.float32) for x in inputs[:2])  # type: ignore[arg-type]
    with np.errstate(divide="ignore", invalid="ignore"):
        return [np.divide(a, b, dtype=np.float32)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """The shared elementwise template (binary.c.j2) in float32: y = (float)a / (float)b."""
    a, b = k.inputs[0], k.inputs[1]
    y = k.outputs[0]
    assert a is not None and b is not None
    return {"symbol": "/", "calc": "float", "ba": bcast(a.shape, y.shape), "bb": bcast(b.shape, y.shape)}


SPEC = register(OpSpec(
    name="Div",
    inputs=(2, 2),
    infer=infer,
    reference=reference,
    kernel="binary",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="float32 true division a / b with numpy broadcasting (integer inputs are converted to float)",
    extras={"float_only": True},
))
