"""SGD (Deeploy training op, default domain): one plain gradient step w - lr*g."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import Float, InferCtx, OpSpec
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    w, g = ctx.input(0), ctx.input(1)
    if w.shape != g.shape:
        raise ctx.fail(f"weight {list(w.shape)} and gradient {list(g.shape)} must have the same shape")
    return [TensorType.floating(w.shape)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    w = np.asarray(inputs[0], dtype=np.float32)
    g = np.asarray(inputs[1], dtype=np.float32)
    return [(w - np.float32(attrs["lr"]) * g).astype(np.float32)]


SPEC = register(OpSpec(
    name="SGD",
    attrs={"lr": Float()},
    inputs=(2, 2),
    infer=infer,
    reference=reference,
    kernel="sgd",
    tiling=elementwise(),
    doc="float weight update w - lr*g",
    extras={"float_only": True},
))
