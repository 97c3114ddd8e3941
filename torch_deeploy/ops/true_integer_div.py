"""TrueIntegerDiv: division by a constant as multiplication by K = floor(Delta*eta/(y*eta+eps)).

OPERATORS.md TrueIntegerDiv: the goldens pin the result to x*K (not a rounded division); a RequantShift
follows it in every network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import as_int, rng, scale_range
from torch_deeploy.ops.i_softmax import c_int_type
from torch_deeploy.ops.registry import register


def factor(attrs: dict[str, Any]) -> int:
    den = attrs["y"] * attrs["eta"] + attrs["eps"]
    if den == 0:
        raise OpError(f"y*eta + eps = {attrs['y']}*{attrs['eta']} + {attrs['eps']} is 0: cannot divide by it")
    return (attrs["Delta"] * attrs["eta"]) // den


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    lo, hi = scale_range(rng(x), factor(ctx.attrs))
    return [TensorType.integer(x.shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    return [as_int(inputs[0]) * factor(attrs)]  # type: ignore[arg-type]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    kf = factor(k.attrs)
    lo, hi = scale_range(rng(x), kf)
    return {"k": kf, "ct": c_int_type(min(lo, -abs(kf)), max(hi, abs(kf)), "x*K"), "result_range": (lo, hi), "rq": None}


SPEC = register(OpSpec(
    name="TrueIntegerDiv",
    attrs={"Delta": Int(), "eps": Int(), "eta": Int(), "y": Int()},
    inputs=(1, 1),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="true_integer_div",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="x * floor(Delta*eta / (y*eta + eps)): QuantLib's division by the constant y, not requantised",
))
