"""iLayerNorm: integer layer normalisation over the last axis (OPERATORS.md iLayerNorm), int8-range output."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import rowwise
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import add_ranges, as_int, isqrt, mul_ranges, rng, trunc_div
from torch_deeploy.ops.i_rms_norm import check_input, check_param, norm_kernel_args, signed_bounds, std_bound
from torch_deeploy.ops.i_softmax import c_int_type
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


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x, w, b = k.inputs
    assert x is not None and w is not None and b is not None
    lo, hi = rng(x)
    n_last = max(x.shape[-1], 1)
    st = c_int_type(lo * n_last, hi * n_last, "the iLayerNorm row sum")
    c = (lo - hi, hi - lo)  # x - mean, the mean lying in [lo, hi]
    ct = c_int_type(min(lo, c[0]), max(hi, c[1]), "x - mean")
    sq_hi = c[1] * c[1]
    vt = c_int_type(0, sq_hi * n_last, "the iLayerNorm sum of squares")
    cw = mul_ranges(c, rng(w))
    p = add_ranges(cw, rng(b))
    pt = c_int_type(min(p[0], cw[0], c[0]), max(p[1], cw[1], c[1], std_bound(sq_hi)), "c*weight + bias")
    return {**norm_kernel_args(k), "st": st, "ct": ct, "vt": vt, "pt": pt}


SPEC = register(OpSpec(
    name="iLayerNorm",
    attrs={"D": Int(power_of_two=True), "n_levels": Int(256, min=2)},
    inputs=(3, 3),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="i_layer_norm",
    kernel_args=kernel_args,
    tiling=rowwise(),
    doc="integer LayerNorm over the last axis: (trunc(c*w/isqrt(var+1)) + b) / D, saturated to n levels",
))
