"""Fold a Clip with constant bounds into the Add, Sub or Mul that produces its input: Add -> [Reshape] -> Clip becomes
ClippedAdd -> [Reshape] (and so on). The kernel clamps each result as it stores it: one layer less, and the
unclipped (wider) intermediate is never written and read back. An attention score plus its mask, clipped to the
softmax's input range, is the case this is for.
"""

from __future__ import annotations

from torch_deeploy.ir.graph import Graph
from torch_deeploy.passes._epilogue import absorb, chains, drop, scalar_constant

FOLDS_INTO = ("Add", "Sub", "Mul")
UNBOUNDED = (-(1 << 63), (1 << 63) - 1)


def _bound(g: Graph, clip_inputs: list[str], attrs: dict, i: int, key: str) -> int | None | bool:
    """The constant integer bound (None: absent), or False when it is not a constant integer."""
    if i < len(clip_inputs) and clip_inputs[i]:
        v = scalar_constant(g, clip_inputs[i])
        return False if v is None else v
    v = attrs.get(key)
    if v is None:
        return None
    return int(v) if float(v).is_integer() else False


def fold_clip_into_elementwise(g: Graph) -> Graph:
    removed: set[str] = set()
    params: set[str] = set()
    for ch in chains(g, FOLDS_INTO, "Clip"):
        op, clip = ch.producer, ch.consumer
        if clip.inputs[0] != ch.x or g.tensors[clip.outputs[0]].type.is_float:
            continue
        lo, hi = _bound(g, clip.inputs, clip.attrs, 1, "min"), _bound(g, clip.inputs, clip.attrs, 2, "max")
        if lo is False or hi is False:
            continue
        op.op = "Clipped" + op.op
        op.attrs = {**op.attrs, "clip_min": UNBOUNDED[0] if lo is None else lo,
                    "clip_max": UNBOUNDED[1] if hi is None else hi}
        absorb(g, ch)  # the output takes the Clip's narrower type
        removed.add(clip.name)
        params.update(i for i in clip.inputs[1:] if i)
    return drop(g, removed, params) if removed else g
