"""RequantizedTrueIntegerDiv: TrueIntegerDiv whose int32 result goes straight through a RequantShift with scalar
mul and add (QuantLib follows every TrueIntegerDiv with one), fused by passes/fold_requant.py: one layer instead
of two, and no int32 intermediate. Exact: y = saturate(floor((TrueIntegerDiv(x) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.ops import requant_shift, true_integer_div

SPEC = requant_shift.fused_spec(true_integer_div.SPEC)
