"""iRMSNorm: integer RMS normalisation over the last axis (OPERATORS.md iRMSNorm), int8-range output."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx, Int, OpSpec
from torch_deeploy.ops.common import as_int, isqrt, rng
from torch_deeploy.ops.registry import register


def signed_bounds(n: int) -> tuple[int, int]:
    return -(n // 2), n // 2 - 1


def check_param(ctx: InferCtx, i: int, what: str) -> None:
    """A per-element parameter must be integer and broadcast to x's shape without changing it."""
    x, p = ctx.input(0), ctx.input(i)
    if p.is_float:
        raise ctx.fail(f"{what} must hold integers, got {p.dtype}")
    try:
        fits = np.broadcast_shapes(p.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ctx.fail(f"{what} of shape {list(p.shape)} does not fit the input shape {list(x.shape)}"
                       f" (supported: the size of the last axis, e.g. [{x.shape[-1]}])")


def check_input(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    rng(x)
    if x.rank < 1:
        raise ctx.fail("input must have at least one dimension (normalisation runs over the last axis)")
    return x


def infer(ctx: InferCtx) -> list[TensorType]:
    x = check_input(ctx)
    check_param(ctx, 1, "weight")
    return [TensorType.integer(x.shape, *signed_bounds(ctx.attrs["n_levels"]))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, w = (as_int(a) for a in inputs)  # type: ignore[arg-type]
    if x.size == 0:
        return [np.zeros(x.shape, dtype=np.int64)]
    n_last = x.shape[-1]
    ms = np.floor_divide((x * x).sum(axis=-1, keepdims=True), n_last)
    std = isqrt(ms + 1)  # >= 1
    q = np.floor_divide(x * w, std)
    return [np.clip(np.floor_divide(q, attrs["D"]), *signed_bounds(attrs["n_levels"]))]


SPEC = register(OpSpec(
    name="iRMSNorm",
    attrs={"D": Int(power_of_two=True), "n_levels": Int(256, min=2)},
    inputs=(2, 2),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="i_rms_norm",
    doc="integer RMSNorm over the last axis: floor(x*w/isqrt(mean(x^2)+1)/D), saturated to n levels",
))
