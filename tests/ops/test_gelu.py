"""Tests of the gelu op: hand cases, type rules, errors, oracle checks."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops.gelu import SPEC
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


def test_hand_values():
    x = np.array([0.0, 1.0, -1.0, 3.0], dtype=np.float32)
    (y,) = SPEC.reference([x], {"approximate": "none"})
    want = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.tolist()]
    np.testing.assert_allclose(y, want, atol=1e-7)
    (t,) = SPEC.reference([x], {"approximate": "tanh"})
    np.testing.assert_allclose(t, y, atol=1e-3)
    assert abs(t[1] - 0.841192) < 1e-5  # tanh form at 1.0


def test_bad_mode():
    with pytest.raises(OpError, match="must be one of"):
        run("Gelu", [("in", np.zeros(3, np.float32) + 0.5)], {"approximate": "fast"}, opset=20)


def test_microsoft_domain():
    x = np.array([0.5, -2.0], dtype=np.float32)
    g, (y,) = run("Gelu", [("in", x)], domain="com.microsoft")
    np.testing.assert_allclose(y, SPEC.reference([x], {"approximate": "none"})[0])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 2**31), st.sampled_from(["none", "tanh"]))
def test_matches_onnx(seed, mode):
    x = (np.random.default_rng(seed).standard_normal((3, 7)) * 3).astype(np.float32)
    model, feeds = one_node("Gelu", [("in", x)], {"approximate": mode}, opset=20)
    (want,) = ReferenceEvaluator(model).run(None, {"t0": x})
    g = import_onnx(model, feeds)
    (got,) = run_reference(g, feeds)
    assert out_type(g).is_float
    np.testing.assert_allclose(got, want, atol=1e-5)
