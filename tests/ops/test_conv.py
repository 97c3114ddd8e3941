import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.errors import OpError
from torch_deeploy.ir import dtypes
from torch_deeploy.ops.conv import SPEC, out_len

try:
    from _node_helpers import Const, onnx_run, run
except ImportError:
    from tests.ops._node_helpers import Const, onnx_run, run


def conv_python(x, w, b, group, strides, dil, pads):
    """Definition with Python ints: out[n,m,o] = sum_{c,k} x_padded[n, g*Cg+c, o*s + k*d] * w[m,c,k]."""
    nd = x.ndim - 2
    n, c = x.shape[:2]
    m, cg = w.shape[:2]
    kern = w.shape[2:]
    outs = [out_len(x.shape[2 + i], kern[i], strides[i], dil[i], pads[i], pads[nd + i]) for i in range(nd)]
    y = np.zeros((n, m, *outs), dtype=object)
    for bi, mi in itertools.product(range(n), range(m)):
        g = mi // (m // group)
        for o in itertools.product(*(range(v) for v in outs)):
            acc = int(b[mi]) if b is not None else 0
            for ci in range(cg):
                for k in itertools.product(*(range(v) for v in kern)):
                    pos = [o[i] * strides[i] + k[i] * dil[i] - pads[i] for i in range(nd)]
                    if all(0 <= pos[i] < x.shape[2 + i] for i in range(nd)):
                        acc += int(x[(bi, g * cg + ci, *pos)]) * int(w[(mi, ci, *k)])
            y[(bi, mi, *o)] = acc
    return y


def test_1d_hand_computed_with_padding_and_bias():
    x = np.array([[[1, 2, 3, 4]]], dtype=np.int8)
    w = np.array([[[1, 0, -1]]], dtype=np.float32)
    ty, y, _ = run("Conv", [x, Const(w), Const(np.array([10.0]))], {"pads": [1, 1], "kernel_shape": [3]})
    # padded: 0 1 2 3 4 0 -> (0-2, 1-3, 2-4, 3-0) + 10
    np.testing.assert_array_equal(y, [[[8, 8, 8, 13]]])
    assert ty.shape == (1, 1, 4) and ty.range == (-255 + 10, 255 + 10)


def test_padding_brings_zero_into_the_range():
    x = np.full((1, 1, 2), 5, dtype=np.uint8)
    # positive weights, uint8 input: the padded tap contributes 0, the minimum is 0 not 0*2
    ty, y, _ = run("Conv", [x, Const(np.ones((1, 1, 2)))], {"pads": [1, 0]})
    assert ty.range == (0, 510) and ty.dtype == dtypes.int16
    np.testing.assert_array_equal(y, [[[5, 10]]])


def test_exact_per_channel_range_with_bias():
    w = np.array([[[[1]]], [[[-1]]]], dtype=np.float32)
    b = np.array([100.0, -100.0])
    ty, _, _ = run("Conv", [np.zeros((1, 1, 2, 2), np.int8), Const(w), Const(b)])
    # channel 0: x+100 in [-28, 227]; channel 1: -x-100 in [-227, 28]
    assert ty.range == (-227, 227)


def test_depthwise_2d_strided():
    x = np.arange(2 * 4 * 4, dtype=np.int8).reshape(1, 2, 4, 4)
    w = np.array([[[[1, 1], [1, 1]]], [[[0, 0], [0, -1]]]], dtype=np.float32)
    attrs = {"group": 2, "strides": [2, 2], "kernel_shape": [2, 2]}
    _, y, _ = run("Conv", [x, Const(w)], attrs)
    want = conv_python(x, w, None, 2, (2, 2), (1, 1), (0, 0, 0, 0))
    np.testing.assert_array_equal(y, want.astype(np.int64))
    assert y[0, 0, 0, 0] == 0 + 1 + 4 + 5 and y[0, 1, 1, 1] == -31


def test_rejects_auto_pad():
    with pytest.raises(OpError, match="NOTSET"):
        run("Conv", [np.zeros((1, 1, 4), np.int8), Const(np.ones((1, 1, 3)))], {"auto_pad": "SAME_UPPER"})


