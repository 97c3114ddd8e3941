import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.errors import OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops import OPS
from torch_deeploy.ops.common import saturating_division_shift
from torch_deeploy.ops.i_rms_norm import std_bound
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

SPEC = OPS["iRMSNorm"]
ATTRS = {"D": 65536, "n_levels": 256}


def py_rmsnorm(row, w, d, n):
    """Exact formula with Python ints (math.isqrt, floor division)."""
    from math import isqrt

    ms = sum(v * v for v in row) // len(row)
    std = isqrt(ms + 1)
    return [min(max((v * wi // std) // d, -(n // 2)), n // 2 - 1) for v, wi in zip(row, w, strict=True)]


def ref(x, w, **kw):
    return SPEC.reference([np.asarray(x, np.int64), np.asarray(w, np.int64)], {**ATTRS, **kw})[0]


def test_hand_computed():
    # x=[3,4]: ms = 25//2 = 12, std = isqrt(13) = 3; 3*65536/3 = 65536 -> 1
    # -4*65536/3 = -87381.3 -> floor -87382 -> floor(/65536) = -2
    assert ref([[3, 4]], [65536, -65536]).tolist() == [[1, -2]]


def test_plus_one_inside_the_root():
    # x=[0,0]: ms = 0 -> std = isqrt(1) = 1 (without the +1 this divides by zero)
    assert ref([[0, 0]], [65536, 65536]).tolist() == [[0, 0]]
    # sum of squares 7*16 + 9 = 121 -> ms = 15 -> std = isqrt(16) = 4 (isqrt(15) would be 3, giving 5s)
    x = [4] * 7 + [3]
    assert ref([x], [65536 * 4] * 8).tolist() == [x]


def test_saturation_signed():
    y = ref([[1, -1]], [65536 * 1000, 65536 * 1000])
    assert y.tolist() == [[127, -128]]
    y = ref([[1, -1]], [65536 * 1000, 65536 * 1000], n_levels=16)
    assert y.tolist() == [[7, -8]]


def test_empty():
    assert ref(np.zeros((2, 0)), np.zeros((0,))).shape == (2, 0)


@SETTINGS
@given(rows=st.lists(st.lists(st.integers(-128, 127), min_size=1, max_size=10), min_size=1, max_size=3),
       wseed=st.lists(st.integers(-(2**20), 2**20), min_size=10, max_size=10),
       d=st.sampled_from([1, 256, 65536]), n=st.sampled_from([16, 256]))
def test_matches_exact_formula(rows, wseed, d, n):
    width = len(rows[0])
    rows = [(r * width)[:width] for r in rows]
    w = wseed[:width]
    y = ref(rows, w, D=d, n_levels=n)
    assert y.tolist() == [py_rmsnorm(r, w, d, n) for r in rows]


def test_graph_like_the_exporter():
    x = np.array([[[5, -3, 0, 127]]], np.float32)
    w = np.array([70000, -12345, 3, 65536], np.float32)
    g, y = run("iRMSNorm", [x, w], ATTRS, consts={1})
    t = g.tensors[g.outputs[0]].type
    assert t.range == (-128, 127) and str(t.dtype) == "int8"
    assert y.tolist() == [[py_rmsnorm([5, -3, 0, 127], [70000, -12345, 3, 65536], 65536, 256)]]


@pytest.mark.parametrize("w, fragment", [
    (np.ones((3,), np.float32), "weight of shape [3] does not fit the input shape [1, 2, 4]"),
    (np.full((4,), 0.5, np.float32), "weight must hold integers"),
])
def test_bad_weight(w, fragment):
    with pytest.raises(OpError) as e:
        build("iRMSNorm", [np.zeros((1, 2, 4), np.float32), w], ATTRS, consts={1})
    assert fragment in str(e.value)


@pytest.mark.parametrize("attrs, fragment", [
    ({"D": 1000, "n_levels": 256}, "'D' = 1000: must be a positive power of two"),
    ({"n_levels": 256}, "'D' is required"),
    ({"D": 65536, "n_levels": 256, "eps": 1}, "unknown attribute(s) eps"),
])
def test_bad_attributes(attrs, fragment):
    with pytest.raises(OpError) as e:
        build("iRMSNorm", [np.zeros((1, 4), np.float32), np.ones((4,), np.float32)], attrs, consts={1})
    assert fragment in str(e.value)


@pytest.mark.parametrize("lo, hi", [(-128, 127), (0, 255), (-8, 7)])
def test_saturating_division_shift_is_exact(lo, hi):
    """floor(n / d) == (n * ceil(2^s / d)) >> s, the product below 2^32, for every n in [0, K*d] and d <= d_max."""
    d_max = std_bound(128 * 128)
    s = saturating_division_shift(lo, hi, d_max)
    assert s is not None
    k = max(1 - lo, hi + 1)
    for d in range(1, d_max + 1):
        n = np.arange(k * d + 1, dtype=np.uint64)
        m = np.uint64(-(-(2**s) // d))
        assert int((n * m).max()) < 2**32
        np.testing.assert_array_equal((n * m) >> np.uint64(s), n // np.uint64(d))


def test_saturating_division_shift_declines_wide_divisors():
    assert saturating_division_shift(-128, 127, 2**20) is None
