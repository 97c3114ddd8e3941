"""Test helpers for one-node ONNX graphs: build, import with torch_deeploy, run the reference runner.

Graph inputs are float32 ONNX tensors tagged with the numpy dtype of the example (frontend DTYPE_TAG),
so an int8 example gives an int8-typed input (range [-128, 127]) and a float32 example a float input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
from torch_deeploy.ir.graph import Graph, TensorType
from torch_deeploy.runners.reference import run_reference


@dataclass
class Const:
    """An initializer input."""

    data: Any


def operands(ins: list[Any], prefix: str = "in", *, float64_as_float32: bool = False):
    """A node's input names plus the graph inputs (value infos tagged with their dtype), initializers and
    feeds they need; ins items: ndarray (graph input), Const (initializer) or None (omitted; trailing
    omitted inputs are dropped)."""
    names, vis, inits, feeds = [], [], [], []
    for i, a in enumerate(ins):
        if a is None:
            names.append("")
            continue
        name = f"{prefix}{i}"
        names.append(name)
        if isinstance(a, Const):
            d = np.asarray(a.data)
            inits.append(numpy_helper.from_array(d.astype(np.float32) if float64_as_float32 and d.dtype == np.float64
                                                 else d, name))
            continue
        a = np.asarray(a)
        vi = helper.make_tensor_value_info(name, TensorProto.FLOAT, list(a.shape))
        vi.doc_string = DTYPE_TAG + ("float32" if a.dtype.kind == "f" else a.dtype.name)
        vis.append(vi)
        feeds.append(a)
    while names and names[-1] == "":
        names.pop()
    return names, vis, inits, feeds


def build(op: str, ins: list[Any], attrs: dict[str, Any] | None = None, *, opset: int = 13,
          n_out: int = 1) -> tuple[onnx.ModelProto, list[np.ndarray]]:
    """One-node model; ins items: ndarray (graph input), Const (initializer) or None (omitted)."""
    names, vis, inits, feeds = operands(ins)
    outs = [f"out{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, **(attrs or {}))
    graph = helper.make_graph([node], "t", vis, [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                                                  for o in outs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return model, feeds


def run(op: str, ins: list[Any], attrs: dict[str, Any] | None = None, *, opset: int = 13,
        n_out: int = 1) -> tuple[TensorType, np.ndarray, Graph]:
    """Import and run through the reference runner (which asserts values lie in the inferred range)."""
    model, feeds = build(op, ins, attrs, opset=opset, n_out=n_out)
    g = import_onnx(model, example_inputs=feeds)
    out = run_reference(g, feeds)
    return g.tensors[g.outputs[0]].type, out[0], g


def onnx_run(op: str, ins: list[Any], attrs: dict[str, Any] | None = None, *, opset: int = 13) -> np.ndarray:
    """onnx.reference.ReferenceEvaluator on the same node (the ONNX ground truth); data is float32
    except int64 constants (pads, axes), which keep their type."""
    from onnx.reference import ReferenceEvaluator

    ins = [(a if np.asarray(a.data).dtype == np.int64 else Const(np.asarray(a.data, dtype=np.float32)))
           if isinstance(a, Const)
           else (None if a is None else np.asarray(a, dtype=np.float32)) for a in ins]
    model, feeds = build(op, ins, attrs, opset=opset)
    names = [vi.name for vi in model.graph.input]
    return ReferenceEvaluator(model).run(None, dict(zip(names, feeds, strict=True)))[0]
