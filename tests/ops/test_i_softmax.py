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

SPEC = OPS["iSoftmax"]
ATTRS = {"coeffA": 1, "coeffB": 10, "coeffC": 50, "log2": 7, "n_levels": 256}


def py_softmax(row, a, b, c, log2, n):
    """Exact per-row formula with Python ints (unbounded shifts)."""
    m = max(row)
    e = []
    for v in row:
        d = v - m
        z = (-d) // log2
        p = d + z * log2
        e.append((a * (p + b) ** 2 + c) >> z)
    s = sum(e)
    return [min(max(ei * (n - 1) // s, 0), n - 1) for ei in e]


def ref(x, **kw):
    return SPEC.reference([np.asarray(x, dtype=np.int64)], {**ATTRS, **kw})[0]


def test_hand_computed_rows():
    # [0,0]: e=150 each -> 150*255//300; [0,-7]: z=1 halves e; [5,2]: p=-3 -> e=(7)^2+50=99
    y = ref([[0, 0], [0, -7], [5, 2]])
    assert y.tolist() == [[127, 127], [170, 85], [153, 101]]


def test_final_division_floors_not_rounds():
    # 150*255/225 = 170.0 exact, 75*255/225 = 85.0; use a row where rounding would differ: [5,2] -> 101.38
    assert ref([[5, 2]])[0, 1] == 101


def test_large_shift_gives_zero():
    # log2=1 makes z = 255 for the minimum: far past the int64 width; the result must be 0, not garbage
    y = ref([[127, -128, 127 - 45, 127 - 62, 127 - 63, 127 - 64]], log2=1)
    assert y[0, 1] == 0 and y[0, 3] == 0 and y[0, 4] == 0
    assert y[0, 5] == 0
    assert y.tolist() == [py_softmax([127, -128, 82, 65, 64, 63], 1, 10, 50, 1, 256)]


def test_reduces_over_last_axis_only():
    x = np.array([[[1, 2, 3], [-5, 0, 7]], [[0, 0, 0], [9, -9, 1]]])
    y = ref(x)
    for i in range(2):
        for j in range(2):
            assert y[i, j].tolist() == py_softmax(x[i, j].tolist(), 1, 10, 50, 7, 256)


def test_empty_tensor():
    assert ref(np.zeros((2, 0), dtype=np.int64)).shape == (2, 0)
    g, y = run("iSoftmax", [np.zeros((0, 4), np.float32)], ATTRS)
    assert y.shape == (0, 4)


@SETTINGS
@given(
    rows=st.lists(st.lists(st.integers(-128, 127), min_size=1, max_size=12), min_size=1, max_size=4),
    a=st.integers(0, 3), b=st.integers(-400, 400), c=st.integers(1, 70000), log2=st.integers(1, 255),
    n=st.sampled_from([2, 16, 256]),
)
def test_matches_exact_formula(rows, a, b, c, log2, n):
    width = len(rows[0])
    rows = [(r * width)[:width] for r in rows]
    y = SPEC.reference([np.array(rows, dtype=np.int64)],
                       {"coeffA": a, "coeffB": b, "coeffC": c, "log2": log2, "n_levels": n})[0]
    assert y.tolist() == [py_softmax(r, a, b, c, log2, n) for r in rows]
    assert y.min() >= 0 and y.max() <= n - 1


def test_graph_with_tensor_attributes_and_domains():
    x = np.array([[[3, -20, 7, 7]]], dtype=np.float32)
    tensor_attrs = {k: np.array([v], np.float32) for k, v in ATTRS.items()}
    tensor_attrs["log2"] = np.array(7.0, np.float32)  # 0-d
    for domain in ("", "PACTOps"):
        g, y = run("iSoftmax", [x], tensor_attrs, domain=domain)
        assert y.tolist() == [[py_softmax([3, -20, 7, 7], 1, 10, 50, 7, 256)]]
        t = g.tensors[g.outputs[0]].type
        assert t.range == (0, 255) and str(t.dtype) == "uint8" and t.shape == (1, 1, 4)


def test_output_range_follows_n_levels():
    g, _ = build("iSoftmax", [np.zeros((2, 3), np.float32)], {**ATTRS, "n_levels": 16})
    assert g.tensors[g.outputs[0]].type.range == (0, 15)


@pytest.mark.parametrize("attrs, fragment", [
    ({**ATTRS, "log2": 0}, "'log2' = 0: must be >= 1"),
    ({**ATTRS, "coeffC": 0}, "'coeffC' = 0: must be >= 1"),
    ({**ATTRS, "coeffA": -1}, "'coeffA' = -1: must be >= 0"),
    ({**ATTRS, "coeffB": 1.5}, "must be an integer"),
    ({**ATTRS, "axis": 1}, "unknown attribute(s) axis"),
    ({k: v for k, v in ATTRS.items() if k != "coeffB"}, "'coeffB' is required"),
])
def test_bad_attributes(attrs, fragment):
    with pytest.raises(OpError, match=None) as e:
        build("iSoftmax", [np.zeros((2, 3), np.float32)], attrs)
    assert fragment in str(e.value)


def test_rejects_float_and_scalar_inputs():
    with pytest.raises(OpError, match="integer tensor"):
        build("iSoftmax", [np.array([[0.5, 1.0]], np.float32)], ATTRS)
    with pytest.raises(OpError, match="at least one dimension"):
        build("iSoftmax", [np.array(3.0, np.float32)], ATTRS)


@pytest.mark.parametrize("d", [1, 2, 3, 7, 23, 50, 64, 255, 1000, 65537])
def test_magic_divider_is_exact_on_its_range(d):
    from torch_deeploy.ops.i_softmax import magic_divider

    for n_max in (0, 1, 255, 4095, 65535):
        md = magic_divider(d, n_max)
        if md is None:  # n * M would need more than 31 bits: only for wide ranges
            assert n_max > 4095
            continue
        m, shift = md
        n = np.arange(n_max + 1, dtype=np.int64)
        assert np.array_equal((n * m) >> shift, n // d) and n_max * m < 2**31
    assert magic_divider(d, 1 << 20) is None  # too wide to check: the kernel divides


@pytest.mark.parametrize("n1, s", [(255, 19), (255, 24), (15, 27), (1, 31)])
def test_row_reciprocal_division_is_exact(n1, s):
    """The kernel's normalization: q0 = (e * floor(2^s * n1 / d)) >> s is floor(e * n1 / d) or one less, for every
    0 <= e <= d with e < 2^s, and both products fit 32 bits (the one remainder check then makes it exact)."""
    rng = np.random.default_rng(s)
    d = np.concatenate([rng.integers(1, 2**31, 20000), np.arange(1, 600), 2 ** np.arange(31), [2**31 - 1]])
    d = d.astype(np.uint64)
    e = np.minimum(np.concatenate([rng.integers(0, 2**s, 20000), np.arange(599), 2 ** np.arange(31) - 1, [0]]),
                   d).astype(np.uint64)
    e = np.minimum(e, np.uint64(2**s - 1))
    r = (np.uint64(n1) << np.uint64(s)) // d
    q0 = (e * r) >> np.uint64(s)
    q = e * np.uint64(n1) // d
    assert int((e * r).max()) < 2**32 and int((e * np.uint64(n1)).max()) < 2**32
    assert np.all((q0 == q) | (q0 + np.uint64(1) == q))
