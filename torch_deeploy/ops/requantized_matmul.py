"""RequantizedMatMul: a MatMul whose result goes straight through a RequantShift with scalar mul and add.

Made by passes/fold_requant.py from MatMul -> RequantShift (e.g. the attention products of QuantLib's
integerized transformers): the MatMul kernel requantizes each result as it stores it. Exact:
y = saturate(floor((matmul(A, B) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import matmul_like
from torch_deeploy.ops import matmul, requant_shift
from torch_deeploy.ops.base import InferCtx, KernelNode, OpSpec
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    (y,) = matmul.infer(ctx)
    if y.is_float:
        raise ctx.fail("RequantizedMatMul needs integer operands")
    lo, hi = requant_shift.out_bounds(ctx.attrs)
    return [TensorType.integer(y.shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    (y,) = matmul.reference(inputs, attrs)
    return [requant_shift.apply_epilogue(y, attrs)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    args = matmul.kernel_args(k)
    return {**args, "rq": requant_shift.epilogue_args(args["result_range"], k.attrs)}


SPEC = register(OpSpec(
    name="RequantizedMatMul",
    attrs=dict(requant_shift.EPILOGUE_ATTRS),
    inputs=(2, 2),
    infer=infer,
    reference=reference,
    domains=("deeploy",),
    kernel="matmul",
    kernel_args=kernel_args,
    tiling=matmul_like(),
    doc="MatMul followed by RequantShift with scalar mul/add, fused by the lowering (passes/fold_requant.py)",
))
