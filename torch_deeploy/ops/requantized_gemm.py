"""RequantizedGemm: a Gemm whose result goes straight through a RequantShift with scalar mul and add.

Not an ONNX or QuantLib operator: the lowering pass passes/fold_requant.py makes it from Gemm -> RequantShift
(QuantLib's integer linear layer) so that the Gemm kernel requantizes in its output stage. One layer less per
linear (fork, DMA of the int32 result and of the two one-element constants), and the int32 intermediate
never exists. Exact: y = saturate(floor((gemm(A, B, C) * mul + add + div/2) / div)).
"""

from __future__ import annotations

from torch_deeploy.ops import gemm, requant_shift

SPEC = requant_shift.fused_spec(gemm.SPEC)
