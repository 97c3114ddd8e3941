"""Tests of the shape op: hand cases, type rules, errors, oracle checks."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx
from torch_deeploy.ops.shape import SPEC
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


def _infer(shape, **attrs):
    a = SPEC.validate_attrs(attrs)
    return SPEC.infer(InferCtx("n", "Shape", a, [TensorType.integer(shape, 0, 1)], [None]))[0], a


@pytest.mark.parametrize("attrs, want", [({}, [2, 300, 4]), ({"start": 1}, [300, 4]), ({"end": -1}, [2, 300]),
                                         ({"start": -2, "end": 10}, [300, 4]), ({"start": 3}, [])])
def test_start_end(attrs, want):
    t, a = _infer((2, 300, 4), **attrs)
    assert t.shape == (len(want),)
    if want:
        assert t.range == (min(want), max(want))
    (y,) = SPEC.reference([np.zeros((2, 300, 4))], a)
    np.testing.assert_array_equal(y, want)


def test_frontend_folds_it():
    model, feeds = one_node("Shape", [("in", np.zeros((2, 5)))])
    g = import_onnx(model, feeds)
    (y,) = run_reference(g, feeds)
    np.testing.assert_array_equal(y, [2, 5])
