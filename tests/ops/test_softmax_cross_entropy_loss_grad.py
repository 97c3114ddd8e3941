"""Tests of the softmax_cross_entropy_loss_grad op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops.softmax_cross_entropy_loss_grad import SPEC
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


def test_batch_one():
    lp = np.log(np.array([[0.2, 0.3, 0.5]], dtype=np.float32))
    g, (y,) = run("SoftmaxCrossEntropyLossGrad", [("in", lp), ("in", np.array([1.0], np.float32))],
                  domain="com.microsoft")
    np.testing.assert_allclose(y, [[0.2, -0.7, 0.5]], atol=1e-6)
    assert out_type(g).is_float


def test_mean_divides_by_n_squared_and_sum_does_not():
    lp = np.log(np.full((2, 2), 0.5, dtype=np.float32))
    labels = np.array([0, 1])
    a = SPEC.validate_attrs({})
    (y,) = SPEC.reference([lp, labels], a)
    np.testing.assert_allclose(y, np.array([[-0.5, 0.5], [0.5, -0.5]]) / 4, atol=1e-7)
    (y,) = SPEC.reference([lp, labels], {**a, "reduction": "sum"})
    np.testing.assert_allclose(y, [[-0.5, 0.5], [0.5, -0.5]], atol=1e-7)


def test_ignore_index_zeroes_row():
    lp = np.log(np.full((2, 2), 0.5, dtype=np.float32))
    (y,) = SPEC.reference([lp, np.array([0, -100])], {"reduction": "sum", "ignore_index": -100})
    np.testing.assert_allclose(y, [[-0.5, 0.5], [0, 0]], atol=1e-7)


def test_errors():
    lp = ("in", np.zeros((2, 3), np.float32) + 0.5)
    with pytest.raises(OpError, match="labels must have shape"):
        run("SoftmaxCrossEntropyLossGrad", [lp, ("in", np.zeros(3, np.float32))], domain="com.microsoft")
    with pytest.raises(OpError, match="must be one of"):
        run("SoftmaxCrossEntropyLossGrad", [lp, ("in", np.zeros(2, np.float32))], {"reduction": "none"},
            domain="com.microsoft")
    with pytest.raises(OpError, match="0..2"):
        SPEC.reference([np.zeros((1, 3)), np.array([3])], SPEC.validate_attrs({}))
