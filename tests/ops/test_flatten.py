"""Tests of the flatten op: hand cases, type rules, errors, oracle checks."""

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


@pytest.mark.parametrize("axis, shape", [(0, (1, 24)), (1, (2, 12)), (2, (6, 4)), (3, (24, 1)), (-1, (6, 4)),
                                         (-3, (1, 24))])
def test_axes(axis, shape):
    x = np.arange(24).reshape(2, 3, 4) - 5
    g, (y,) = run("Flatten", [("in", x)], {"axis": axis})
    assert y.shape == shape
    np.testing.assert_array_equal(y.reshape(-1), x.reshape(-1))
    assert out_type(g).range == (-128, 127)


def test_default_axis_is_one():
    x = np.arange(24).reshape(2, 3, 4)
    g, (y,) = run("Flatten", [("in", x)])
    assert y.shape == (2, 12)


def test_bad_axis():
    with pytest.raises(OpError, match="out of range"):
        run("Flatten", [("in", np.zeros((2, 3)))], {"axis": 3})
    with pytest.raises(OpError, match="out of range"):
        run("Flatten", [("in", np.zeros((2, 3)))], {"axis": -3})
