"""Fold a RequantShift with scalar constant mul and add into the Gemm or MatMul that produces its input:
Gemm -> [Reshape] -> RequantShift becomes RequantizedGemm -> [Reshape], MatMul -> [Reshape] -> RequantShift
becomes RequantizedMatMul -> [Reshape].

With scalar parameters the requantization is elementwise and commutes with the Reshape view, so the linear
kernel can requantize each result as it stores it: one layer less per linear, no int32 intermediate in
memory, and no DMA of the two one-element constants. Per-channel parameters are left to RequantShift.
Runs after fold_bias_into_lin, so the bias is already inside the Gemm.
"""

from __future__ import annotations

import numpy as np

from torch_deeploy.ir.graph import Graph, Node, Tensor

# producer op -> (fused op, producer attributes it keeps)
FUSED = {"Gemm": ("RequantizedGemm", ("alpha", "beta", "transA", "transB")), "MatMul": ("RequantizedMatMul", ())}


def _scalar(g: Graph, name: str) -> int | None:
    t = g.tensors[name]
    if not t.is_constant or t.data is None or t.type.is_float or t.type.size != 1:
        return None
    return int(np.asarray(t.data).reshape(-1)[0])


def fold_requant_into_linear(g: Graph) -> Graph:
    consumers = g.consumers()
    outputs = set(g.outputs)

    def only_reader(t: str) -> Node | None:
        readers = consumers.get(t, [])
        return readers[0] if len(readers) == 1 and t not in outputs else None

    removed: set[str] = set()
    params: set[str] = set()
    for lin in g.nodes:
        if lin.op not in FUSED or g.tensors[lin.outputs[0]].type.is_float:
            continue
        y = g.tensors[lin.outputs[0]]
        step = only_reader(y.name)
        reshape = step if step is not None and step.op == "Reshape" else None
        rq = only_reader(reshape.outputs[0]) if reshape is not None else step
        if rq is None or rq.op != "RequantShift" or rq.engine != lin.engine:
            continue
        x = reshape.outputs[0] if reshape is not None else y.name
        if rq.inputs[0] != x:
            continue
        mul, add = _scalar(g, rq.inputs[1]), _scalar(g, rq.inputs[2])
        if mul is None or add is None:
            continue
        z = g.tensors[rq.outputs[0]]
        fused, keep = FUSED[lin.op]
        lin.op = fused
        lin.attrs = {**{k: lin.attrs[k] for k in keep}, "mul": mul, "add": add,
                    **{k: rq.attrs[k] for k in ("div", "n_levels_out", "signed")}}
        if reshape is None:  # the fused node writes the RequantShift's output
            del g.tensors[y.name]
            lin.outputs = [z.name]
        else:  # fused op -> Reshape (view) -> the RequantShift's output, now in the narrow type
            g.tensors[y.name] = Tensor(y.name, z.type.with_shape(y.type.shape), y.role)
            del g.tensors[reshape.outputs[0]]
            reshape.outputs = [z.name]
        removed.add(rq.name)
        params.update(rq.inputs[1:3])
    if not removed:
        return g
    g.nodes = [nd for nd in g.nodes if nd.name not in removed]
    used = {i for nd in g.nodes for i in nd.inputs if i}
    for name in params - used - outputs:
        del g.tensors[name]
    return g
