"""Relu: max(x, 0), for integer (range clipped at 0) or float tensors."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import InferCtx, OpSpec
from torch_deeploy.ops.common import as_int, rng
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    if x.is_float:
        return [TensorType.floating(x.shape)]
    lo, hi = rng(x)
    return [TensorType.integer(x.shape, max(lo, 0), max(hi, 0))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = np.asarray(inputs[0])
    if x.dtype.kind == "f":
        return [np.maximum(x.astype(np.float32), np.float32(0))]
    return [np.maximum(as_int(x), 0)]


SPEC = register(OpSpec(
    name="Relu",
    infer=infer,
    reference=reference,
    kernel="relu",
    tiling=elementwise(),
    doc="max(x, 0), integer or float",
))
