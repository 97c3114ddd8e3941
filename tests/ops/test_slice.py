"""Tests of the slice op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
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


I64 = np.int64
BIG = np.iinfo(np.int64).max


def test_opset10_form_with_clamping():
    x = np.arange(40).reshape(4, 10)
    ins = [("in", x), ("const", np.array([1, -3], I64)), ("const", np.array([BIG, 1000], I64)),
           ("const", np.array([0, 1], I64)), ("const", np.array([2, 1], I64))]
    g, (y,) = run("Slice", ins)
    np.testing.assert_array_equal(y, x[1::2, 7:])
    assert out_type(g).range == (-128, 127)


def test_negative_step_to_start():
    x = np.arange(10)
    ins = [("in", x), ("const", np.array([-1], I64)), ("const", np.array([-BIG], I64)),
           ("const", np.array([0], I64)), ("const", np.array([-3], I64))]
    g, (y,) = run("Slice", ins)
    np.testing.assert_array_equal(y, x[::-3])


def test_negative_step_start_below_minus_dim():
    # ONNX spec: start -2 on a dim of 1 becomes -1, clamped to [0, dim-1] = 0 for negative steps
    x = np.array([7])
    ins = [("in", x), ("const", np.array([-2], I64)), ("const", np.array([-8], I64)),
           ("const", np.array([0], I64)), ("const", np.array([-3], I64))]
    g, (y,) = run("Slice", ins)
    np.testing.assert_array_equal(y, [7])


def test_empty_result():
    x = np.arange(10)
    g, (y,) = run("Slice", [("in", x), ("const", np.array([5], I64)), ("const", np.array([2], I64))])
    assert y.shape == (0,)


def test_attribute_form():
    x = np.arange(24).reshape(2, 3, 4)
    g, (y,) = run("Slice", [("in", x)], {"starts": [1, 0], "ends": [3, -1], "axes": [1, 2]}, opset=1)
    np.testing.assert_array_equal(y, x[:, 1:3, 0:-1])


def test_errors():
    x = ("in", np.arange(10))
    with pytest.raises(OpError, match="non-zero"):
        run("Slice", [x, ("const", np.array([0], I64)), ("const", np.array([5], I64)), None,
                      ("const", np.array([0], I64))])
    with pytest.raises(OpError, match="must be a constant"):
        run("Slice", [x, ("in", np.array([0])), ("const", np.array([5], I64))])
    with pytest.raises(OpError, match="repeat"):
        run("Slice", [x, ("const", np.array([0, 0], I64)), ("const", np.array([5, 5], I64)),
                      ("const", np.array([0, -1], I64))])
    with pytest.raises(OpError, match="out of range"):
        run("Slice", [x, ("const", np.array([0], I64)), ("const", np.array([5], I64)),
                      ("const", np.array([1], I64))])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=3), st.data())
def test_matches_onnx_reference(dims, data):
    x = (np.arange(int(np.prod(dims))).reshape(dims) % 120).astype(np.float32)
    r = len(dims)
    axes = data.draw(st.lists(st.integers(-r, r - 1), min_size=1, max_size=r, unique_by=lambda a: a % r))
    k = len(axes)
    starts = data.draw(st.lists(st.integers(-8, 8), min_size=k, max_size=k))
    end_values = [-8, -3, -1, 0, 1, 2, 4, 8, BIG, -BIG]
    ends = data.draw(st.lists(st.sampled_from(end_values), min_size=k, max_size=k))
    steps = data.draw(st.lists(st.sampled_from([-3, -2, -1, 1, 2, 3]), min_size=k, max_size=k))
    for a, s0, st_ in zip(axes, starts, steps, strict=True):
        # onnx's ReferenceEvaluator slices with numpy and skips the spec's clamp of a start below -dim to 0
        # for negative steps (see test_negative_step_start_below_minus_dim); avoid that corner here
        assume(not (st_ < 0 and s0 < -dims[a]))
    params = [np.array(v, I64) for v in (starts, ends, axes, steps)]
    model, feeds = one_node("Slice", [("in", x)] + [("const", p) for p in params])
    (want,) = ReferenceEvaluator(model).run(None, {"t0": x})
    g = import_onnx(model, feeds)
    (got,) = run_reference(g, feeds)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
