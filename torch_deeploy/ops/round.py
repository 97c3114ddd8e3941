"""Round: round half to even (ONNX), float only; part of the float quantise pattern. Integer inputs are
converted to float (rounding them is the identity)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import InferCtx, OpSpec
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    return [TensorType.floating(ctx.input(0).shape)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    return [np.round(np.asarray(inputs[0], dtype=np.float32)).astype(np.float32)]  # numpy rounds half to even


SPEC = register(OpSpec(
    name="Round",
    infer=infer,
    reference=reference,
    kernel="round",
    tiling=elementwise(),
    doc="float round half to even",
    extras={"float_only": True},
))
