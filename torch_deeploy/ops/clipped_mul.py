"""ClippedMul: Mul (a * b, numpy broadcasting) whose result goes straight through a Clip with constant bounds,
fused by passes/fold_clip.py (an attention score plus its mask, clipped to the softmax's input range). Exact:
y = min(max(a * b, clip_min), clip_max).
"""

from __future__ import annotations

from torch_deeploy.ops import clip, mul

SPEC = clip.fused_spec(mul.SPEC)
