"""Tests of the softmax op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

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


def _check(x, attrs):
    model, feeds = one_node("Softmax", [("in", x)], attrs)
    (want,) = ReferenceEvaluator(model).run(None, {"t0": x})
    g = import_onnx(model, feeds)
    (got,) = run_reference(g, feeds)
    assert out_type(g).is_float
    np.testing.assert_allclose(got, want, atol=1e-6)
    return got


def test_integer_input_becomes_float():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32)  # integer-valued
    y = _check(x, {})
    np.testing.assert_allclose(y[1], [1 / 3] * 3, atol=1e-7)
    np.testing.assert_allclose(y.sum(-1), 1, atol=1e-6)


def test_large_values_are_stable():
    y = _check(np.array([1000.0, 1000.0, -1000.0], dtype=np.float32), {})
    np.testing.assert_allclose(y, [0.5, 0.5, 0], atol=1e-7)


def test_bad_axis():
    with pytest.raises(OpError, match="out of range"):
        run("Softmax", [("in", np.zeros((2, 3), np.float32) + 0.5)], {"axis": 2})


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(0, 2**31), st.data())
def test_matches_onnx(dims, seed, data):
    x = (np.random.default_rng(seed).standard_normal(dims) * 4).astype(np.float32)
    axis = data.draw(st.integers(-len(dims), len(dims) - 1))
    _check(x, {"axis": axis})
