"""Tests of the reshape op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops.reshape import SPEC
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


def test_zero_copies_dim_and_minus_one_inferred():
    x = np.arange(24).reshape(2, 3, 4) - 12
    g, (y,) = run("Reshape", [("in", x), ("const", np.array([0, -1], dtype=np.int64))])
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y, x.reshape(2, 12))
    assert out_type(g).range == (-128, 127)  # range of the input, unchanged


def test_allowzero_keeps_literal_zero():
    x = np.zeros((2, 0, 3))
    (y,) = SPEC.reference([x, np.array([0, 6])], {"allowzero": 1, "shape": None, "consumed_inputs": None})
    assert y.shape == (0, 6)
    with pytest.raises(OpError, match="cannot infer"):  # -1 next to a zero-sized dim is ambiguous
        SPEC.reference([x, np.array([2, 0, -1])], {"allowzero": 0, "shape": None, "consumed_inputs": None})


def test_opset1_shape_attribute():
    x = np.arange(6)
    g, (y,) = run("Reshape", [("in", x)], {"shape": [3, 2]}, opset=1)
    np.testing.assert_array_equal(y, x.reshape(3, 2))


def test_float_stays_float():
    x = np.linspace(-1, 1, 6).astype(np.float32)
    g, (y,) = run("Reshape", [("in", x), ("const", np.array([2, 3], dtype=np.int64))])
    assert out_type(g).is_float
    np.testing.assert_array_equal(y, x.reshape(2, 3))


@pytest.mark.parametrize("shape, frag", [
    ([-1, -1], "more than one -1"),
    ([5, -1], "cannot infer"),
    ([7], "cannot reshape"),
    ([-2, 3], "below -1"),
    ([0, 0, 0, 0], "has only 3 dims"),
])
def test_bad_shapes(shape, frag):
    with pytest.raises(OpError, match=frag):
        run("Reshape", [("in", np.zeros((2, 3, 1))), ("const", np.array(shape, dtype=np.int64))])


def test_runtime_shape_rejected():
    with pytest.raises(OpError, match="must be a constant"):
        run("Reshape", [("in", np.zeros((2, 3))), ("in", np.array([3, 2]))])


def test_allowzero_with_minus_one_rejected():
    with pytest.raises(OpError, match="allowzero"):
        run("Reshape", [("in", np.zeros((2, 3))), ("const", np.array([0, -1], dtype=np.int64))],
            {"allowzero": 1})


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_matches_numpy(dims, data):
    x = np.arange(int(np.prod(dims))).reshape(dims) % 100
    total = x.size
    divisors = [d for d in range(1, total + 1) if total % d == 0]
    a = data.draw(st.sampled_from(divisors))
    spec = [a, -1] if data.draw(st.booleans()) else [-1, a]
    g, (y,) = run("Reshape", [("in", x), ("const", np.array(spec, dtype=np.int64))])
    np.testing.assert_array_equal(y, x.reshape(spec))
