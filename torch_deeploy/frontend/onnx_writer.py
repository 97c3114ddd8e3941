"""Write an IR graph as ONNX in the QuantLib dialect (float32 tensors holding integers).

Standard ops stay in the default domain; the integer ops ONNX lacks go to the 'deeploy' domain so that
onnx.checker accepts the model. Input element types survive the round trip through a doc_string tag.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.frontend.onnx import DTYPE_TAG, OUR_DOMAIN
from torch_deeploy.ir.graph import Graph

OPSET = 17


def _is_standard(op: str) -> bool:
    try:
        onnx.defs.get_schema(op, OPSET, "")
        return True
    except onnx.defs.SchemaError:
        return False


def _attr(v: object) -> object:
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, np.ndarray):
        return numpy_helper.from_array(v.astype(np.float32) if v.dtype.kind == "f" else v)
    return v


def _storage(data: np.ndarray) -> np.ndarray:
    """float32 like QuantLib when every value is exact in float32, else int64 (large biases, products)."""
    f = data.astype(np.float32)
    if data.dtype.kind == "f" or np.array_equal(f.astype(np.int64), data):
        return f
    return data.astype(np.int64)


def _value_info(g: Graph, name: str) -> onnx.ValueInfoProto:
    t = g.tensors[name].type
    vi = helper.make_tensor_value_info(name, TensorProto.FLOAT, list(t.shape))
    vi.doc_string = DTYPE_TAG + t.dtype.name
    return vi


def to_onnx(g: Graph) -> onnx.ModelProto:
    nodes = []
    for n in g.nodes:
        domain = "" if _is_standard(n.op) else OUR_DOMAIN
        attrs = {k: _attr(v) for k, v in n.attrs.items() if v is not None}
        nodes.append(helper.make_node(n.op, list(n.inputs), list(n.outputs), name=n.name, domain=domain, **attrs))
    used = {i for n in g.nodes for i in n.inputs if i}
    inits = [numpy_helper.from_array(_storage(t.data), t.name)
             for t in g.constants() if t.name in used and t.data is not None]
    graph = helper.make_graph(nodes, g.name, [_value_info(g, i) for i in g.inputs],
                              [_value_info(g, o) for o in g.outputs], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid(OUR_DOMAIN, 1)],
                              producer_name="torch-deeploy")
    model.ir_version = 8
    return model


def save_onnx(g: Graph, path: str | os.PathLike) -> None:
    model = to_onnx(g)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
