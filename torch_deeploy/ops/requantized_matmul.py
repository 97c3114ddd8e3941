"""RequantizedMatMul: a MatMul whose result goes straight through a RequantShift with scalar mul and add.

Made by passes/fold_requant.py from MatMul -> RequantShift (e.g. the attention products of QuantLib's
integerized transformers): the MatMul kernel requantizes each result as it stores it. Exact:
y = saturate(floor((matmul(A, B) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.ops import matmul, requant_shift

SPEC = requant_shift.fused_spec(matmul.SPEC)
