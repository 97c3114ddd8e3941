"""RequantizedGemm: a Gemm whose result goes straight through a RequantShift with scalar mul and add.

Not an ONNX or QuantLib operator: the lowering pass passes/fold_requant.py makes it from Gemm -> RequantShift
(QuantLib's integer linear layer) so that the Gemm kernel requantizes in its output stage. One layer less per
linear (fork, DMA of the int32 result and of the two one-element constants), and the int32 intermediate
never exists. Exact: y = saturate(floor((gemm(A, B, C) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.midend.regions import gemm_rule
from torch_deeploy.ops import gemm, requant_shift
from torch_deeploy.ops.base import Float, Int, OpSpec
from torch_deeploy.ops.registry import register

infer, reference, kernel_args = requant_shift.with_epilogue("RequantizedGemm", gemm.infer, gemm.reference,
                                                            gemm.kernel_args)

SPEC = register(OpSpec(
    name="RequantizedGemm",
    attrs={"alpha": Float(1.0), "beta": Float(1.0), "transA": Int(0, choices=(0, 1)),
           "transB": Int(0, choices=(0, 1)), **requant_shift.EPILOGUE_ATTRS},
    inputs=(2, 3),
    infer=infer,
    reference=reference,
    domains=("deeploy",),
    kernel="gemm",
    kernel_args=kernel_args,
    tiling=gemm_rule,
    doc="Gemm followed by RequantShift with scalar mul/add, fused by the lowering (passes/fold_requant.py)",
))
