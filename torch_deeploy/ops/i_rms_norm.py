"""iRMSNorm: integer RMS normalisation over the last axis (OPERATORS.md iRMSNorm), int8-range output."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.backend.cindex import bcast
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import rowwise
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import Range, as_int, isqrt, mul_ranges, rng, saturating_division_shift
from torch_deeploy.ops.i_softmax import c_int_type, rows_of, square_range
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


def norm_kernel_args(k: KernelNode) -> dict[str, Any]:
    """What the row-wise norm kernels share: rows, row length, parameter broadcasts, output bounds."""
    x = k.inputs[0]
    assert x is not None
    rows, n_last = rows_of(x.shape)
    lo, hi = signed_bounds(k.attrs["n_levels"])
    params = {}
    for i, key in ((1, "bw"), (2, "bb")):
        if i < len(k.inputs) and k.inputs[i] is not None:
            params[key] = bcast(k.inputs[i].shape, x.shape)  # type: ignore[union-attr]
    return {"rows": rows, "L": n_last, "lo": lo, "hi": hi, "log2d": k.attrs["D"].bit_length() - 1, **params}


def std_bound(sq_hi: int) -> int:
    """Upper bound of isqrt(mean + 1) for a mean of squares up to sq_hi."""
    return int(isqrt(np.asarray(min(sq_hi + 1, 2**62)))) + 1


def span(r: Range) -> Range:
    return min(r[0], -r[1]), max(r[1], -r[0])


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x, w = k.inputs[0], k.inputs[1]
    assert x is not None and w is not None
    xr = rng(x)
    n_last = max(x.shape[-1], 1)
    sq_hi = square_range(*xr)[1]
    st = c_int_type(0, sq_hi * n_last, "the iRMSNorm sum of squares")
    p = mul_ranges(xr, rng(w))
    pt = c_int_type(min(p[0], 0), max(p[1], std_bound(sq_hi), *span(xr)), "x*weight")
    args = {**norm_kernel_args(k), "st": st, "pt": pt}
    # floor(x*w / std) >> log2d = floor((x*w >> log2d) / std), by a per-row reciprocal when the product allows
    args["rshift"] = saturating_division_shift(args["lo"], args["hi"], std_bound(sq_hi)) if pt == "int32_t" else None
    return args


SPEC = register(OpSpec(
    name="iRMSNorm",
    attrs={"D": Int(power_of_two=True), "n_levels": Int(256, min=2)},
    inputs=(2, 2),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="i_rms_norm",
    kernel_args=kernel_args,
    tiling=rowwise(),
    doc="integer RMSNorm over the last axis: floor(x*w/isqrt(mean(x^2)+1)/D), saturated to n levels",
))
