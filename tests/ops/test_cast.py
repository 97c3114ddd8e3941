"""Tests of the cast op: hand cases, type rules, errors, oracle checks."""

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


def test_to_float():
    x = np.arange(6).reshape(2, 3) - 3
    g, (y,) = run("Cast", [("in", x)], {"to": TensorProto.FLOAT})
    assert out_type(g).is_float
    np.testing.assert_array_equal(y, x)


def test_int_to_wider_keeps_range():
    x = np.array([-128, 0, 127])
    g, (y,) = run("Cast", [("in", x)], {"to": TensorProto.INT32})
    assert out_type(g).range == (-128, 127)
    np.testing.assert_array_equal(y, x)


def test_int_to_narrower_wraps():
    x = np.array([-1, 200, 255, 0])  # int16 range at compile time
    g, (y,) = run("Cast", [("in", x)], {"to": TensorProto.INT8})
    assert out_type(g).range == (-128, 127)
    np.testing.assert_array_equal(y, [-1, -56, -1, 0])
    g, (y,) = run("Cast", [("in", x)], {"to": TensorProto.UINT8})
    assert out_type(g).range == (0, 255)
    np.testing.assert_array_equal(y, [255, 200, 255, 0])


def test_float_to_int_truncates_and_saturates():
    x = np.array([-1.5, 2.7, 300.2, -0.5], dtype=np.float32)
    g, (y,) = run("Cast", [("in", x)], {"to": TensorProto.INT8})
    assert out_type(g).range == (-128, 127)
    np.testing.assert_array_equal(y, [-1, 2, 127, 0])


def test_bool():
    x = np.array([3, 0, -2])
    g, (y,) = run("Cast", [("in", x)], {"to": TensorProto.BOOL})
    np.testing.assert_array_equal(y, [1, 0, 1])
    assert out_type(g).range == (0, 1)


@pytest.mark.parametrize("to", [TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.UINT64,
                                TensorProto.STRING])
def test_rejected_types(to):
    with pytest.raises(OpError, match="unsupported target type"):
        run("Cast", [("in", np.zeros(3))], {"to": to})
