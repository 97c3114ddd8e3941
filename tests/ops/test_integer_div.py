import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops import OPS
from torch_deeploy.runners.reference import run_reference

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)


# -- one-node graph helper (kept local: each op test file is self-contained) --
def _attr(v):
    """Plain ints stay ints; arrays become tensor attributes, as QuantLib writes them."""
    return numpy_helper.from_array(np.asarray(v, dtype=np.float32)) if isinstance(v, np.ndarray) else v


def build(op, args, attrs, consts=(), domain=""):
    """Import a one-node ONNX graph; args at the indices in consts become initializers."""
    names, vis, inits, examples = [], [], [], []
    for i, a in enumerate(args):
        a = np.asarray(a)
        names.append(f"t{i}")
        if i in consts:
            inits.append(numpy_helper.from_array(a.astype(np.float32), f"t{i}"))
        else:
            vis.append(helper.make_tensor_value_info(f"t{i}", TensorProto.FLOAT, list(a.shape)))
            examples.append(a)
    node = helper.make_node(op, names, ["y"], domain=domain, **{k: _attr(v) for k, v in attrs.items()})
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph([node], "g", vis, [out], inits))
    return import_onnx(model, example_inputs=examples), examples


def run(op, args, attrs, consts=(), domain=""):
    g, examples = build(op, args, attrs, consts, domain)
    return g, run_reference(g, examples)[0]

SPEC = OPS["IntegerDiv"]
ATTRS = {"Delta": 65536, "eps": 1, "eta": 13}


def py_div(x, y, delta, eta, eps):
    from fractions import Fraction
    from math import floor

    return floor(Fraction(x * delta * eta, y * eta + eps) + Fraction(1, 2))


def ref(x, y, **kw):
    return SPEC.reference([np.asarray(x, np.int64), np.asarray(y, np.int64)], {**ATTRS, **kw})[0]


def test_rounds_half_up():
    a = {"Delta": 1, "eta": 1, "eps": 0}
    # 1/2 -> 1, -1/2 -> 0, 3/2 -> 2, -3/2 -> -1, 1/-2 -> 0, 5/3 -> 2, -5/3 -> -2
    y = ref([1, -1, 3, -3, 1, 5, -5], [2, 2, 2, 2, -2, 3, 3], **a)
    assert y.tolist() == [1, 0, 2, -1, 0, 2, -2]


def test_broadcasting():
    x = np.arange(6).reshape(2, 3) - 3
    y = np.array([1, 2, 3])
    out = ref(x, y)
    assert out.shape == (2, 3)
    assert out.tolist() == [[py_div(int(x[i, j]), int(y[j]), 65536, 13, 1) for j in range(3)]
                            for i in range(2)]


@SETTINGS
@given(pairs=st.lists(st.tuples(st.integers(-(2**15), 2**15), st.integers(-300, 300)),
                      min_size=1, max_size=20),
       delta=st.integers(0, 2**16), eta=st.integers(1, 50), eps=st.integers(1, 49))
def test_matches_exact_formula(pairs, delta, eta, eps):
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    if any(v * eta + eps == 0 for v in ys):
        return
    assert ref(xs, ys, Delta=delta, eta=eta, eps=eps).tolist() == [
        py_div(a, b, delta, eta, eps) for a, b in zip(xs, ys, strict=True)]


@SETTINGS
@given(xlo=st.integers(-300, 300), xw=st.integers(0, 40), ylo=st.integers(-60, 60), yw=st.integers(0, 40),
       delta=st.integers(0, 300), eta=st.integers(-20, 20), eps=st.integers(-30, 30))
def test_range_is_exact(xlo, xw, ylo, yw, delta, eta, eps):
    from torch_deeploy.ops.integer_div import out_range

    xs, ys = range(xlo, xlo + xw + 1), range(ylo, ylo + yw + 1)
    if any(v * eta + eps == 0 for v in ys):
        with pytest.raises(OpError, match="can be 0"):
            out_range((xs[0], xs[-1]), (ys[0], ys[-1]), delta, eta, eps)
        return
    vals = [py_div(a, b, delta, eta, eps) for a in xs for b in ys]
    assert out_range((xs[0], xs[-1]), (ys[0], ys[-1]), delta, eta, eps) == (min(vals), max(vals))


def test_graph_pactops_two_runtime_inputs():
    x = np.array([[5, -7, 100]], np.float32)
    y = np.array([[1, 3, 0]], np.float32)
    g, out = run("IntegerDiv", [x, y], ATTRS, domain="PACTOps")
    t = g.tensors[g.outputs[0]].type
    assert t.shape == (1, 3)
    assert out.tolist() == [[py_div(a, b, 65536, 13, 1) for a, b in ((5, 1), (-7, 3), (100, 0))]]
    lo, hi = t.range  # int8 / int8: the largest quotient is at y = 0 (denominator eps = 1)
    assert hi == 127 * 65536 * 13 and lo == -128 * 65536 * 13


def test_zero_denominator():
    with pytest.raises(OpError, match=r"y\*eta \+ eps can be 0"):
        build("IntegerDiv", [np.zeros((2,), np.float32), np.zeros((2,), np.float32)],
              {"Delta": 1, "eta": 2, "eps": 4})
    with pytest.raises(OpError, match="division by zero"):
        ref([1], [-2], Delta=1, eta=2, eps=4)


def test_bad_shapes_and_attributes():
    with pytest.raises(OpError, match="do not broadcast"):
        build("IntegerDiv", [np.zeros((2,), np.float32), np.ones((3,), np.float32)], ATTRS)
    with pytest.raises(OpError, match="'Delta' is required"):
        build("IntegerDiv", [np.zeros((2,), np.float32), np.ones((2,), np.float32)], {"eps": 1, "eta": 1})
    with pytest.raises(OpError, match="takes 2 inputs, got 1"):
        build("IntegerDiv", [np.zeros((2,), np.float32)], ATTRS)
    with pytest.raises(OpError, match="61-bit"):
        build("IntegerDiv", [np.array([2**20], np.float32), np.ones((1,), np.float32)],
              {"Delta": 2**30, "eta": 2**12, "eps": 1})
