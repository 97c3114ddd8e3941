import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.errors import OpError
from torch_deeploy.ops.max_pool import SPEC

try:
    from _node_helpers import build, onnx_run, run
except ImportError:
    from tests.ops._node_helpers import build, onnx_run, run


def test_1d_floor_mode():
    x = np.array([[[1, 5, 2, 8, 3]]], dtype=np.int8)
    ty, y, _ = run("MaxPool", [x], {"kernel_shape": [2], "strides": [2]})
    np.testing.assert_array_equal(y, [[[5, 8]]])
    assert ty.range == (-128, 127) and ty.shape == (1, 1, 2)


def test_1d_ceil_mode_keeps_partial_window():
    x = np.array([[[1, 5, 2, 8, 3]]], dtype=np.int8)
    ty, y, _ = run("MaxPool", [x], {"kernel_shape": [2], "strides": [2], "ceil_mode": 1})
    np.testing.assert_array_equal(y, [[[5, 8, 3]]])


def test_ceil_mode_drops_window_starting_in_end_padding():
    # length 4, k=2, s=2, pads [0,1]: ceil((4+1-2)/2)+1 = 3, but window 2 would start at 4 (padding) -> 2
    ty, _, _ = run("MaxPool", [np.zeros((1, 1, 4), np.int8)],
                   {"kernel_shape": [2], "strides": [2], "pads": [0, 1], "ceil_mode": 1})
    assert ty.shape == (1, 1, 2)


def test_padding_never_wins_for_negative_inputs():
    x = np.full((1, 1, 2, 2), -100, dtype=np.int8)
    ty, y, _ = run("MaxPool", [x], {"kernel_shape": [2, 2], "pads": [1, 1, 1, 1]})
    assert y.shape == (1, 1, 3, 3)
    assert (y == -100).all()


def test_unsigned_range_kept():
    x = np.array([[[[0, 255], [7, 9]]]], dtype=np.uint8)
    ty, y, _ = run("MaxPool", [x], {"kernel_shape": [2, 2]})
    assert ty.range == (0, 255)
    np.testing.assert_array_equal(y, [[[[255]]]])


def test_errors():
    x = np.zeros((1, 1, 4, 4), np.int8)
    with pytest.raises(OpError, match="NOTSET"):
        run("MaxPool", [x], {"kernel_shape": [2, 2], "auto_pad": "VALID"})
    with pytest.raises(OpError, match="does not match"):
        run("MaxPool", [x], {"kernel_shape": [2]})
    with pytest.raises(OpError, match="smaller than the window"):
        run("MaxPool", [x], {"kernel_shape": [2, 2], "pads": [2, 0, 0, 0]})
    with pytest.raises(OpError, match="only 1-D and 2-D"):
        run("MaxPool", [np.zeros((1, 1, 2, 2, 2), np.int8)], {"kernel_shape": [1, 1, 1]})
    with pytest.raises(OpError, match="kernel_shape"):
        run("MaxPool", [x])


def test_indices_output_rejected():
    from torch_deeploy.frontend.onnx import import_onnx

    model, feeds = build("MaxPool", [np.zeros((1, 1, 4), np.int8)], {"kernel_shape": [2]}, n_out=2)
    with pytest.raises(OpError, match="outputs"):
        import_onnx(model, feeds)


def test_reference_direct_float_and_dilation():
    x = np.array([[[1.0, -2.0, 3.0, -4.0, 5.0]]], dtype=np.float32)
    attrs = {"kernel_shape": (2,), "strides": None, "dilations": (2,), "pads": None, "ceil_mode": 0,
             "auto_pad": "NOTSET", "storage_order": 0}
    (y,) = SPEC.reference([x], attrs)
    np.testing.assert_array_equal(y, [[[3.0, -2.0, 5.0]]])
    assert y.dtype == np.float32


def pool_python(x, k, s, d, pb, pe, ceil):
    """Definition with Python ints: max over the real positions of each window (padding never wins)."""
    nd = x.ndim - 2
    outs = []
    for i in range(nd):
        span = x.shape[2 + i] + pb[i] + pe[i] - d[i] * (k[i] - 1) - 1
        o = (-(-span // s[i]) if ceil else span // s[i]) + 1
        if ceil and (o - 1) * s[i] >= x.shape[2 + i] + pb[i]:
            o -= 1
        outs.append(o)
    y = np.zeros((*x.shape[:2], *outs), dtype=np.int64)
    for idx in itertools.product(*(range(v) for v in y.shape)):
        vals = []
        for tap in itertools.product(*(range(v) for v in k)):
            pos = [idx[2 + i] * s[i] + tap[i] * d[i] - pb[i] for i in range(nd)]
            if all(0 <= pos[i] < x.shape[2 + i] for i in range(nd)):
                vals.append(int(x[(*idx[:2], *pos)]))
        y[idx] = max(vals)
    return y


def test_asymmetric_pads_hand_computed():
    x = np.array([[[-5, -4, -3]]], dtype=np.int8)
    _, y1, _ = run("MaxPool", [x], {"kernel_shape": [2], "pads": [1, 0]})
    _, y2, _ = run("MaxPool", [x], {"kernel_shape": [2], "pads": [0, 1]})
    np.testing.assert_array_equal(y1, [[[-5, -4, -3]]])
    np.testing.assert_array_equal(y2, [[[-4, -3, -3]]])


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 1),
       st.integers(0, 1), st.integers(0, 1), st.randoms())
def test_against_python_and_onnx(nd, k, s, d, pb, pe, ceil, rnd):
    ext = d * (k - 1) + 1
    if pb >= ext or pe >= ext:
        return
    size = [rnd.randint(ext, 7) for _ in range(nd)]
    x = np.array([rnd.randint(-128, 127) for _ in range(2 * int(np.prod(size)))], dtype=np.int8)
    x = x.reshape(1, 2, *size)
    attrs = {"kernel_shape": [k] * nd, "strides": [s] * nd, "dilations": [d] * nd,
             "pads": [pb] * nd + [pe] * nd, "ceil_mode": ceil}
    _, y, _ = run("MaxPool", [x], attrs, opset=19)
    np.testing.assert_array_equal(y, pool_python(x, [k] * nd, [s] * nd, [d] * nd, [pb] * nd, [pe] * nd, ceil))
    if pb == pe == 0:  # onnx.reference 1.23's MaxPool fails or mis-sizes outputs with pads
        np.testing.assert_array_equal(y, onnx_run("MaxPool", [x], attrs, opset=19))