def test_rejects_3d_and_bad_groups_and_kernel_mismatch():
    with pytest.raises(OpError, match="only 1-D and 2-D"):
        run("Conv", [np.zeros((1, 1, 2, 2, 2), np.int8), Const(np.ones((1, 1, 1, 1, 1)))])
    with pytest.raises(OpError, match="group=2 must divide"):
        run("Conv", [np.zeros((1, 3, 4), np.int8), Const(np.ones((2, 1, 1)))], {"group": 2})
    with pytest.raises(OpError, match="input channels per group"):
        run("Conv", [np.zeros((1, 4, 4), np.int8), Const(np.ones((2, 4, 1)))], {"group": 2})
    with pytest.raises(OpError, match="differs from the weight"):
        run("Conv", [np.zeros((1, 1, 4), np.int8), Const(np.ones((1, 1, 3)))], {"kernel_shape": [2]})
    with pytest.raises(OpError, match="exceeds the padded input"):
        run("Conv", [np.zeros((1, 1, 2), np.int8), Const(np.ones((1, 1, 3)))])
    with pytest.raises(OpError, match="pads="):
        run("Conv", [np.zeros((1, 1, 4), np.int8), Const(np.ones((1, 1, 3)))], {"pads": [1, 1, 1, 1]})
    with pytest.raises(OpError, match="bias must have shape"):
        run("Conv", [np.zeros((1, 1, 4), np.int8), Const(np.ones((2, 1, 3))), Const(np.ones(3))])


def test_float_conv_matches_onnx():
    rs = np.random.default_rng(0)
    x = rs.normal(size=(1, 4, 5, 6)).astype(np.float32)
    w = rs.normal(size=(6, 2, 3, 2)).astype(np.float32)
    b = rs.normal(size=(6,)).astype(np.float32)
    attrs = {"group": 2, "pads": [1, 0, 2, 1], "strides": [2, 1], "dilations": [1, 2]}
    ty, y, _ = run("Conv", [x, Const(w), Const(b)], attrs)
    assert ty.is_float
    np.testing.assert_allclose(y, onnx_run("Conv", [x, Const(w), Const(b)], attrs), atol=1e-5)


def test_reference_direct_empty_batch():
    (y,) = SPEC.reference([np.zeros((0, 1, 4), np.int64), np.ones((1, 1, 2), np.int64), None],
                          {"group": 1, "strides": None, "dilations": None, "pads": None,
                           "kernel_shape": None, "auto_pad": "NOTSET"})
    assert y.shape == (0, 1, 3)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(1, 2), st.sampled_from([1, 2]), st.integers(1, 2), st.integers(1, 3), st.integers(1, 2),
       st.integers(1, 2), st.integers(0, 2), st.integers(0, 1), st.booleans(), st.randoms())
def test_1d_2d_against_python_ints(nd, group, cpg, k, s, d, pb, pe, bias, rnd):
    c, m = group * cpg, group * 2
    size = [rnd.randint(d * (k - 1) + 1, 6) for _ in range(nd)]
    x = np.array([rnd.randint(0, 255) for _ in range(c * int(np.prod(size)))], dtype=np.uint8)
    x = x.reshape(1, c, *size)
    w = np.array([rnd.randint(-128, 127) for _ in range(m * cpg * k**nd)], dtype=np.float32)
    w = w.reshape(m, cpg, *([k] * nd))
    b = np.array([rnd.randint(-1000, 1000) for _ in range(m)], dtype=np.float32) if bias else None
    pads = [pb] * nd + [pe] * nd
    attrs = {"group": group, "strides": [s] * nd, "dilations": [d] * nd, "pads": pads}
    ty, y, _ = run("Conv", [x, Const(w)] + ([Const(b)] if bias else []), attrs)
    want = conv_python(x, w, b, group, [s] * nd, [d] * nd, pads)
    np.testing.assert_array_equal(y, want.astype(np.int64))
    assert ty.range[0] <= y.min() and y.max() <= ty.range[1]
