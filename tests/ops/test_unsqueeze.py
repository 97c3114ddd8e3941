"""Tests of the unsqueeze op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops.unsqueeze import SPEC
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


def test_attribute_form():
    x = np.arange(6).reshape(2, 3)
    g, (y,) = run("Unsqueeze", [("in", x)], {"axes": [0, 3]}, opset=11)
    assert y.shape == (1, 2, 3, 1)
    np.testing.assert_array_equal(y.reshape(2, 3), x)


def test_input_form_negative_axes():
    x = np.arange(6).reshape(2, 3)
    g, (y,) = run("Unsqueeze", [("in", x), ("const", np.array([-1, 1], dtype=np.int64))])
    assert y.shape == (2, 1, 3, 1)
    assert out_type(g).range == (-128, 127)


def test_scalar():
    (y,) = SPEC.reference([np.array(5)], {"axes": (0,)})
    assert y.shape == (1,)


def test_errors():
    with pytest.raises(OpError, match="needs axes"):
        run("Unsqueeze", [("in", np.zeros((2, 3)))])
    with pytest.raises(OpError, match="repeat"):
        run("Unsqueeze", [("in", np.zeros((2, 3)))], {"axes": [0, -4]}, opset=11)
    with pytest.raises(OpError, match="out of range"):
        run("Unsqueeze", [("in", np.zeros((2, 3)))], {"axes": [3]}, opset=11)
