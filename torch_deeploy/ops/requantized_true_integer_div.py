"""RequantizedTrueIntegerDiv: TrueIntegerDiv whose int32 result goes straight through a RequantShift with scalar
mul and add (QuantLib follows every TrueIntegerDiv with one), fused by passes/fold_requant.py: one layer instead
of two, and no int32 intermediate. Exact: y = saturate(floor((TrueIntegerDiv(x) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops import requant_shift, true_integer_div
from torch_deeploy.ops.base import OpSpec
from torch_deeploy.ops.registry import register

infer, reference, kernel_args = requant_shift.with_epilogue(
    "RequantizedTrueIntegerDiv", true_integer_div.SPEC.infer, true_integer_div.SPEC.reference,
    true_integer_div.kernel_args)

SPEC = register(OpSpec(
    name="RequantizedTrueIntegerDiv",
    attrs={**true_integer_div.SPEC.attrs, **requant_shift.EPILOGUE_ATTRS},
    inputs=(1, 1),
    infer=infer,
    reference=reference,
    domains=("deeploy",),
    kernel="true_integer_div",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="TrueIntegerDiv followed by RequantShift with scalar mul/add, fused by the lowering (passes/fold_requant.py)",
))
