"""iHardswish: integer hard-swish x * clip(x + three, 0, six) * one_over_six (OPERATORS.md iHardswish)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import Range, as_int, mul_ranges, rng
from torch_deeploy.ops.i_softmax import c_int_type
from torch_deeploy.ops.registry import register


def _h(x: int, three: int, six: int, k: int) -> int:
    return x * min(max(x + three, 0), six) * k


def out_range(x: Range, three: int, six: int, k: int) -> Range:
    """Exact range over integer x in [lo, hi].

    h is 0, then the quadratic k*x*(x+three), then the line k*six*x; on an integer interval each piece
    takes its extremes at the piece ends or (the quadratic) at the integers next to its vertex -three/2.
    """
    lo, hi = x
    cands = {lo, hi, -three, -three + 1, six - three - 1, six - three, (-three) // 2, -((three) // 2)}
    vals = [_h(min(max(c, lo), hi), three, six, k) for c in cands]
    return min(vals), max(vals)


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    a = ctx.attrs
    lo, hi = out_range(rng(x), a["three"], a["six"], a["one_over_six"])
    return [TensorType.integer(x.shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = as_int(inputs[0])  # type: ignore[arg-type]
    return [x * (np.clip(x + attrs["three"], 0, attrs["six"]) * attrs["one_over_six"])]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    lo, hi = rng(x)
    three, six, k6 = (k.attrs[key] for key in ("three", "six", "one_over_six"))
    g = (0, six * k6)  # clip(x + three, 0, six) * one_over_six
    p = mul_ranges((lo, hi), g)
    return {"ct": c_int_type(min(p[0], lo + min(three, 0)), max(p[1], hi + max(three, 0), six, g[1]),
                             "the iHardswish product"), "result_range": p, "rq": None}


SPEC = register(OpSpec(
    name="iHardswish",
    attrs={"three": Int(), "six": Int(min=0), "one_over_six": Int(min=0)},
    inputs=(1, 1),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="i_hardswish",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="integer hard-swish x * (clip(x + three, 0, six) * one_over_six), not requantised",
))
