"""Fold a constant bias Add into the Gemm that produces its other operand: Gemm(A, B) -> Add(., bias) becomes
Gemm(A, B, C=bias) with beta = 1.

QuantLib's integerized linear layers are MatMul followed by Add(bias); after transpose_matmul_weights the
MatMul is a Gemm (with a Reshape view back to the original rank in between). Adding the bias in the Gemm
kernel's output stage removes a whole layer per linear (its fork, DMA and an extra pass over the int32
accumulators). Both forms are exact integer arithmetic, so the result is bit-identical.

Folded only when the bias varies along the last (column) axis alone, the Add does not broadcast the Gemm
output to a larger shape, and the intermediate tensors have no other reader.
"""

from __future__ import annotations

import numpy as np

from torch_deeploy.ir.graph import Graph, Node, Role, Tensor


def _column_bias(bias: Tensor, out_shape: tuple[int, ...], n: int) -> np.ndarray | None:
    """The bias as a length-n column vector, or None when it is not constant along all other axes."""
    if not bias.is_constant or bias.data is None or bias.type.is_float or bias.type.rank > len(out_shape):
        return None
    shape = (1,) * (len(out_shape) - bias.type.rank) + tuple(bias.type.shape)
    if any(s != 1 for s in shape[:-1]) or shape[-1] not in (1, n):
        return None
    return np.broadcast_to(np.asarray(bias.data).reshape(-1), (n,)).copy()


def fold_bias_into_gemm(g: Graph) -> Graph:
    consumers = g.consumers()
    outputs = set(g.outputs)

    def only_reader(t: str) -> Node | None:
        readers = consumers.get(t, [])
        return readers[0] if len(readers) == 1 and t not in outputs else None

    removed: set[str] = set()
    old_biases: set[str] = set()
    for gemm in g.nodes:
        if gemm.op != "Gemm" or gemm.name in removed or (len(gemm.inputs) > 2 and gemm.inputs[2]):
            continue
        y = g.tensors[gemm.outputs[0]]
        if y.type.is_float:
            continue
        n = y.type.shape[1]
        step = only_reader(y.name)
        reshape = step if step is not None and step.op == "Reshape" else None
        add = only_reader(reshape.outputs[0]) if reshape is not None else step
        if add is None or add.op != "Add" or add.engine != gemm.engine:
            continue
        x = reshape.outputs[0] if reshape is not None else y.name
        other = add.inputs[1] if add.inputs[0] == x else add.inputs[0]
        if other == x:
            continue
        z = g.tensors[add.outputs[0]]
        x_shape = g.tensors[x].type.shape
        bias = _column_bias(g.tensors[other], x_shape, n)
        if bias is None or z.type.shape != x_shape or z.type.is_float:
            continue
        c_name = _fresh(g, f"{gemm.name}_bias")
        g.tensors[c_name] = Tensor(c_name, g.tensors[other].type.with_shape((n,)), Role.CONSTANT,
                                   bias.astype(np.int64))
        gemm.inputs = [*gemm.inputs[:2], c_name]
        gemm.attrs = {**gemm.attrs, "beta": 1.0}
        if reshape is None:  # the Gemm now writes the Add's output
            del g.tensors[y.name]
            gemm.outputs = [z.name]
        else:  # Gemm -> Reshape (view) -> the Add's output; the int32 range widens to the Add's
            g.tensors[y.name] = Tensor(y.name, z.type.with_shape(y.type.shape), y.role)
            del g.tensors[reshape.outputs[0]]
            reshape.outputs = [z.name]
        removed.add(add.name)
        old_biases.add(other)
    if not removed:
        return g
    g.nodes = [nd for nd in g.nodes if nd.name not in removed]
    used = {i for nd in g.nodes for i in nd.inputs if i}
    for name in old_biases - used - outputs:  # the original bias constants, when nothing else reads them
        del g.tensors[name]
    return g


def _fresh(g: Graph, base: str) -> str:
    name, i = base, 0
    while name in g.tensors:
        i += 1
        name = f"{base}_{i}"
    return name
