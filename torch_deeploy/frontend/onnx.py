"""ONNX frontend for QuantLib-style integer graphs.

QuantLib exports integer networks with float32 tensors holding integers. Here constants holding only
integers become integer constants, graph inputs get an integer type from their ONNX element type, from
example inputs, or (float32 without examples) int8 - unless they feed float arithmetic. Attributes are
validated by each op's schema; shapes, dtypes and value ranges are inferred node by node.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from torch_deeploy.errors import FrontendError, OpError
from torch_deeploy.frontend.typing import constant_tensor, toposort, type_node
from torch_deeploy.ir import dtypes
from torch_deeploy.ir.graph import Graph, Node, Role, Tensor, TensorType
from torch_deeploy.ops import registry

# Domains accepted for every op, besides each op's own: ours (the ONNX writer's) and ONNX's default.
OUR_DOMAIN = "deeploy"
_ONNX_INT_TYPES = {
    onnx.TensorProto.INT8: dtypes.int8, onnx.TensorProto.UINT8: dtypes.uint8,
    onnx.TensorProto.INT16: dtypes.int16, onnx.TensorProto.UINT16: dtypes.uint16,
    onnx.TensorProto.INT32: dtypes.int32, onnx.TensorProto.INT64: dtypes.int64,
    onnx.TensorProto.BOOL: dtypes.uint8,
}
# Input dtype annotation written by our ONNX writer into ValueInfo.doc_string.
DTYPE_TAG = "deeploy.dtype="


def load_model(model: str | os.PathLike | onnx.ModelProto | bytes) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, bytes):
        try:
            return onnx.load_from_string(model)
        except Exception as e:  # protobuf raises its own DecodeError type
            raise FrontendError(f"the bytes given are not an ONNX model ({type(e).__name__})") from None
    path = Path(model)
    if not path.exists():
        raise FrontendError(f"{path}: no such file")
    if path.is_dir():
        raise FrontendError(f"{path}: is a directory, expected an .onnx file")
    try:
        m = onnx.load(str(path))
    except Exception as e:
        raise FrontendError(f"{path}: not an ONNX model ({type(e).__name__}: {str(e)[:120]})") from None
    if not m.graph.node and not m.graph.output:
        raise FrontendError(f"{path}: not an ONNX model (no graph found)")
    return m


def _attr_value(a: onnx.AttributeProto) -> Any:
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [s.decode() for s in v]
    return v


def _constant_node_value(n: onnx.NodeProto) -> np.ndarray:
    for a in n.attribute:
        v = _attr_value(a)
        if a.name in ("value", "sparse_value"):
            return np.asarray(v)
        if a.name in ("value_float", "value_int"):
            return np.asarray(v, dtype=np.float32 if a.name == "value_float" else np.int64)
        if a.name in ("value_floats", "value_ints"):
            return np.asarray(v, dtype=np.float32 if a.name == "value_floats" else np.int64)
    raise OpError("Constant node has no value attribute", node=n.name, op="Constant")


def _dims(vi: onnx.ValueInfoProto) -> tuple[list[int | str], int]:
    tt = vi.type.tensor_type
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim], tt.elem_type


def _feeds_float_math(name: str, nodes: Sequence[onnx.NodeProto]) -> bool:
    for n in nodes:
        if name in n.input:
            spec = registry.OPS.get(n.op_type)
            if spec is not None and spec.extras.get("float_only"):
                return True
    return False


def _input_type(vi: onnx.ValueInfoProto, example: np.ndarray | None, nodes: Sequence[onnx.NodeProto]) -> TensorType:
    dims, elem = _dims(vi)
    if example is not None:
        shape = tuple(int(s) for s in example.shape)
        if len(dims) == len(shape):
            for d, s in zip(dims, shape, strict=True):
                if isinstance(d, int) and d != s and d != 0:
                    raise FrontendError(f"input '{vi.name}': example has shape {list(shape)}, the graph "
                                        f"declares {dims}")
    else:
        if any(not isinstance(d, int) for d in dims):
            raise FrontendError(f"input '{vi.name}' has symbolic shape {dims}: pass example inputs "
                                "(compile(..., example_inputs) or --inputs FILE.npz) to fix it")
        shape = tuple(int(d) for d in dims)
    if elem in _ONNX_INT_TYPES:
        d = _ONNX_INT_TYPES[elem]
        if example is not None and example.size:
            # Like float32 inputs, a declared wide type takes the storage type its example data needs
            # (never wider than declared); the runners reject inputs outside it at run time.
            ex = np.asarray(example)
            narrow = dtypes.for_range(int(ex.min()), int(ex.max()))
            if narrow.bits < d.bits:
                d = narrow
        return TensorType(shape, d, (d.min, d.max))
    tag = vi.doc_string[len(DTYPE_TAG):] if vi.doc_string.startswith(DTYPE_TAG) else None
    if tag:
        d = dtypes.by_name(tag)
        return TensorType.floating(shape) if d.is_float else TensorType(shape, d, (d.min, d.max))
    if example is not None:
        ex = np.asarray(example)
        integral = ex.dtype.kind in "iub" or bool(np.all(np.isfinite(ex)) and np.array_equal(np.rint(ex), ex))
        if not integral or _feeds_float_math(vi.name, nodes):
            return TensorType.floating(shape)
        d = dtypes.int8 if ex.size == 0 else dtypes.for_range(int(ex.min()), int(ex.max()))
        return TensorType(shape, d, (d.min, d.max))
    if _feeds_float_math(vi.name, nodes) or elem in (onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16):
        return TensorType.floating(shape)
    return TensorType(shape, dtypes.int8, (dtypes.int8.min, dtypes.int8.max))


def import_onnx(
    model: str | os.PathLike | onnx.ModelProto | bytes,
    example_inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray] | None = None,
    name: str | None = None,
) -> Graph:
    """Read an ONNX model into a typed, topologically sorted, validated IR graph."""
    m = load_model(model)
    og = m.graph
    g = Graph(name or og.name or "network")
    for init in og.initializer:
        try:
            g.tensors[init.name] = constant_tensor(init.name, numpy_helper.to_array(init))
        except Exception as e:
            raise FrontendError(f"initializer '{init.name}' cannot be read: {e}") from None
    real_inputs = [vi for vi in og.input if vi.name not in g.tensors]
    examples: list[np.ndarray | None] = [None] * len(real_inputs)
    if example_inputs is not None:
        if isinstance(example_inputs, Mapping):
            examples = [np.asarray(example_inputs[vi.name]) if vi.name in example_inputs else None
                        for vi in real_inputs]
        else:
            ex = list(example_inputs)
            if len(ex) < len(real_inputs):
                raise FrontendError(f"the model has {len(real_inputs)} inputs "
                                    f"({', '.join(v.name for v in real_inputs)}), {len(ex)} examples were given")
            examples = [np.asarray(a) for a in ex[: len(real_inputs)]]
    onnx_nodes = list(og.node)
    for vi, ex in zip(real_inputs, examples, strict=True):
        g.tensors[vi.name] = Tensor(vi.name, _input_type(vi, ex, onnx_nodes), Role.INPUT)
        g.inputs.append(vi.name)

    ordered = toposort(onnx_nodes, lambda n: list(n.input), lambda n: list(n.output), set(g.tensors))
    used_names: set[str] = set()
    for idx, n in enumerate(ordered):
        node_name = n.name or f"{n.op_type}_{idx}"
        while node_name in used_names:
            node_name = f"{node_name}_{idx}"
        used_names.add(node_name)
        if n.op_type == "Constant":
            g.tensors[n.output[0]] = constant_tensor(n.output[0], _constant_node_value(n))
            continue
        spec = registry.get(n.op_type, node=node_name)
        if n.domain not in spec.domains and n.domain not in ("", OUR_DOMAIN, "ai.onnx"):
            raise OpError(f"domain '{n.domain}' is not one of {list(spec.domains)}", node=node_name, op=n.op_type)
        raw = {a.name: _attr_value(a) for a in n.attribute}
        node = Node(node_name, n.op_type, list(n.input), list(n.output))
        if n.op_type == "Shape":
            src = g.tensors.get(n.input[0])
            if src is not None:
                g.tensors[n.output[0]] = constant_tensor(n.output[0], np.asarray(src.type.shape, dtype=np.int64))
                continue
        type_node(g, node, raw)

    for vi in og.output:
        if vi.name not in g.tensors:
            raise FrontendError(f"graph output '{vi.name}' is not produced by any node")
        _mark_output(g, vi.name)
    _drop_dead_nodes(g)
    return g


def _mark_output(g: Graph, name: str) -> None:
    t = g.tensors[name]
    if t.role is Role.ACTIVATION:
        t.role = Role.OUTPUT
        g.outputs.append(name)
        return
    # An output that is a graph input, a constant or already an output gets its own copy.
    copy = f"{name}__out{len(g.outputs)}"
    g.tensors[copy] = Tensor(copy, t.type, Role.OUTPUT)
    g.nodes.append(Node(f"Identity_{copy}", "Identity", [name], [copy], {}))
    g.outputs.append(copy)


def _drop_dead_nodes(g: Graph) -> None:
    """Remove nodes and constants that no graph output depends on."""
    live = set(g.outputs)
    kept: list[Node] = []
    for n in reversed(g.nodes):
        if any(o in live for o in n.outputs):
            kept.append(n)
            live.update(i for i in n.inputs if i)
    g.nodes = kept[::-1]
    for name in list(g.tensors):
        t = g.tensors[name]
        if t.role in (Role.CONSTANT, Role.ACTIVATION) and name not in live:
            del g.tensors[name]
