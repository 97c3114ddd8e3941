"""LayerNormalization (float): normalise over dims axis.. with scale and optional bias; output Y only."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.backend.cindex import bcast
from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import from_axis
from torch_deeploy.ops.base import Float, InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.registry import register


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise OpError(f"axis {axis} is out of range for input rank {rank} (allowed {-rank}..{rank - 1})")
    return axis + rank if axis < 0 else axis


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    axis = _axis(ctx.attrs["axis"], x.rank)
    for i, what in ((1, "Scale"), (2, "B")):
        if not ctx.has_input(i):
            continue
        p = ctx.input(i)
        try:
            ok = np.broadcast_shapes(p.shape, x.shape[axis:]) == x.shape[axis:]
        except ValueError:
            ok = False
        if not ok:
            raise ctx.fail(f"{what} of shape {list(p.shape)} does not broadcast to the normalised shape "
                           f"{list(x.shape[axis:])}")
    return [TensorType.floating(x.shape)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = np.asarray(inputs[0], dtype=np.float64)
    scale = np.asarray(inputs[1], dtype=np.float64)
    bias = inputs[2] if len(inputs) > 2 else None
    axes = tuple(range(_axis(attrs["axis"], x.ndim), x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + attrs["epsilon"]) * scale
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float64)
    return [y.astype(np.float32)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """Rows = dims before axis, d = elements normalised together; Scale/B read by index within a row."""
    x, scale = k.inputs[0], k.inputs[1]
    assert x is not None and scale is not None
    axis = _axis(k.attrs["axis"], x.rank)
    norm = x.shape[axis:]
    bias = k.inputs[2] if len(k.inputs) > 2 else None
    return {"rows": int(np.prod(x.shape[:axis], dtype=np.int64)), "d": int(np.prod(norm, dtype=np.int64)),
            "bscale": bcast(scale.shape, norm), "bbias": bcast(bias.shape, norm) if bias is not None else None}


SPEC = register(OpSpec(
    name="LayerNormalization",
    attrs={
        "axis": Int(-1),
        "epsilon": Float(1e-5),
        "stash_type": Int(1, choices=(1,)),  # float32 statistics (computed here in float64)
    },
    inputs=(2, 3),
    # The optional Mean and InvStdDev outputs are not supported: a node listing them is rejected.
    outputs=(1, 1),
    infer=infer,
    reference=reference,
    kernel="layer_normalization",
    kernel_args=kernel_args,
    tiling=from_axis(lambda k: _axis(k.attrs["axis"], len(k.outputs[0].shape))),
    doc="float layer norm over dims axis..last, output Y only",
    extras={"float_only": True},
))
