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

SPEC = OPS["ITAMax"]


def py_itamax(row, n):
    """Exact formula with Python ints: rounded shift, power-of-two exponentials."""
    bits = n.bit_length() - 1
    m = max(row)
    shifts = [((m - v) * bits + (1 << (bits - 1))) >> bits for v in row]
    expsum = sum(n >> s for s in shifts)
    inv = n * (n - 1) // expsum
    return [inv >> s for s in shifts]


def ref(x, n=256):
    return SPEC.reference([np.asarray(x, dtype=np.int64)], {"n_levels": n})[0]


def test_hand_computed_rows():
    # [0,0]: expsum 512, inv 65280//512 = 127; [10,-6]: diff 16 -> shift 1, expsum 384, inv 170
    assert ref([[0, 0], [10, -6]]).tolist() == [[127, 127], [170, 85]]


def test_shift_is_rounded_half_up():
    # diff 15 -> 15/32 + 1/2 < 1 -> shift 0; diff 16 -> exactly 1 -> shift 1; diff 47 -> 1; diff 48 -> 2
    y = ref([[0, -15, -16, -47, -48]])
    assert y.tolist() == [py_itamax([0, -15, -16, -47, -48], 256)]
    inv = 256 * 255 // (256 + 256 + 128 + 128 + 64)
    assert y.tolist() == [[inv, inv, inv >> 1, inv >> 1, inv >> 2]]


def test_wide_input_shift_beyond_word():
    # a 32-bit input gives shifts in the thousands: those entries are 0
    assert ref([[100000, 0, 99990]]).tolist() == [[127, 0, 127]]


def test_empty_and_multi_axis():
    assert ref(np.zeros((3, 0), dtype=np.int64)).shape == (3, 0)
    x = np.array([[[1, 2, 3], [-128, 127, 0]], [[5, 5, 5], [0, -1, -64]]])
    y = ref(x)
    assert y.tolist() == [[py_itamax(r.tolist(), 256) for r in m] for m in x]


@SETTINGS
@given(rows=st.lists(st.lists(st.integers(-128, 127), min_size=1, max_size=16), min_size=1, max_size=4),
       n=st.sampled_from([2, 4, 16, 256]))
def test_matches_exact_formula(rows, n):
    width = len(rows[0])
    rows = [(r * width)[:width] for r in rows]
    y = ref(rows, n)
    assert y.tolist() == [py_itamax(r, n) for r in rows]
    assert y.min() >= 0 and y.max() <= n - 1


def test_graph_type_and_tensor_attribute():
    x = np.array([[4, -100, 4, 3]], np.float32)
    g, y = run("ITAMax", [x], {"n_levels": np.array([256.0], np.float32)})
    t = g.tensors[g.outputs[0]].type
    assert t.range == (0, 255) and str(t.dtype) == "uint8"
    assert y.tolist() == [py_itamax([4, -100, 4, 3], 256)]


@pytest.mark.parametrize("attrs, fragment", [
    ({"n_levels": 255}, "power of two"),
    ({"n_levels": 1}, "must be >= 2"),
    ({"n_levels": 256, "coeffA": 1}, "unknown attribute(s) coeffA"),
])
def test_bad_attributes(attrs, fragment):
    with pytest.raises(OpError) as e:
        build("ITAMax", [np.zeros((2, 3), np.float32)], attrs)
    assert fragment in str(e.value)


def test_rejects_float_and_scalar_inputs():
    with pytest.raises(OpError, match="integer tensor"):
        build("ITAMax", [np.array([[0.5, 1.0]], np.float32)], {})
    with pytest.raises(OpError, match="at least one dimension"):
        build("ITAMax", [np.array(3.0, np.float32)], {})
