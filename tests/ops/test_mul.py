import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.errors import OpError
from torch_deeploy.ir import dtypes

try:
    from _node_helpers import Const, run
except ImportError:
    from tests.ops._node_helpers import Const, run


def test_int8_times_int8_range_corners():
    a = np.array([-128, 127, -128], dtype=np.int8)
    b = np.array([-128, -128, 127], dtype=np.int8)
    ty, y, _ = run("Mul", [a, b])
    assert ty.range == (-128 * 127, 128 * 128) and ty.dtype == dtypes.int16
    np.testing.assert_array_equal(y, [16384, -16256, -16256])


def test_negative_constant_swaps_bounds():
    a = np.array([[-2, 3]], dtype=np.int8)
    ty, y, _ = run("Mul", [a, Const(np.array([[-3.0], [2.0]], dtype=np.float32))])
    assert ty.shape == (2, 2) and ty.range == (-381, 384)
    np.testing.assert_array_equal(y, [[6, -9], [-4, 6]])


def test_float_scale():
    ty, y, _ = run("Mul", [np.array([3.0, -1.0], dtype=np.float32), Const(np.array(0.5, dtype=np.float32))])
    assert ty.is_float
    np.testing.assert_array_equal(y, [1.5, -0.5])


def test_bad_broadcast():
    with pytest.raises(OpError, match="do not broadcast"):
        run("Mul", [np.zeros((3,), dtype=np.int8), np.zeros((2,), dtype=np.int8)])


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.integers(-128, 127), min_size=1, max_size=5), st.integers(-(2**30), 2**30))
def test_matches_python_ints(xs, k):
    _, y, _ = run("Mul", [np.array(xs, dtype=np.int8), Const(np.array(k, dtype=np.int64))])
    assert [int(v) for v in y] == [x * k for x in xs]
