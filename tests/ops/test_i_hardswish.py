import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops import OPS
from torch_deeploy.ops.i_hardswish import out_range
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

SPEC = OPS["iHardswish"]

ATTRS = {"three": 765, "six": 1530, "one_over_six": 33}


def py_hswish(x, three, six, k):
    return x * (min(max(x + three, 0), six) * k)


def ref(x, **kw):
    return SPEC.reference([np.asarray(x, np.int64)], {**ATTRS, **kw})[0]


def test_hand_computed_toy_constants():
    a = {"three": 3, "six": 6, "one_over_six": 1}
    # x=-4: clip(-1)=0; x=-3: 0; x=-1: -1*2; x=1: 1*4; x=3: 3*6 (clip at six); x=4: 4*6
    assert ref([-4, -3, -1, 0, 1, 3, 4], **a).tolist() == [0, 0, -2, 0, 4, 18, 24]


def test_conformance_like_constants():
    # three=765 > 127: every int8 input lies in the quadratic part
    assert ref([127, -127]).tolist() == [127 * 892 * 33, -127 * 638 * 33]


@SETTINGS
@given(xs=st.lists(st.integers(-(2**15), 2**15), min_size=1, max_size=30),
       three=st.integers(-50, 2000), six=st.integers(0, 4000), k=st.integers(0, 64))
def test_matches_exact_formula(xs, three, six, k):
    assert ref(xs, three=three, six=six, one_over_six=k).tolist() == [py_hswish(v, three, six, k) for v in xs]


@SETTINGS
@given(lo=st.integers(-2000, 2000), width=st.integers(0, 3000),
       three=st.integers(-50, 800), six=st.integers(0, 1600), k=st.integers(0, 50))
def test_range_is_exact(lo, width, three, six, k):
    hi = lo + width
    vals = [py_hswish(v, three, six, k) for v in range(lo, hi + 1)]
    assert out_range((lo, hi), three, six, k) == (min(vals), max(vals))


def test_graph_types_int8_input():
    x = np.array([[[[-127, 0, 5, 127]]]], np.float32)
    g, y = run("iHardswish", [x], ATTRS)
    t = g.tensors[g.outputs[0]].type
    # int8 input range [-128, 127]: min at x=-128 (quadratic part), max at x=127
    assert t.range == (py_hswish(-128, 765, 1530, 33), py_hswish(127, 765, 1530, 33))
    assert str(t.dtype) == "int32"
    assert y.tolist() == [[[[py_hswish(int(v), 765, 1530, 33) for v in x.ravel()]]]]


def test_small_constants_give_a_narrow_type():
    g, _ = build("iHardswish", [np.array([-3, 3], np.float32)], {"three": 3, "six": 6, "one_over_six": 1})
    # int8 input: values in [-2, 127*6] -> int16
    assert g.tensors[g.outputs[0]].type.range == (-2, 127 * 6)


@pytest.mark.parametrize("attrs, fragment", [
    ({**ATTRS, "six": -1}, "'six' = -1: must be >= 0"),
    ({**ATTRS, "one_over_six": -2}, "'one_over_six' = -2: must be >= 0"),
    ({"three": 3, "six": 6}, "'one_over_six' is required"),
])
def test_bad_attributes(attrs, fragment):
    with pytest.raises(OpError) as e:
        build("iHardswish", [np.zeros((2,), np.float32)], attrs)
    assert fragment in str(e.value)
