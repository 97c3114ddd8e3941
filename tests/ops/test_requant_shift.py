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

SPEC = OPS["RequantShift"]


def rq_exact(x, mul, add, div, n, signed):
    """floor((x*mul + add)/div + 1/2) with Python Fractions, then saturation."""
    from fractions import Fraction
    from math import floor

    v = floor(Fraction(x * mul + add, div) + Fraction(1, 2))
    lo, hi = (-(n // 2), n // 2 - 1) if signed else (0, n - 1)
    return min(max(v, lo), hi)


def ref(x, mul, add, div=256, n=256, signed=1):
    args = [np.asarray(a, np.int64) for a in (x, mul, add)]
    return SPEC.reference(args, {"div": div, "n_levels_out": n, "signed": signed})[0]


def test_round_half_up_ties():
    # (x*1 + 0)/4: 2/4 = .5 -> 1, -2/4 = -.5 -> 0, 6/4 = 1.5 -> 2, -6/4 -> -1, 1/4 -> 0, -3/4 -> -1
    assert ref([2, -2, 6, -6, 1, -3], 1, 0, div=4).tolist() == [1, 0, 2, -1, 0, -1]


def test_add_is_not_pre_rounded_to_a_multiple_of_mul():
    # (1*3 + 1)/4 = 1 exactly; an "add first rounded to mul" variant would give a different value
    assert ref([1], 3, 1, div=4).tolist() == [1]
    assert ref([5], 7, -3, div=16).tolist() == [rq_exact(5, 7, -3, 16, 256, 1)]


def test_saturation_signed_and_unsigned():
    x = [-10**6, -1, 0, 10**6]
    assert ref(x, 1, 0, div=1, signed=1).tolist() == [-128, -1, 0, 127]
    assert ref(x, 1, 0, div=1, signed=0).tolist() == [0, 0, 0, 255]
    assert ref(x, 1, 0, div=1, n=16, signed=1).tolist() == [-8, -1, 0, 7]


@SETTINGS
@given(xs=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=12),
       mul=st.integers(-(2**27), 2**27), add=st.integers(-(2**30), 2**30),
       k=st.integers(0, 20), signed=st.sampled_from([0, 1]), n=st.sampled_from([2, 16, 256, 65536]))
def test_matches_exact_rational_formula(xs, mul, add, k, signed, n):
    y = ref(xs, mul, add, div=2**k, n=n, signed=signed)
    assert y.tolist() == [rq_exact(v, mul, add, 2**k, n, signed) for v in xs]


def _per_channel_expect(x, mul_c, add_c, div, axis_of):
    """Expected output by explicit indexing: axis_of(index) names which parameter entry applies."""
    out = np.empty(x.shape, dtype=np.int64)
    for idx in np.ndindex(x.shape):
        c = axis_of(idx)
        out[idx] = rq_exact(int(x[idx]), int(mul_c[c]), int(add_c[c]), div, 256, 1)
    return out


@SETTINGS
@given(data=st.data(), case=st.sampled_from(["scalar0d", "scalar1", "scalar11", "c11_4d", "1c11_4d",
                                             "c_2d", "m1_2d", "c11_3d"]))
def test_broadcasting_cases(data, case):
    c, m, length = 3, 2, 4
    shapes = {  # x shape, parameter shape, which index picks the parameter (None: scalar)
        "scalar0d": ((1, c, 2, 2), (), None), "scalar1": ((1, c, 2, 2), (1,), None),
        "scalar11": ((m, c), (1, 1), None), "c11_4d": ((1, c, 2, 2), (c, 1, 1), 1),
        "1c11_4d": ((2, c, 2, 2), (1, c, 1, 1), 1), "c_2d": ((m, c), (c,), 1),
        "m1_2d": ((m, c), (m, 1), 0), "c11_3d": ((1, c, length), (c, 1, 1), 1),
    }
    xs, ps, ax = shapes[case]
    size = int(np.prod(xs))
    x = np.array(data.draw(st.lists(st.integers(-(2**20), 2**20), min_size=size, max_size=size))).reshape(xs)
    npar = int(np.prod(ps)) if ps else 1
    mul = np.array(data.draw(st.lists(st.integers(-(2**12), 2**12), min_size=npar, max_size=npar)))
    add = np.array(data.draw(st.lists(st.integers(-(2**20), 2**20), min_size=npar, max_size=npar)))
    mul, add = mul.reshape(ps), add.reshape(ps)
    div = 1024
    y = ref(x, mul, add, div=div)
    assert y.shape == xs
    expect = _per_channel_expect(x, mul.reshape(-1), add.reshape(-1), div,
                                 (lambda idx: 0) if ax is None else (lambda idx: idx[ax]))
    assert y.tolist() == expect.tolist()


def test_3d_conv_output_is_per_channel_in_a_graph():
    # Conv/Regular_1D_RQ: x (1,C,L) with mul/add (C,1,1); numpy broadcasting alone would give (C,C,L)
    rs = np.random.RandomState(1)
    x = rs.randint(-5000, 5000, (1, 3, 5)).astype(np.float32)
    mul = np.array([3, 100, -7], np.float32).reshape(3, 1, 1)
    add = np.array([512, -4096, 0], np.float32).reshape(3, 1, 1)
    g, y = run("RequantShift", [x, mul, add], {"div": 1024, "n_levels_out": 256, "signed": 0}, consts={1, 2})
    t = g.tensors[g.outputs[0]].type
    assert t.shape == (1, 3, 5) and t.range == (0, 255) and str(t.dtype) == "uint8"
    expect = [[[rq_exact(int(x[0, ch, i]), int(mul[ch, 0, 0]), int(add[ch, 0, 0]), 1024, 256, 0)
                for i in range(5)] for ch in range(3)]]
    assert y.tolist() == expect


@pytest.mark.parametrize("domain", ["", "PACTOps", "ai.onnx.contrib"])
def test_domains_tensor_attributes_and_n_levels_alias(domain):
    x = np.array([[100, -100]], np.float32)
    attrs = {"div": np.array([16.0], np.float32), "n_levels": np.array(256.0, np.float32),
             "signed": np.array([1.0], np.float32)}
    g, y = run("RequantShift", [x, np.array(3, np.float32), np.array(8, np.float32)], attrs, consts={1, 2},
               domain=domain)
    assert g.tensors[g.outputs[0]].type.range == (-128, 127)
    assert y.tolist() == [[rq_exact(100, 3, 8, 16, 256, 1), rq_exact(-100, 3, 8, 16, 256, 1)]]


@pytest.mark.parametrize("attrs, fragment", [
    ({"div": 1000, "signed": 1}, "'div' = 1000: must be a positive power of two"),
    ({"div": 16, "signed": 2}, "'signed' = 2: must be one of [0, 1]"),
    ({"signed": 1}, "'div' is required"),
    ({"div": 16, "n_levels_out": 1}, "must be >= 2"),
    ({"div": 16, "rounding": 1}, "unknown attribute(s) rounding"),
])
def test_bad_attributes(attrs, fragment):
    with pytest.raises(OpError) as e:
        args = [np.zeros((1, 2), np.float32), np.array(1, np.float32), np.array(0, np.float32)]
        build("RequantShift", args, attrs, consts={1, 2})
    assert fragment in str(e.value)


def test_bad_parameters():
    x = np.zeros((1, 3, 4), np.float32)
    with pytest.raises(OpError, match="fits neither numpy broadcasting nor axis 1"):
        build("RequantShift", [x, np.ones((5, 1, 1), np.float32), np.zeros((), np.float32)],
              {"div": 16}, consts={1, 2})
    with pytest.raises(OpError, match="mul must hold integers"):
        build("RequantShift", [x, np.full((), 0.5, np.float32), np.zeros((), np.float32)],
              {"div": 16}, consts={1, 2})
    with pytest.raises(OpError, match="takes 3 inputs, got 2"):
        build("RequantShift", [x, np.ones((), np.float32)], {"div": 16}, consts={1})


@SETTINGS
@given(mul=st.integers(1, 1 << 24), add=st.integers(-(1 << 24), 1 << 24), k=st.integers(0, 26),
       vr=st.tuples(st.integers(-(1 << 20), 0), st.integers(0, 1 << 20)), signed=st.booleans())
def test_preclip_bounds_change_no_output(mul, add, k, vr, signed):
    """Clamping v to the pre-clip bounds first gives the same outputs, and v*mul + add + div/2 then fits int32."""
    from torch_deeploy.ops.requant_shift import out_bounds, preclip_bounds

    div = 1 << k
    lo, hi = out_bounds({"n_levels_out": 256, "signed": int(signed)})
    pre = preclip_bounds(vr, mul, add + div // 2, div, lo, hi)
    v = np.unique(np.concatenate([np.linspace(vr[0], vr[1], 2001).astype(np.int64), np.array(vr, np.int64)]))
    want = np.clip(np.floor_divide(v * mul + add + div // 2, div), lo, hi)
    if pre is None:
        return
    vc = np.clip(v, *pre)
    t = vc * mul + add + div // 2
    assert t.min() >= -(2**31) and t.max() < 2**31
    assert np.array_equal(np.clip(np.floor_divide(t, div), lo, hi), want)
    if pre[0] > vr[0]:  # the bounds are where saturation starts
        assert np.clip((pre[0] * mul + add + div // 2) // div, lo, hi) == lo
