"""Tests of the gather op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops.gather import SPEC
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


def test_constant_negative_indices_axis1():
    x = np.arange(24).reshape(2, 3, 4) - 10
    idx = np.array([[2, -3], [0, -1]], dtype=np.int64)
    g, (y,) = run("Gather", [("in", x), ("const", idx)], {"axis": 1})
    np.testing.assert_array_equal(y, np.take(x, [[2, 0], [0, 2]], axis=1))
    assert y.shape == (2, 2, 2, 4)
    assert out_type(g).range == (-128, 127)


def test_runtime_indices():
    x = np.arange(12).reshape(4, 3).astype(np.float32)
    idx = np.array([3, -4, 1], dtype=np.float32)
    model, feeds = one_node("Gather", [("in", x), ("in", idx)], {"axis": 0})
    want = np.take(x, [3, 0, 1], axis=0)
    g = import_onnx(model, feeds)
    (got,) = run_reference(g, feeds)
    np.testing.assert_array_equal(got, want)


def test_scalar_index_drops_axis():
    x = np.arange(12).reshape(3, 4)
    g, (y,) = run("Gather", [("in", x), ("const", np.array(-1, dtype=np.int64))], {"axis": -1})
    np.testing.assert_array_equal(y, x[:, 3])


def test_out_of_bounds():
    with pytest.raises(OpError, match="out of bounds"):
        run("Gather", [("in", np.zeros((2, 3))), ("const", np.array([3], dtype=np.int64))], {"axis": 1})
    with pytest.raises(OpError, match="out of bounds"):
        SPEC.reference([np.zeros((2, 3)), np.array([-4])], {"axis": 1})


def test_float_indices_rejected():
    with pytest.raises(OpError, match="integer"):
        run("Gather", [("in", np.zeros((2, 3))), ("in", np.array([0.5]))])


def test_float_data_matches_onnx_reference():
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    idx = np.array([[4, -5], [2, 2]], dtype=np.int64)
    model, feeds = one_node("Gather", [("in", x), ("const", idx)], {"axis": 1})
    (want,) = ReferenceEvaluator(model).run(None, {"t0": x})
    g = import_onnx(model, feeds)
    (got,) = run_reference(g, feeds)
    assert out_type(g).is_float
    np.testing.assert_array_equal(got, want)
