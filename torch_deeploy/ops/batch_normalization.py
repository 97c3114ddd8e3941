"""BatchNormalization (float, inference): (x - mean) / sqrt(var + eps) * scale + bias per channel (axis 1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import Float, InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.registry import register

_PARAMS = ("scale", "B", "input_mean", "input_var")


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    if x.rank < 2:
        raise ctx.fail(f"input must have rank >= 2 (N, C, ...), got shape {list(x.shape)}")
    c = x.shape[1]
    for i, what in enumerate(_PARAMS, start=1):
        p = ctx.input(i)
        if p.shape != (c,):
            raise ctx.fail(f"{what} must have shape [{c}] (channels of axis 1), got {list(p.shape)}")
    return [TensorType.floating(x.shape)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, scale, b, mean, var = (np.asarray(a, dtype=np.float64) for a in inputs)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = scale.reshape(shape) / np.sqrt(var.reshape(shape) + attrs["epsilon"])
    return [((x - mean.reshape(shape)) * inv + b.reshape(shape)).astype(np.float32)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    return {"channels": max(x.shape[1], 1), "inner": max(int(np.prod(x.shape[2:], dtype=np.int64)), 1)}


SPEC = register(OpSpec(
    name="BatchNormalization",
    attrs={
        "epsilon": Float(1e-5),
        "momentum": Float(0.9),  # only used by training mode
        "training_mode": Int(0, choices=(0,)),  # inference only: running mean/var outputs unsupported
        "spatial": Int(1, choices=(1,)),  # opset 7-8; per-channel statistics only
    },
    inputs=(5, 5),
    infer=infer,
    reference=reference,
    kernel="batch_normalization",
    kernel_args=kernel_args,
    tiling=elementwise(channel_params=(1, 2, 3, 4), force_channel=True),
    doc="float inference batch norm with running statistics, per channel (axis 1)",
    extras={"float_only": True},
))
