"""Type inference over a node list: validates each node against its OpSpec and types its outputs.

Shared by every frontend so that ONNX graphs and FX graphs are checked by the same rules. Nodes whose
inputs are all constants are folded into constants with the op's numpy reference.
"""

from __future__ import annotations

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import Graph, Node, Role, Tensor, TensorType
from torch_deeploy.ops import registry
from torch_deeploy.ops.base import InferCtx

# Ops never folded even when their inputs are constant (nothing to gain, or they are the graph's point).
_NO_FOLD: frozenset[str] = frozenset()


def constant_tensor(name: str, data: np.ndarray, as_float: bool | None = None) -> Tensor:
    """A constant; float data holding only integers becomes an integer constant (QuantLib dialect)."""
    data = np.asarray(data)
    if as_float is None:
        as_float = data.dtype.kind == "f" and not (np.all(np.isfinite(data)) and np.array_equal(np.rint(data), data))
    if as_float:
        return Tensor(name, TensorType.floating(data.shape), Role.CONSTANT, data.astype(np.float32))
    ints = np.rint(data).astype(np.int64) if data.dtype.kind == "f" else data.astype(np.int64)
    return Tensor(name, TensorType.of_array(ints), Role.CONSTANT, ints)


def type_node(g: Graph, node: Node, raw_attrs: dict) -> None:
    """Validate node, infer its output types and add output tensors (folding constant subgraphs)."""
    try:
        spec = registry.get(node.op, node=node.name)
        lo, hi = spec.inputs
        n_in = len(node.inputs)
        while n_in and not node.inputs[n_in - 1]:
            n_in -= 1  # trailing omitted optionals
        if not lo <= n_in <= hi:
            raise OpError(f"takes {lo}..{hi} inputs, got {n_in}" if lo != hi else f"takes {lo} inputs, got {n_in}")
        olo, ohi = spec.outputs
        if not olo <= len(node.outputs) <= ohi:
            raise OpError(f"produces {olo}..{ohi} outputs, got {len(node.outputs)}")
        node.attrs = spec.validate_attrs(raw_attrs)
        ins = [g.tensors[i] if i else None for i in node.inputs]
        ctx = InferCtx(node.name, node.op, node.attrs, [t.type if t else None for t in ins],
                       [t.data if t is not None and t.is_constant else None for t in ins])
        out_types = spec.infer(ctx)
        if len(out_types) < len(node.outputs):
            raise OpError(f"type rule gave {len(out_types)} outputs for {len(node.outputs)}")
        all_const = n_in > 0 and all(t is None or t.is_constant for t in ins)
        if all_const and node.op not in _NO_FOLD:
            results = spec.reference([t.data if t is not None else None for t in ins], node.attrs)
            for name, ty, value in zip(node.outputs, out_types, results, strict=False):
                g.tensors[name] = constant_tensor(name, value, as_float=ty.is_float)
            return
        for name, ty in zip(node.outputs, out_types, strict=False):
            g.tensors[name] = Tensor(name, ty, Role.ACTIVATION)
        g.nodes.append(node)
    except OpError as e:
        raise e.located(node.name, node.op) from None


def toposort(nodes: list, inputs_of, outputs_of, available: set[str]) -> list:
    """Stable Kahn sort: keeps the file order where it is already valid (some exports are unsorted)."""
    pending = list(nodes)
    have = set(available)
    out = []
    while pending:
        progressed = False
        rest = []
        for n in pending:
            if all((not i) or i in have for i in inputs_of(n)):
                out.append(n)
                have.update(outputs_of(n))
                progressed = True
            else:
                rest.append(n)
        if not progressed:
            missing = sorted({i for n in rest for i in inputs_of(n) if i and i not in have})
            raise OpError(f"graph has a cycle or reads undefined tensors: {', '.join(missing[:5])}")
        pending = rest
    return out
