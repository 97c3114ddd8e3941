"""RequantizedMul: Mul (a * b, numpy broadcasting) whose result goes straight through a RequantShift with
scalar mul and add, fused by passes/fold_requant.py (QuantLib's integer residual adds and gated products are
followed by one). Exact: y = saturate(floor(((a * b) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.ops import mul, requant_shift

SPEC = requant_shift.fused_spec(mul.SPEC)
