"""Tests of the concat op: hand cases, type rules, errors, oracle checks."""

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


def test_empty_kv_cache():
    cache = np.zeros((1, 16, 0, 4))
    new = np.arange(64).reshape(1, 16, 1, 4) % 50 - 25
    g, (y,) = run("Concat", [("in", cache), ("in", new)], {"axis": -2})
    assert y.shape == (1, 16, 1, 4)
    np.testing.assert_array_equal(y, new)
    assert out_type(g).range == (-128, 127)


def test_range_is_union():
    a = np.full((2, 2), 200)  # uint8
    b = np.full((2, 3), -5)  # int8
    g, (y,) = run("Concat", [("in", a), ("in", b)], {"axis": 1})
    assert out_type(g).range == (-128, 255)
    np.testing.assert_array_equal(y, np.concatenate([a, b], axis=1))


def test_constant_operand_range():
    x = np.arange(6).reshape(3, 2) - 3
    c = np.array([[1000, 1001]], dtype=np.float32)
    g, (y,) = run("Concat", [("in", x), ("const", c)], {"axis": 0})
    assert out_type(g).range == (-128, 1001)
    np.testing.assert_array_equal(y, np.concatenate([x, c]))


def test_float_if_any_float():
    a = np.array([[0.5, 1.5]], dtype=np.float32)
    c = np.array([[1, 2]], dtype=np.float32)
    g, (y,) = run("Concat", [("in", a), ("const", c)], {"axis": 0})
    assert out_type(g).is_float
    np.testing.assert_array_equal(y, [[0.5, 1.5], [1, 2]])


def test_three_inputs_axis0():
    xs = [np.full((k, 2), k) for k in (1, 2, 3)]
    g, (y,) = run("Concat", [("in", x) for x in xs], {"axis": 0})
    np.testing.assert_array_equal(y, np.concatenate(xs))


def test_mismatch():
    with pytest.raises(OpError, match="does not match"):
        run("Concat", [("in", np.zeros((2, 2))), ("in", np.zeros((3, 3)))], {"axis": 0})
    with pytest.raises(OpError, match="out of range"):
        run("Concat", [("in", np.zeros((2, 2))), ("in", np.zeros((2, 2)))], {"axis": 2})
    with pytest.raises(OpError, match="axis"):
        run("Concat", [("in", np.zeros((2, 2)))])  # axis is required
