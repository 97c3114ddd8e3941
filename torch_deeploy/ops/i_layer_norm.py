"""iLayerNorm: integer layer normalisation over the last axis (OPERATORS.md iLayerNorm), int8-range output."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx, Int, OpSpec
from torch_deeploy.ops.common import as_int, isqrt, trunc_div
from torch_deeploy.ops.i_rms_norm import check_input, check_param, signed_bounds
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    x = check_input(ctx)
    check_param(ctx, 1, "weight")
    check_param(ctx, 2, "bias")
    return [TensorType.integer(x.shape, *signed_bounds(ctx.attrs["n_levels"]))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, w, b = (as_int(a) for a in inputs)  # type: ignore[arg-type]
    if x.size == 0:
        return [np.zeros(x.shape, dtype=np.int64)]
    n_last = x.shape[-1]
    mean = trunc_div(x.sum(axis=-1, keepdims=True), n_last)  # toward zero
    c = x - mean
    var = np.floor_divide((c * c).sum(axis=-1, keepdims=True), n_last)
    std = isqrt(var + 1)  # >= 1
    v = trunc_div(c * w, std) + b  # toward zero
    return [np.clip(np.floor_divide(v, attrs["D"]), *signed_bounds(attrs["n_levels"]))]


SPEC = register(OpSpec(
    name="iLayerNorm",
    attrs={"D": Int(power_of_two=True), "n_levels": Int(256, min=2)},
    inputs=(3, 3),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="i_layer_norm",
    doc="integer LayerNorm over the last axis: (trunc(c*w/isqrt(var+1)) + b) / D, saturated to n levels",
))
