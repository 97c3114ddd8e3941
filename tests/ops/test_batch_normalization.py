"""Tests of the batch_normalization op: hand cases, type rules, errors, oracle checks."""

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


def test_hand_case_integer_params():
    x = np.array([[[1.0, 3.0]], [[5.0, 7.0]]], dtype=np.float32).reshape(2, 1, 2)
    params = [np.array([2.0], np.float32), np.array([1.0], np.float32), np.array([4.0], np.float32),
              np.array([4.0], np.float32)]
    g, (y,) = run("BatchNormalization", [("in", x)] + [("const", p) for p in params], {"epsilon": 0.0})
    np.testing.assert_allclose(y, (x - 4) / 2 * 2 + 1, atol=1e-6)
    assert out_type(g).is_float


def test_errors():
    x = ("in", np.zeros((2, 3, 4), np.float32))
    p3 = ("const", np.ones(3, np.float32))
    with pytest.raises(OpError, match="must be one of"):
        run("BatchNormalization", [x, p3, p3, p3, p3], {"training_mode": 1})
    with pytest.raises(OpError, match="must have shape"):
        run("BatchNormalization", [x, p3, p3, ("const", np.ones(4, np.float32)), p3])
    with pytest.raises(OpError, match="outputs"):
        run("BatchNormalization", [x, p3, p3, p3, p3], n_out=3)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 2**31), st.integers(2, 4))
def test_matches_onnx(seed, rank):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 4, size=rank))
    c = shape[1]
    x = rng.standard_normal(shape).astype(np.float32)
    params = [rng.standard_normal(c), rng.standard_normal(c), rng.standard_normal(c), rng.random(c) + 0.1]
    params = [p.astype(np.float32) for p in params]
    model, feeds = one_node("BatchNormalization", [("in", x)] + [("const", p) for p in params],
                            {"epsilon": 1e-5, "momentum": 0.9})
    (want,) = ReferenceEvaluator(model).run(None, {"t0": x})
    g = import_onnx(model, feeds)
    (got,) = run_reference(g, feeds)
    np.testing.assert_allclose(got, want, atol=1e-5)
