"""Store constant MatMul weights transposed, so that the reduction dim K is contiguous for both operands.

MatMul(A[..., M, K], B[K, N]) with an integer constant 2-D B becomes Gemm(A', B^T, transB=1) with a new
constant B^T[N, K] (A' = A reshaped to [-1, K] and the output reshaped back when A has more than 2 dims;
those Reshapes are views, no copy). Both forms have the same ONNX semantics and numpy references, so the
contract is unchanged; the Gemm kernel then reads rows of A and rows of B^T with packed SIMD.
"""

from __future__ import annotations

import numpy as np

from torch_deeploy.ir.graph import Graph, Node, Role, Tensor, TensorType
from torch_deeploy.passes._epilogue import fresh

RESHAPE_ATTRS = {"allowzero": 0, "shape": None, "consumed_inputs": None}


def transpose_matmul_weights(g: Graph) -> Graph:
    node_names = {n.name for n in g.nodes}
    transposed: dict[str, str] = {}
    out_nodes: list[Node] = []
    changed = False
    for n in g.nodes:
        if n.op != "MatMul" or len(n.inputs) != 2 or not all(n.inputs):
            out_nodes.append(n)
            continue
        a, b, y = g.tensors[n.inputs[0]], g.tensors[n.inputs[1]], g.tensors[n.outputs[0]]
        if (not b.is_constant or b.data is None or b.type.rank != 2 or a.type.rank < 2
                or a.type.is_float or b.type.is_float or y.type.is_float or a.type.shape[-1] != b.type.shape[0]):
            out_nodes.append(n)
            continue
        changed = True
        k, nn = b.type.shape
        if b.name not in transposed:
            bt = fresh(g, b.name + "_T")
            data = np.ascontiguousarray(b.data.T)
            g.tensors[bt] = Tensor(bt, b.type.with_shape((nn, k)), Role.CONSTANT, data)
            transposed[b.name] = bt
        bt = transposed[b.name]
        rows = int(np.prod(a.type.shape[:-1], dtype=np.int64))
        a2, y2 = a.name, y.name
        if a.type.rank > 2:
            shp = fresh(g, n.name + "_shape_a")
            g.tensors[shp] = Tensor(shp, TensorType.integer((2,), min(rows, k), max(rows, k)), Role.CONSTANT,
                                    np.array([rows, k], dtype=np.int64))
            a2 = fresh(g, a.name + "_2d")
            g.tensors[a2] = Tensor(a2, a.type.with_shape((rows, k)), Role.ACTIVATION)
            rname = _fresh_node(node_names, n.name + "_reshape_a")
            out_nodes.append(Node(rname, "Reshape", [a.name, shp], [a2], dict(RESHAPE_ATTRS)))
            y2 = fresh(g, y.name + "_2d")
            g.tensors[y2] = Tensor(y2, y.type.with_shape((rows, nn)), Role.ACTIVATION)
        gemm_attrs = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 1}
        out_nodes.append(Node(n.name, "Gemm", [a2, bt], [y2], gemm_attrs, n.engine))
        if y2 != y.name:
            shp = fresh(g, n.name + "_shape_y")
            dims = np.array(y.type.shape, dtype=np.int64)
            g.tensors[shp] = Tensor(shp, TensorType.integer(dims.shape, int(dims.min()), int(dims.max())),
                                    Role.CONSTANT, dims)
            rname = _fresh_node(node_names, n.name + "_reshape_y")
            out_nodes.append(Node(rname, "Reshape", [y2, shp], [y.name], dict(RESHAPE_ATTRS)))
    if not changed:
        return g
    g.nodes = out_nodes
    used = {i for nd in g.nodes for i in nd.inputs if i}
    for name in list(transposed):
        if name not in used and name not in g.outputs:  # the original weights are no longer read
            del g.tensors[name]
    return g


def _fresh_node(names: set[str], base: str) -> str:
    name, i = base, 0
    while name in names:
        i += 1
        name = f"{base}_{i}"
    names.add(name)
    return name
