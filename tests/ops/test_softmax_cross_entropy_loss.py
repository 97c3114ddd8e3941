"""Tests of the softmax_cross_entropy_loss op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops.softmax_cross_entropy_loss import SPEC
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


def test_log_prob_output():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    labels = np.array([2, 0], dtype=np.float32)
    g, (y,) = run("SoftmaxCrossEntropyLoss", [("in", logits), ("in", labels)], {"reduction": "mean"})
    want = logits - 3 - np.log(np.exp(logits - 3).sum(1, keepdims=True))
    want[1] = -np.log(3)
    np.testing.assert_allclose(y, want, atol=1e-6)
    assert out_type(g).is_float and out_type(g).shape == (2, 3)


def test_matches_onnx_log_prob():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 5, 2)) * 5).astype(np.float32)
    labels = rng.integers(0, 5, size=(4, 2))
    model, _ = one_node("SoftmaxCrossEntropyLoss", [("in", x), ("const", labels)], n_out=2)
    (_, want) = ReferenceEvaluator(model).run(None, {"t0": x})
    (got,) = SPEC.reference([x, labels], SPEC.validate_attrs({}))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_errors():
    x = ("in", np.zeros((2, 3), np.float32) + 0.5)
    with pytest.raises(OpError, match="labels must have shape"):
        run("SoftmaxCrossEntropyLoss", [x, ("in", np.zeros(3, np.float32))])
    with pytest.raises(OpError, match="weights"):
        run("SoftmaxCrossEntropyLoss", [x, ("in", np.zeros(2, np.float32)),
                                        ("const", np.ones(2, np.float32))])
    with pytest.raises(OpError, match="must be one of"):
        run("SoftmaxCrossEntropyLoss", [x, ("in", np.zeros(2, np.float32))], {"reduction": "avg"})
