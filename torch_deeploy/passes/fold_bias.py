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

from torch_deeploy.ir.graph import Graph, Role, Tensor
from torch_deeploy.passes._epilogue import absorb, chains, drop, fresh


def column_bias(bias: Tensor, out_shape: tuple[int, ...], n: int) -> np.ndarray | None:
    """The bias as a length-n column vector, or None when it is not constant along all other axes."""
    if not bias.is_constant or bias.data is None or bias.type.is_float or bias.type.rank > len(out_shape):
        return None
    shape = (1,) * (len(out_shape) - bias.type.rank) + tuple(bias.type.shape)
    if any(s != 1 for s in shape[:-1]) or shape[-1] not in (1, n):
        return None
    return np.broadcast_to(np.asarray(bias.data).reshape(-1), (n,)).copy()


def fold_bias_into_gemm(g: Graph) -> Graph:
    removed: set[str] = set()
    old_biases: set[str] = set()
    for ch in chains(g, ("Gemm",), "Add"):
        gemm, add = ch.producer, ch.consumer
        if len(gemm.inputs) > 2 and gemm.inputs[2]:
            continue
        other = add.inputs[1] if add.inputs[0] == ch.x else add.inputs[0]
        if other == ch.x:
            continue
        z = g.tensors[add.outputs[0]]
        x_shape = g.tensors[ch.x].type.shape
        n = g.tensors[gemm.outputs[0]].type.shape[1]
        bias = column_bias(g.tensors[other], x_shape, n)
        if bias is None or z.type.shape != x_shape or z.type.is_float:
            continue
        c_name = fresh(g, f"{gemm.name}_bias")
        g.tensors[c_name] = Tensor(c_name, g.tensors[other].type.with_shape((n,)), Role.CONSTANT,
                                   bias.astype(np.int64))
        gemm.inputs = [*gemm.inputs[:2], c_name]
        gemm.attrs = {**gemm.attrs, "beta": 1.0}
        absorb(g, ch)  # the int32 range widens to the Add's
        removed.add(add.name)
        old_biases.add(other)
    return drop(g, removed, old_biases) if removed else g
