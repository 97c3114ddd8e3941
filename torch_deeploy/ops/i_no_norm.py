"""iNoNorm: elementwise affine NoNorm (MobileBERT) in integers (OPERATORS.md iNoNorm), int8-range output."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.backend.cindex import bcast
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import (
    add_ranges,
    as_int,
    broadcast_shapes,
    clamp_range,
    mul_ranges,
    rng,
    scale_range,
)
from torch_deeploy.ops.i_rms_norm import signed_bounds
from torch_deeploy.ops.i_softmax import c_int_type
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    x, w, b = ctx.input(0), ctx.input(1), ctx.input(2)
    for t, what in ((x, "input"), (w, "weight"), (b, "bias")):
        if t.is_float:
            raise ctx.fail(f"{what} must hold integers, got {t.dtype}")
    shape = broadcast_shapes(x.shape, w.shape, b.shape)
    d, mul = ctx.attrs["D"], ctx.attrs["mul"]
    t_lo, t_hi = scale_range(add_ranges(mul_ranges(rng(x), rng(w)), rng(b)), mul)
    lo, hi = clamp_range((t_lo // d, t_hi // d), *signed_bounds(ctx.attrs["n_levels"]))
    return [TensorType.integer(shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, w, b = (as_int(a) for a in inputs)  # type: ignore[arg-type]
    y = np.floor_divide((x * w + b) * attrs["mul"], attrs["D"])  # arithmetic shift, no rounding term
    return [np.clip(y, *signed_bounds(attrs["n_levels"]))]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x, w, b = k.inputs
    assert x is not None and w is not None and b is not None
    y = k.outputs[0]
    xw = mul_ranges(rng(x), rng(w))
    s = add_ranges(xw, rng(b))
    t = scale_range(s, k.attrs["mul"])
    ct = c_int_type(min(xw[0], s[0], t[0]), max(xw[1], s[1], t[1]), "(x*weight + bias)*mul")
    lo, hi = signed_bounds(k.attrs["n_levels"])
    return {"bx": bcast(x.shape, y.shape), "bw": bcast(w.shape, y.shape), "bb": bcast(b.shape, y.shape),
            "ct": ct, "lo": lo, "hi": hi, "log2d": k.attrs["D"].bit_length() - 1}


SPEC = register(OpSpec(
    name="iNoNorm",
    attrs={"D": Int(power_of_two=True), "mul": Int(), "n_levels": Int(256, min=2)},
    inputs=(3, 3),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="i_no_norm",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="integer NoNorm: floor((x*weight + bias)*mul / D), saturated to n levels",
))
