"""Tests of the sgd op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
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


def test_step():
    w = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    gr = np.array([10.0, 0.0, -5.0], dtype=np.float32)
    g, (y,) = run("SGD", [("in", w), ("in", gr)], {"lr": 0.01})
    np.testing.assert_allclose(y, [0.9, -2.0, 0.55], atol=1e-7)
    assert out_type(g).is_float


def test_errors():
    with pytest.raises(OpError, match="lr"):
        run("SGD", [("in", np.zeros(3, np.float32)), ("in", np.zeros(3, np.float32))])
    with pytest.raises(OpError, match="same shape"):
        run("SGD", [("in", np.zeros(3, np.float32)), ("in", np.zeros(2, np.float32))], {"lr": 0.1})
