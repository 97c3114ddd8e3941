"""RequantizedMatMul: a MatMul whose result goes straight through a RequantShift with scalar mul and add.

Made by passes/fold_requant.py from MatMul -> RequantShift (e.g. the attention products of QuantLib's
integerized transformers): the MatMul kernel requantizes each result as it stores it. Exact:
y = saturate(floor((matmul(A, B) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.midend.regions import matmul_like
from torch_deeploy.ops import matmul, requant_shift
from torch_deeploy.ops.base import OpSpec
from torch_deeploy.ops.registry import register

infer, reference, kernel_args = requant_shift.with_epilogue("RequantizedMatMul", matmul.infer, matmul.reference,
                                                            matmul.kernel_args)

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
