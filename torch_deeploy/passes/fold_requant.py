"""Fold a RequantShift with scalar constant mul and add into the Gemm or MatMul that produces its input:
Gemm -> [Reshape] -> RequantShift becomes RequantizedGemm -> [Reshape], MatMul -> [Reshape] -> RequantShift
becomes RequantizedMatMul -> [Reshape].

With scalar parameters the requantization is elementwise and commutes with the Reshape view, so the linear
kernel can requantize each result as it stores it: one layer less per linear, no int32 intermediate in
memory, and no DMA of the two one-element constants. Per-channel parameters are left to RequantShift.
Runs after fold_bias_into_gemm, so the bias is already inside the Gemm.
"""

from __future__ import annotations

import numpy as np

from torch_deeploy.ir.graph import Graph
from torch_deeploy.passes._epilogue import absorb, chains, drop

# producer op -> (fused op, producer attributes it keeps)
FUSED = {"Gemm": ("RequantizedGemm", ("alpha", "beta", "transA", "transB")), "MatMul": ("RequantizedMatMul", ())}


def _scalar(g: Graph, name: str) -> int | None:
    t = g.tensors[name]
    if not t.is_constant or t.data is None or t.type.is_float or t.type.size != 1:
        return None
    return int(np.asarray(t.data).reshape(-1)[0])


def fold_requant_into_linear(g: Graph) -> Graph:
    removed: set[str] = set()
    params: set[str] = set()
    for ch in chains(g, tuple(FUSED), "RequantShift"):
        lin, rq = ch.producer, ch.consumer
        if rq.inputs[0] != ch.x:
            continue
        mul, add = _scalar(g, rq.inputs[1]), _scalar(g, rq.inputs[2])
        if mul is None or add is None:
            continue
        fused, keep = FUSED[lin.op]
        lin.op = fused
        lin.attrs = {**{k: lin.attrs[k] for k in keep}, "mul": mul, "add": add,
                     **{k: rq.attrs[k] for k in ("div", "n_levels_out", "signed")}}
        absorb(g, ch)  # the output now has the RequantShift's narrow type
        removed.add(rq.name)
        params.update(rq.inputs[1:3])
    return drop(g, removed, params) if removed else g
