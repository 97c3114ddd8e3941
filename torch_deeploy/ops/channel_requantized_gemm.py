"""ChannelRequantizedGemm: Y = RequantShift(A @ op(B)) with one multiplier and one offset per output column (the
Gemm's bias folded into the offsets: bias*mul + add, exact), made by passes/fold_requant.py from Gemm ->
RequantShift when the requantization varies per column (QuantLib's per-channel linear layers). The Gemm kernel
requantizes each result as it stores it, reading its column's pair: one layer less, and no int32 intermediate.

Not an ONNX or QuantLib operator. Exact: y[r, c] = saturate(floor((dot(A[r], B[:, c]) * mul[c] + add[c] + div/2)
/ div)). The kernel computes in 32 bits: the pass folds only when every v * mul[c] + add[c] + div/2 fits int32, or
gives two more inputs, per column the clamp [v_lo[c], v_hi[c]] of v beyond which the output saturates anyway
(requant_shift.preclip_bounds), after which it fits. The clamp changes no output, so the reference ignores it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops import gemm, requant_shift
from torch_deeploy.ops._fused import register_fused
from torch_deeploy.ops.base import InferCtx, Int, KernelNode
from torch_deeploy.ops.common import as_int

# the Gemm's own attributes are fixed: alpha 1, no C (beta 0); the per-column parameters are inputs 2 and 3
ATTRS = {k: v for k, v in requant_shift.EPILOGUE_ATTRS.items() if k not in ("mul", "add")}


def _gemm_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    return {**attrs, "alpha": 1.0, "beta": 0.0}


def infer(ctx: InferCtx) -> list[TensorType]:
    (y,) = gemm.infer(replace(ctx, attrs=_gemm_attrs(ctx.attrs), inputs=ctx.inputs[:2], consts=ctx.consts[:2]))
    if y.is_float:
        raise ctx.fail("ChannelRequantizedGemm needs integer operands")
    n = y.shape[1]
    for i, what in ((2, "mul"), (3, "add"), (4, "v_lo"), (5, "v_hi")):
        if ctx.has_input(i) and ctx.input(i).shape != (n,):
            raise ctx.fail(f"{what} must hold one value per output column ({n}), got shape {list(ctx.input(i).shape)}")
    return [TensorType.integer(y.shape, *requant_shift.out_bounds(ctx.attrs))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    (y,) = gemm.reference(inputs[:2], _gemm_attrs(attrs))
    mul, add = as_int(np.asarray(inputs[2])), as_int(np.asarray(inputs[3]))
    return requant_shift.reference([y, mul, add], attrs)


def kernel_args(k: KernelNode) -> dict[str, Any]:
    k2 = replace(k, attrs=_gemm_attrs(k.attrs), inputs=k.inputs[:2], consts=k.consts[:2])
    lo, hi = requant_shift.out_bounds(k.attrs)
    div = k.attrs["div"]
    return {**gemm.kernel_args(k2), "crq": {"log2d": div.bit_length() - 1, "half": div // 2, "lo": lo, "hi": hi,
                                            "preclip": len(k.inputs) > 4}}


SPEC = register_fused(gemm.SPEC, "ChannelRequantizedGemm",
                      {**ATTRS, "transA": Int(0, choices=(0, 1)), "transB": Int(0, choices=(0, 1))},
                      infer, reference, kernel_args, "RequantShift with per-column mul/add", "passes/fold_requant.py",
                      inputs=(4, 6), own_attrs_only=True)
