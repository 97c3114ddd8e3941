import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops import OPS
from torch_deeploy.ops.i_gelu import out_range
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

SPEC = OPS["iGELU"]


def py_gelu(x, b, one):
    q = min(abs(x), -b)
    sign = (x > 0) - (x < 0)
    lin = sign * (one - (q + b) ** 2)
    return x * ((one + lin) // 2)


def ref(x, b=-40, one=1743):
    return SPEC.reference([np.asarray(x, np.int64)], {"b": b, "one": one})[0]


def test_hand_computed():
    # x=1: (1-40)^2 = 1521, L = 222, (1743+222)//2 = 982; x=-1: L = -222 -> 1521//2 = 760 -> -760
    # |x| >= 40: x > 0 -> x*one, x < 0 -> 0
    y = ref([0, 1, -1, 40, -40, 50, -50, 127, -128])
    assert y.tolist() == [0, 982, -760, 40 * 1743, 0, 50 * 1743, 0, 127 * 1743, 0]


@SETTINGS
@given(xs=st.lists(st.integers(-(2**15), 2**15), min_size=1, max_size=30),
       b=st.integers(-300, 0), one=st.integers(1, 50000))
def test_matches_exact_formula(xs, b, one):
    assert ref(xs, b, one).tolist() == [py_gelu(v, b, one) for v in xs]


@SETTINGS
@given(lo=st.integers(-400, 400), width=st.integers(0, 400), b=st.integers(-120, 0),
       one=st.integers(1, 20000))
def test_range_contains_every_value(lo, width, b, one):
    hi = lo + width
    vals = [py_gelu(v, b, one) for v in range(lo, hi + 1)]
    r_lo, r_hi = out_range((lo, hi), b, one)
    assert r_lo <= min(vals) and max(vals) <= r_hi
    if hi >= -b:  # the positive linear part attains the upper bound exactly
        assert r_hi == max(vals)


def test_graph_types_int8_input():
    x = np.array([[-128, -3, 0, 5, 127]], np.float32)
    g, y = run("iGELU", [x], {"b": -40, "one": 1743}, domain="PACTOps")
    t = g.tensors[g.outputs[0]].type
    lo, hi = t.range
    assert hi == 127 * 1743 and lo < 0 and str(t.dtype) == "int32"
    assert y.tolist() == [[py_gelu(int(v), -40, 1743) for v in x[0]]]


def test_bad_attributes():
    with pytest.raises(OpError, match="'b' = 3: must be <= 0"):
        build("iGELU", [np.zeros((2,), np.float32)], {"b": 3, "one": 100})
    with pytest.raises(OpError, match="'one' is required"):
        build("iGELU", [np.zeros((2,), np.float32)], {"b": -3})
    with pytest.raises(OpError, match="integer tensor"):
        build("iGELU", [np.array([0.5], np.float32)], {"b": -3, "one": 10})
