"""Store constant MatMul and Gemm weights transposed, so that the reduction dim K is contiguous for both operands.

MatMul(A[..., M, K], B[K, N]) with an integer constant 2-D B becomes Gemm(A', B^T, transB=1) with a new
constant B^T[N, K] (A' = A reshaped to [-1, K] and the output reshaped back when A has more than 2 dims;
those Reshapes are views, no copy); an integer Gemm with a constant B and transB = 0 gets B^T and transB = 1.
Both forms have the same ONNX semantics and numpy references, so the contract is unchanged; the Gemm kernel
then reads rows of A and rows of B^T with packed SIMD.
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
        if n.op == "Gemm" and _gemm_b_to_transpose(g, n):
            changed = True
            bt = _transposed(g, g.tensors[n.inputs[1]], transposed)
            out_nodes.append(Node(n.name, n.op, [n.inputs[0], bt, *n.inputs[2:]], list(n.outputs),
                                  {**n.attrs, "transB": 1}, n.engine))
            continue
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
        bt = _transposed(g, b, transposed)
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


def _gemm_b_to_transpose(g: Graph, n: Node) -> bool:
    """An integer Gemm whose B is a constant [K, N] matrix read as is (transB = 0)."""
    if len(n.inputs) < 2 or not n.inputs[1] or n.attrs.get("transB", 0):
        return False
    a, b, y = g.tensors[n.inputs[0]], g.tensors[n.inputs[1]], g.tensors[n.outputs[0]]
    return (b.is_constant and b.data is not None and b.type.rank == 2 and not a.type.is_float
            and not b.type.is_float and not y.type.is_float)


def _transposed(g: Graph, b: Tensor, transposed: dict[str, str]) -> str:
    """The name of the constant B^T (made once per weight tensor)."""
    if b.name not in transposed:
        bt = fresh(g, b.name + "_T")
        k, nn = b.type.shape
        g.tensors[bt] = Tensor(bt, b.type.with_shape((nn, k)), Role.CONSTANT, np.ascontiguousarray(b.data.T))
        transposed[b.name] = bt
    return transposed[b.name]


def _fresh_node(names: set[str], base: str) -> str:
    name, i = base, 0
    while name in names:
        i += 1
        name = f"{base}_{i}"
    names.add(name)
    return name
