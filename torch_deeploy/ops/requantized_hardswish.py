"""RequantizedHardswish: iHardswish whose int32 result goes straight through a RequantShift with scalar mul and
add (QuantLib follows every iHardswish with one), fused by passes/fold_requant.py: one layer instead of two, and
no int32 intermediate. Exact: y = saturate(floor((iHardswish(x) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.ops import i_hardswish, requant_shift

SPEC = requant_shift.fused_spec(i_hardswish.SPEC)
