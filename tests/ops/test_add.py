"""Add/Sub/Mul share _elementwise; Add is tested in depth here, Sub and Mul in their own files."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.errors import OpError
from torch_deeploy.ir import dtypes
from torch_deeploy.ops.add import SPEC

try:
    from _node_helpers import Const, run
except ImportError:  # tests/ops imported as a package
    from tests.ops._node_helpers import Const, run


def test_int8_plus_int8_widens_exactly():
    a = np.array([[127, -128, 5]], dtype=np.int8)
    b = np.array([[127, -128, -5]], dtype=np.int8)
    ty, y, _ = run("Add", [a, b])
    assert ty.range == (-256, 254) and ty.dtype == dtypes.int16
    np.testing.assert_array_equal(y, [[254, -256, 0]])


def test_broadcasting_with_constant():
    a = np.arange(6, dtype=np.int8).reshape(2, 3)
    ty, y, _ = run("Add", [a, Const(np.array([100.0, 0.0, -100.0], dtype=np.float32))])
    assert ty.shape == (2, 3) and ty.range == (-228, 227)
    np.testing.assert_array_equal(y, a.astype(np.int64) + [100, 0, -100])


def test_unsigned_input_range():
    a = np.array([0, 255], dtype=np.uint8)
    ty, y, _ = run("Add", [a, Const(np.array(1, dtype=np.int64))])
    assert ty.range == (1, 256) and ty.dtype == dtypes.int16
    np.testing.assert_array_equal(y, [1, 256])


def test_float_if_any_input_float():
    a = np.array([1.5, -2.25], dtype=np.float32)
    ty, y, _ = run("Add", [a, Const(np.array([1.0, 2.0], dtype=np.float32))])
    assert ty.is_float
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [2.5, -0.25])


def test_empty_dim():
    ty, y, _ = run("Add", [np.zeros((0, 3), dtype=np.int8), Const(np.ones(3, dtype=np.int64))])
    assert ty.shape == (0, 3) and y.shape == (0, 3)


def test_shapes_that_do_not_broadcast():
    with pytest.raises(OpError, match="do not broadcast"):
        run("Add", [np.zeros((2, 3), dtype=np.int8), np.zeros((4,), dtype=np.int8)])


def test_reference_direct_int64_exact():
    big = np.array([2**40], dtype=np.int64)
    (y,) = SPEC.reference([big, big], {})
    assert y.dtype == np.int64 and int(y[0]) == 2**41


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.integers(-128, 127), min_size=1, max_size=6), st.integers(-(2**20), 2**20))
def test_matches_python_ints(xs, k):
    a = np.array(xs, dtype=np.int8)
    ty, y, _ = run("Add", [a, Const(np.array([k], dtype=np.int64))])
    assert [int(v) for v in y] == [x + k for x in xs]
    assert ty.range == (-128 + k, 127 + k)
