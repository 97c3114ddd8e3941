"""Tests of the identity op: hand cases, type rules, errors, oracle checks."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops.identity import SPEC
from torch_deeploy.runners.reference import run_reference


def one_node(op, ins, attrs=None, *, n_out=1, domain="", opset=18):
    """One-node ONNX model: ins entries are ("in", array) graph inputs, ("const", array) initializers or
    None (omitted optional input). Returns (model, runtime input arrays)."""
    names, vis, inits, feeds = [], [], [], []
    for i, e in enumerate(ins):
        if e is None:
            names.append("")
            continue
        kind, a = e
        a = np.asarray(a)
        name = f"t{i}"
        names.append(name)
        if kind == "in":
            vis.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(a.shape)))
            feeds.append(a)
        else:
            inits.append(numpy_helper.from_array(a, name))
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, domain=domain, **(attrs or {}))
    graph = helper.make_graph([node], "g", vis, [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                                                 for o in outs], inits)
    imports = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=imports), feeds


def run(op, ins, attrs=None, **kw):
    """Import with the frontend, run the reference runner; returns (graph, outputs)."""
    model, feeds = one_node(op, ins, attrs, **kw)
    g = import_onnx(model, feeds)
    return g, run_reference(g, feeds)


def out_type(g):
    return g.tensors[g.outputs[0]].type


def test_copy_keeps_type():
    x = np.arange(6).reshape(2, 3) + 200
    g, (y,) = run("Identity", [("in", x)])
    np.testing.assert_array_equal(y, x)
    assert out_type(g).range == (0, 255)


def test_reference_returns_copy():
    x = np.arange(3)
    (y,) = SPEC.reference([x], {})
    y[0] = 7
    assert x[0] == 0


def test_float_and_empty():
    x = np.zeros((0, 3), dtype=np.float32) + 0.5
    g, (y,) = run("Identity", [("in", np.array([0.25, 1.5], dtype=np.float32))])
    assert out_type(g).is_float
    (e,) = SPEC.reference([x], {})
    assert e.shape == (0, 3)
