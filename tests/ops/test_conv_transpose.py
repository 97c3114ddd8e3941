"""Tests of the conv_transpose op: hand cases, type rules, errors, oracle checks."""

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


def test_hand_1d_stride2():
    x = np.array([[[1.0, 2.0]]], dtype=np.float32)  # (1, 1, 2)
    w = np.array([[[1.0, 10.0, 100.0]]], dtype=np.float32)  # (1, 1, 3)
    g, (y,) = run("ConvTranspose", [("in", x), ("const", w)], {"strides": [2]})
    # positions: x0 -> 0,1,2 ; x1 -> 2,3,4
    np.testing.assert_allclose(y, [[[1, 10, 102, 20, 200]]])
    assert out_type(g).is_float
    g, (y,) = run("ConvTranspose", [("in", x), ("const", w), ("const", np.array([0.5], np.float32))],
                  {"strides": [2], "pads": [1, 1], "output_padding": [1]})
    np.testing.assert_allclose(y, [[[10.5, 102.5, 20.5, 200.5]]])  # uncropped: 1,10,102,20,200,0


def test_errors():
    x = ("in", np.zeros((1, 2, 3), np.float32) + 0.5)
    w = ("const", np.ones((2, 1, 2), np.float32))
    with pytest.raises(OpError, match="only 1-D and 2-D"):
        run("ConvTranspose", [("in", np.zeros((1, 2, 3, 3, 3), np.float32)), w])
    with pytest.raises(OpError, match="group"):
        run("ConvTranspose", [x, ("const", np.ones((3, 1, 2), np.float32))])
    with pytest.raises(OpError, match="output_padding"):
        run("ConvTranspose", [x, w], {"output_padding": [1]})
    with pytest.raises(OpError, match="must be one of"):
        run("ConvTranspose", [x, w], {"auto_pad": "SAME_UPPER"})
    with pytest.raises(OpError, match="kernel_shape"):
        run("ConvTranspose", [x, w], {"kernel_shape": [3]})
    with pytest.raises(OpError, match="bias"):
        run("ConvTranspose", [x, w, ("const", np.ones(2, np.float32))])
    with pytest.raises(OpError, match="output_shape"):
        run("ConvTranspose", [x, w], {"output_shape": [7]})


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 2**31), st.integers(1, 2), st.data())
def test_matches_onnx(seed, nd, data):
    rng = np.random.default_rng(seed)
    g_ = data.draw(st.sampled_from([1, 2]))
    c, mg = g_ * data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    k = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    s = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    d = [data.draw(st.integers(1, 2)) for _ in range(nd)]
    op = [data.draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d, strict=True)]
    pads = [data.draw(st.integers(0, 1)) for _ in range(2 * nd)]
    size = [data.draw(st.integers(1, 4)) for _ in range(nd)]
    x = rng.standard_normal((2, c, *size)).astype(np.float32)
    w = rng.standard_normal((c, mg, *k)).astype(np.float32)
    attrs = {"group": g_, "strides": s, "dilations": d, "output_padding": op, "pads": pads, "kernel_shape": k}
    model, feeds = one_node("ConvTranspose", [("in", x), ("const", w)], attrs)
    try:
        (want,) = ReferenceEvaluator(model).run(None, {"t0": x})
    except Exception:
        return  # configurations the ONNX reference itself rejects (e.g. empty output)
    if want.size == 0:
        return
    if data.draw(st.booleans()):
        # onnx 1.23's reference adds the wrong bias entries when group > 1, so the bias is checked here
        b = rng.standard_normal(mg * g_).astype(np.float32)
        model, feeds = one_node("ConvTranspose", [("in", x), ("const", w), ("const", b)], attrs)
        want = want + b.reshape((1, -1) + (1,) * nd)
    g = import_onnx(model, feeds)
    (got,) = run_reference(g, feeds)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4)
