"""RequantizedHardswish: iHardswish whose int32 result goes straight through a RequantShift with scalar mul and
add (QuantLib follows every iHardswish with one), fused by passes/fold_requant.py: one layer instead of two, and
no int32 intermediate. Exact: y = saturate(floor((iHardswish(x) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops import i_hardswish, requant_shift
from torch_deeploy.ops.base import OpSpec
from torch_deeploy.ops.registry import register

infer, reference, kernel_args = requant_shift.with_epilogue(
    "RequantizedHardswish", i_hardswish.SPEC.infer, i_hardswish.SPEC.reference, i_hardswish.kernel_args)

SPEC = register(OpSpec(
    name="RequantizedHardswish",
    attrs={**i_hardswish.SPEC.attrs, **requant_shift.EPILOGUE_ATTRS},
    inputs=(1, 1),
    infer=infer,
    reference=reference,
    domains=("deeploy",),
    kernel="i_hardswish",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="iHardswish followed by RequantShift with scalar mul/add, fused by the lowering (passes/fold_requant.py)",
))
