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

SPEC = OPS["TrueIntegerDiv"]
ATTRS = {"Delta": 16384, "eps": 1, "eta": 200000, "y": 2}


def ref(x, **kw):
    return SPEC.reference([np.asarray(x, np.int64)], {**ATTRS, **kw})[0]


def test_constant_factor_of_the_networks():
    # K = floor(16384*200000 / 400001) = 8191, applied as a multiplier (not a rounded division)
    assert ref([1, -1, 16342, -16378, 0]).tolist() == [8191, -8191, 16342 * 8191, -16378 * 8191, 0]


def test_factor_floors_for_negative_denominator():
    # K = floor(10*1 / (-3*1 + 0)) = floor(-3.33) = -4
    assert ref([1, 2], Delta=10, eta=1, eps=0, y=-3).tolist() == [-4, -8]


@SETTINGS
@given(xs=st.lists(st.integers(-(2**20), 2**20), min_size=1, max_size=10),
       delta=st.integers(0, 2**16), eta=st.integers(1, 10**6), eps=st.integers(0, 100), y=st.integers(1, 16))
def test_matches_exact_formula(xs, delta, eta, eps, y):
    from fractions import Fraction
    from math import floor

    k = floor(Fraction(delta * eta, y * eta + eps))
    assert ref(xs, Delta=delta, eta=eta, eps=eps, y=y).tolist() == [v * k for v in xs]


def test_graph_types():
    x = np.array([[3, -16000, 16000]], np.float32)
    g, out = run("TrueIntegerDiv", [x], ATTRS)
    t = g.tensors[g.outputs[0]].type
    assert t.range == (-32768 * 8191, 32767 * 8191) and str(t.dtype) == "int32"  # int16 input range
    assert out.tolist() == [[3 * 8191, -16000 * 8191, 16000 * 8191]]
    attrs = {"Delta": 2, "eta": 1, "eps": 0, "y": -1}
    g, _ = build("TrueIntegerDiv", [np.array([1, 2], np.float32)], attrs)
    assert g.tensors[g.outputs[0]].type.range == (-2 * 127, 2 * 128)  # K = -2 flips the int8 range


def test_bad_attributes():
    with pytest.raises(OpError, match=r"y\*eta \+ eps = -1\*1 \+ 1 is 0"):
        build("TrueIntegerDiv", [np.zeros((2,), np.float32)], {**ATTRS, "eta": 1, "y": -1})
    with pytest.raises(OpError, match="'eta' is required"):
        build("TrueIntegerDiv", [np.zeros((2,), np.float32)], {"Delta": 1, "eps": 1, "y": 2})
    with pytest.raises(OpError, match="unknown attribute"):
        build("TrueIntegerDiv", [np.zeros((2,), np.float32)], {**ATTRS, "n_levels": 256})
