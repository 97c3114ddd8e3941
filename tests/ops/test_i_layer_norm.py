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

SPEC = OPS["iLayerNorm"]
ATTRS = {"D": 16384, "n_levels": 256}


def tdiv(a, b):
    """C's '/' : rounds toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def py_layernorm(row, w, b, d, n):
    from math import isqrt

    nn = len(row)
    mean = tdiv(sum(row), nn)
    c = [v - mean for v in row]
    std = isqrt(sum(v * v for v in c) // nn + 1)
    out = []
    for ci, wi, bi in zip(c, w, b, strict=True):
        v = tdiv(ci * wi, std) + bi
        out.append(min(max(v // d, -(n // 2)), n // 2 - 1))
    return out


def ref(x, w, b, **kw):
    return SPEC.reference([np.asarray(a, np.int64) for a in (x, w, b)], {**ATTRS, **kw})[0]


def test_mean_and_product_truncate_toward_zero():
    # x=[-5,0,0,0]: sum -5, mean trunc(-1.25) = -1 (floor: -2); c = [-4,1,1,1]
    # var = 19//4 = 4; std = isqrt(5) = 2
    # c*w/std with w=[1,-3,3,1]: [-2, -1.5 -> -1, 1.5 -> 1, 0.5 -> 0]; D = 1 keeps v as is
    y = ref([[-5, 0, 0, 0]], [1, -3, 3, 1], [0, 0, 0, 10], D=1)
    assert y.tolist() == [[-2, -1, 1, 10]]


def test_final_shift_floors_and_saturates():
    # v = [-1, 1] with D = 2 -> floor -> [-1, 0]
    assert ref([[0, 0]], [0, 0], [-1, 1], D=2).tolist() == [[-1, 0]]
    assert ref([[1, -1]], [10**6, 10**6], [0, 0], D=1).tolist() == [[127, -128]]


@SETTINGS
@given(rows=st.lists(st.lists(st.integers(-128, 127), min_size=1, max_size=10), min_size=1, max_size=3),
       w=st.lists(st.integers(-(2**16), 2**16), min_size=10, max_size=10),
       b=st.lists(st.integers(-(2**20), 2**20), min_size=10, max_size=10),
       d=st.sampled_from([1, 128, 16384]))
def test_matches_exact_formula(rows, w, b, d):
    width = len(rows[0])
    rows = [(r * width)[:width] for r in rows]
    y = ref(rows, w[:width], b[:width], D=d)
    assert y.tolist() == [py_layernorm(r, w[:width], b[:width], d, 256) for r in rows]


def test_graph_types():
    x = np.array([[3, -7, 100, 0], [1, 1, 1, 1]], np.float32)
    w = np.array([20000, -5000, 7, 16384], np.float32)
    b = np.array([5, -300000, 0, 16384], np.float32)
    attrs = {k: np.array([v], np.float32) for k, v in ATTRS.items()}
    g, y = run("iLayerNorm", [x, w, b], attrs, consts={1, 2})
    t = g.tensors[g.outputs[0]].type
    assert t.range == (-128, 127) and str(t.dtype) == "int8"
    assert y.tolist() == [py_layernorm(r, w.astype(int).tolist(), b.astype(int).tolist(), 16384, 256)
                          for r in x.astype(int).tolist()]


def test_empty():
    assert ref(np.zeros((0, 4)), np.ones(4), np.ones(4)).shape == (0, 4)


@pytest.mark.parametrize("shapes, fragment", [
    (((1, 4), (4,), (3,)), "bias of shape [3] does not fit the input shape [1, 4]"),
    (((1, 4), (2, 4), (4,)), "weight of shape [2, 4] does not fit"),
])
def test_bad_parameter_shapes(shapes, fragment):
    args = [np.zeros(s, np.float32) for s in shapes]
    with pytest.raises(OpError) as e:
        build("iLayerNorm", args, ATTRS, consts={1, 2})
    assert fragment in str(e.value)


def test_bad_attributes():
    with pytest.raises(OpError, match="power of two"):
        build("iLayerNorm", [np.zeros((1, 4), np.float32)] * 3, {"D": 3}, consts={1, 2})
    with pytest.raises(OpError, match="takes 3 inputs, got 2"):
        build("iLayerNorm", [np.zeros((1, 4), np.float32)] * 2, ATTRS, consts={1})
