"""Cast: to float32, or to an integer type (range narrowed to what the target can hold).

Integer -> integer follows two's-complement wrap-around (ONNX/numpy); float -> integer truncates
toward zero and saturates (ONNX leaves out-of-range values undefined; saturation is our choice).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import REQUIRED, Attr, InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.registry import register

FLOAT, BOOL = 1, 9
# ONNX TensorProto element type -> (bits, signed) of the integer targets we represent exactly.
INT_TARGETS: dict[int, tuple[int, bool]] = {
    2: (8, False), 3: (8, True), 4: (16, False), 5: (16, True), 6: (32, True), 7: (64, True), 12: (32, False),
}
_NAMES = {1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 9: "BOOL",
          12: "UINT32"}


def _check_to(v: int) -> str | None:
    if v in _NAMES:
        return None
    return ("unsupported target type; supported: " + ", ".join(f"{k} ({n})" for k, n in _NAMES.items())
            + " (double, float16, bfloat16, uint64, string and float8 are not represented)")


def target_bounds(to: int) -> tuple[int, int]:
    if to == BOOL:
        return 0, 1
    bits, signed = INT_TARGETS[to]
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def infer(ctx: InferCtx) -> list[TensorType]:
    x, to = ctx.input(0), ctx.attrs["to"]
    if to == FLOAT:
        return [TensorType.floating(x.shape)]
    tlo, thi = target_bounds(to)
    if x.is_float:
        return [TensorType.integer(x.shape, tlo, thi)]
    lo, hi = x.range  # type: ignore[misc]
    if to == BOOL:
        if lo > 0 or hi < 0:
            return [TensorType.integer(x.shape, 1, 1)]
        return [TensorType.integer(x.shape, 0, 0 if lo == hi == 0 else 1)]
    if tlo <= lo and hi <= thi:
        return [TensorType.integer(x.shape, lo, hi)]
    return [TensorType.integer(x.shape, tlo, thi)]  # values wrap around


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, to = np.asarray(inputs[0]), attrs["to"]
    if to == FLOAT:
        return [x.astype(np.float32)]
    if to == BOOL:
        return [(x != 0).astype(np.int64)]
    tlo, thi = target_bounds(to)
    if x.dtype.kind == "f":
        if np.isnan(x).any():
            raise OpError("cannot cast NaN to an integer type")
        t = np.trunc(x.astype(np.float64))
        return [np.clip(t, tlo, thi).astype(np.int64)]
    v = x.astype(np.int64)
    if to == 7:
        return [v]
    span = thi - tlo + 1
    return [(v - tlo) % span + tlo]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """copy (value-preserving, incl. int -> float), bool, wrap (int -> narrower int), saturate (float -> int)."""
    x, to = k.inputs[0], k.attrs["to"]
    assert x is not None
    if to == FLOAT:
        return {"mode": "copy"}
    if to == BOOL:
        return {"mode": "bool"}
    tlo, thi = target_bounds(to)
    bits, signed = INT_TARGETS[to]
    if x.is_float:
        return {"mode": "saturate", "tlo": tlo, "thi": thi}
    lo, hi = x.range  # type: ignore[misc]
    if to == 7 or (tlo <= lo and hi <= thi):
        return {"mode": "copy"}
    return {"mode": "wrap", "bits": bits, "signed": signed}


SPEC = register(OpSpec(
    name="Cast",
    attrs={
        "to": Attr("int", REQUIRED, _check_to),
        "saturate": Int(1, choices=(0, 1)),  # opset 19; only affects float8 targets, which we reject
    },
    infer=infer,
    reference=reference,
    kernel="cast",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="convert to float32 or to an integer type (wrap-around from integers, saturate from floats)",
))
