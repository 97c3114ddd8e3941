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

SPEC = OPS["IntegerMean"]


def ref(x, **kw):
    return SPEC.reference([np.asarray(x, np.int64)], {"axes": None, "keepdims": 1, **kw})[0]


def test_rounds_half_up():
    # means 1.5 -> 2 and -1.5 -> -1 (half up, not away from zero); 5/3 -> 2, -5/3 -> -2; 5/4 -> 1, -3/4 -> -1
    assert ref(np.array([[1, 2], [-1, -2]]), axes=(1,), keepdims=0).tolist() == [2, -1]
    assert ref(np.array([[1, 2, 2], [-1, -2, -2]]), axes=(1,), keepdims=0).tolist() == [2, -2]
    assert ref(np.array([[1, 2, 2, 0], [-1, -2, 0, 0]]), axes=(1,), keepdims=0).tolist() == [1, -1]


def test_axes_and_keepdims():
    x = np.arange(24).reshape(2, 3, 4) - 12
    assert ref(x, axes=(1,), keepdims=1).shape == (2, 1, 4)
    assert ref(x, axes=(-1, 0), keepdims=0).shape == (3,)
    assert ref(x).shape == (1, 1, 1)  # no axes: all of them
    assert ref(x, keepdims=0).shape == ()


@SETTINGS
@given(vals=st.lists(st.integers(-(2**15), 2**15), min_size=24, max_size=24),
       axes=st.sampled_from([(0,), (1,), (2,), (0, 2), (-1,), (0, 1, 2)]))
def test_matches_exact_formula(vals, axes):
    from fractions import Fraction
    from math import floor

    x = np.array(vals).reshape(2, 3, 4)
    y = ref(x, axes=axes, keepdims=1)
    norm = [a % 3 for a in axes]
    cnt = int(np.prod([x.shape[a] for a in norm]))
    sums = x.sum(axis=tuple(norm), keepdims=True)
    expect = np.vectorize(lambda s: floor(Fraction(int(s), cnt) + Fraction(1, 2)))(sums)
    assert y.tolist() == expect.tolist()


def test_graph_types_and_waveformer_style_int_axes():
    x = np.array([[[-128, 127, 5], [1, 2, 3]]], np.float32)
    g, y = run("IntegerMean", [x], {"axes": [1], "keepdims": 0})
    t = g.tensors[g.outputs[0]].type
    assert t.shape == (1, 3) and t.range == (-128, 127)
    assert y.tolist() == [[-63, 65, 4]]
    g, y = run("IntegerMean", [x], {"axes": 2, "keepdims": 0}, domain="PACTOps")
    assert g.tensors[g.outputs[0]].type.shape == (1, 2) and y.tolist() == [[1, 2]]  # 4/3 -> 1, 6/3 -> 2


@pytest.mark.parametrize("attrs, fragment", [
    ({"axes": [3]}, "axis 3 is out of range for an input of rank 3"),
    ({"axes": [1, -2]}, "name the same axis twice"),
    ({"axes": [1], "keepdims": 2}, "'keepdims' = 2: must be one of [0, 1]"),
    ({"axes": [1], "noop_with_empty_axes": 1}, "unknown attribute(s) noop_with_empty_axes"),
])
def test_bad_attributes(attrs, fragment):
    with pytest.raises(OpError) as e:
        build("IntegerMean", [np.zeros((1, 2, 3), np.float32)], attrs)
    assert fragment in str(e.value)


def test_empty_axis():
    with pytest.raises(OpError, match="empty axis"):
        build("IntegerMean", [np.zeros((2, 0), np.float32)], {"axes": [1], "keepdims": 0})
    g, y = run("IntegerMean", [np.zeros((0, 3), np.float32)], {"axes": [1], "keepdims": 0})
    assert y.shape == (0,)
