"""RequantizedSoftmax: iSoftmax (0..n-1) whose result goes straight through a RequantShift with scalar mul and add
(QuantLib requantizes the attention probabilities before the product with V), fused by passes/fold_requant.py.
Exact: y = saturate(floor((iSoftmax(x) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.ops import i_softmax, requant_shift

SPEC = requant_shift.fused_spec(i_softmax.SPEC)
