"""Tests of the transpose op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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


def test_default_reverses():
    x = np.arange(24).reshape(2, 3, 4)
    g, (y,) = run("Transpose", [("in", x)])
    np.testing.assert_array_equal(y, x.transpose(2, 1, 0))
    assert out_type(g).shape == (4, 3, 2)


def test_unsigned_range_kept():
    x = np.arange(24).reshape(2, 3, 4) + 200
    g, (y,) = run("Transpose", [("in", x)], {"perm": [0, 2, 1]})
    assert out_type(g).range == (0, 255)
    np.testing.assert_array_equal(y, x.transpose(0, 2, 1))


@pytest.mark.parametrize("perm", [[0, 1], [0, 0, 1], [0, 1, 3]])
def test_bad_perm(perm):
    with pytest.raises(OpError, match="not a permutation"):
        run("Transpose", [("in", np.zeros((2, 3, 4)))], {"perm": perm})


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_matches_numpy(dims, rnd):
    x = np.arange(int(np.prod(dims))).reshape(dims) % 97 - 40
    perm = list(range(len(dims)))
    rnd.shuffle(perm)
    g, (y,) = run("Transpose", [("in", x)], {"perm": perm})
    np.testing.assert_array_equal(y, x.transpose(perm))
