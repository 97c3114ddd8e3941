"""iGELU: I-BERT polynomial integer GELU (OPERATORS.md iGELU); int32-range output, not requantised."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import REQUIRED, Attr, InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import Range, as_int, mul_ranges, rng, scale_range
from torch_deeploy.ops.i_softmax import c_int_type
from torch_deeploy.ops.registry import register


def _square_range(lo: int, hi: int) -> Range:
    if lo >= 0:
        return lo * lo, hi * hi
    if hi <= 0:
        return hi * hi, lo * lo
    return 0, max(lo * lo, hi * hi)


def out_range(x: Range, b: int, one: int) -> Range:
    """Bound of y over integer x in [lo, hi], taking the four pieces of the formula separately.

    |x| >= -b: q + b = 0, so y = x*one for x > 0 and y = 0 for x < 0. Inside (0 < |x| < -b) the factor
    f = floor((one + L)/2) is bounded from the range of (q + b)^2 and multiplied with the x interval.
    """
    lo, hi = x
    parts: list[Range] = []
    if lo <= 0 <= hi or lo <= b:
        parts.append((0, 0))  # x = 0, and x <= b (factor 0)
    p_lo, p_hi = max(lo, -b), hi  # x >= -b: factor one
    if p_lo <= p_hi and p_hi > 0:
        parts.append(scale_range((max(p_lo, 1), p_hi), one))
    i_lo, i_hi = max(lo, 1), min(hi, -b - 1)  # 0 < x < -b: q + b = x + b
    if i_lo <= i_hi:
        s_lo, s_hi = _square_range(i_lo + b, i_hi + b)
        parts.append(mul_ranges((i_lo, i_hi), ((2 * one - s_hi) // 2, (2 * one - s_lo) // 2)))
    n_lo, n_hi = max(lo, b + 1), min(hi, -1)  # b < x < 0: q + b = b - x, one + L = (q + b)^2
    if n_lo <= n_hi:
        s_lo, s_hi = _square_range(b - n_hi, b - n_lo)
        parts.append(mul_ranges((n_lo, n_hi), (s_lo // 2, s_hi // 2)))
    return min(p[0] for p in parts), max(p[1] for p in parts)


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    lo, hi = out_range(rng(x), ctx.attrs["b"], ctx.attrs["one"])
    return [TensorType.integer(x.shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = as_int(inputs[0])  # type: ignore[arg-type]
    b, one = attrs["b"], attrs["one"]
    q = np.minimum(np.abs(x), -b)
    lin = np.sign(x) * (one - (q + b) ** 2)
    return [x * np.floor_divide(one + lin, 2)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    lo, hi = rng(x)
    b, one = k.attrs["b"], k.attrs["one"]
    big = max(abs(lo), abs(hi))  # |x|
    f = (-(b * b) - 2 * abs(one), 2 * abs(one) + b * b)  # bounds of one + L and of L
    p = mul_ranges((lo, hi), f)
    return {"ct": c_int_type(min(-big, p[0], b), max(big, p[1], -b), "the iGELU product")}


SPEC = register(OpSpec(
    name="iGELU",
    attrs={
        "b": Attr("int", REQUIRED, lambda v: "must be <= 0 (the negative clip point)" if v > 0 else None),
        "one": Int(min=1),
    },
    inputs=(1, 1),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="i_gelu",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="I-BERT integer GELU: x * floor((one + sign(x)*(one - (min(|x|,-b)+b)^2)) / 2), not requantised",
))
