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

SPEC = OPS["iNoNorm"]
ATTRS = {"D": 65536, "mul": 425, "n_levels": 256}


def ref(x, w, b, **kw):
    return SPEC.reference([np.asarray(a, np.int64) for a in (x, w, b)], {**ATTRS, **kw})[0]


def test_floor_shift_without_rounding():
    # (1*3 + 2)*1/4 = 1.25 -> 1; (-1*5 + 2)/4 = -0.75 -> -1 (truncation would give 0); (2*3+0)/4 = 1.5 -> 1
    y = ref([[1, -1, 2]], [[3, 5, 3]], [2, 2, 0], D=4, mul=1)
    assert y.tolist() == [[1, -1, 1]]


def test_saturates_instead_of_wrapping():
    y = ref([[100, -100]], [[1000, 1000]], [0, 0], D=1, mul=1)
    assert y.tolist() == [[127, -128]]


@SETTINGS
@given(x=st.lists(st.integers(-128, 127), min_size=6, max_size=6),
       w=st.lists(st.integers(-(2**12), 2**12), min_size=6, max_size=6),
       b=st.lists(st.integers(-(2**16), 2**16), min_size=3, max_size=3),
       mul=st.integers(-1000, 1000), d=st.sampled_from([1, 2, 1024, 65536]))
def test_matches_exact_formula_with_broadcasting(x, w, b, mul, d):
    xa = np.array(x).reshape(1, 2, 3)
    wa = np.array(w).reshape(2, 3)  # x's trailing dims
    ba = np.array(b)  # last axis
    y = ref(xa, wa, ba, D=d, mul=mul)
    expect = [[[min(max(((x[i * 3 + j] * w[i * 3 + j] + b[j]) * mul) // d, -128), 127) for j in range(3)]
               for i in range(2)]]
    assert y.tolist() == expect


def test_graph_type_range_contains_values():
    rs = np.random.RandomState(0)
    x = rs.randint(-128, 128, (1, 4, 8)).astype(np.float32)
    w = rs.randint(-300, 300, (4, 8)).astype(np.float32)
    b = rs.randint(-20000, 20000, (8,)).astype(np.float32)
    g, y = run("iNoNorm", [x, w, b], {k: np.array([v], np.float32) for k, v in ATTRS.items()}, consts={1, 2})
    t = g.tensors[g.outputs[0]].type
    assert t.shape == (1, 4, 8) and str(t.dtype) == "int8"
    lo, hi = t.range
    assert lo >= -128 and hi <= 127  # run_reference has already checked every value lies inside
    assert y.tolist() == ref(x, w, b).tolist()


def test_range_is_narrowed_by_small_constants():
    args = [np.zeros((1, 4), np.float32), np.ones((4,), np.float32), np.zeros((4,), np.float32)]
    g, _ = build("iNoNorm", args, {"D": 256, "mul": 1, "n_levels": 256}, consts={1, 2})
    # int8 x times weight 1, /256 -> [-1, 0]
    assert g.tensors[g.outputs[0]].type.range == (-1, 0)


def test_bad_inputs_and_attributes():
    x = np.zeros((1, 4), np.float32)
    with pytest.raises(OpError, match="do not broadcast"):
        build("iNoNorm", [x, np.ones((3,), np.float32), np.zeros((4,), np.float32)], ATTRS, consts={1, 2})
    with pytest.raises(OpError, match="weight must hold integers"):
        build("iNoNorm", [x, np.full((4,), 0.5, np.float32), np.zeros((4,), np.float32)], ATTRS,
              consts={1, 2})
    with pytest.raises(OpError, match="'D' = 100: must be a positive power of two"):
        build("iNoNorm", [x, np.ones((4,), np.float32), np.zeros((4,), np.float32)],
              {**ATTRS, "D": 100}, consts={1, 2})
    with pytest.raises(OpError, match="'mul' is required"):
        build("iNoNorm", [x, np.ones((4,), np.float32), np.zeros((4,), np.float32)],
              {"D": 4}, consts={1, 2})
