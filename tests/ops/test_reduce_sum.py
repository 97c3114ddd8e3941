import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.errors import OpError

try:
    from _node_helpers import Const, run
except ImportError:
    from tests.ops._node_helpers import Const, run


def test_axes_attribute_keepdims0():
    x = np.array([[[1, 2], [3, 4], [5, 6]]], dtype=np.int8)  # (1, 3, 2)
    ty, y, _ = run("ReduceSum", [x], {"axes": [1], "keepdims": 0}, opset=11)
    np.testing.assert_array_equal(y, [[9, 12]])
    assert ty.shape == (1, 2) and ty.range == (-384, 381)


def test_axes_input_keepdims_default():
    x = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    ty, y, _ = run("ReduceSum", [x, Const(np.array([-1], dtype=np.int64))])
    np.testing.assert_array_equal(y, [[3], [7]])
    assert ty.shape == (2, 1) and ty.range == (0, 510)


def test_empty_axes_reduce_all_or_noop():
    x = np.array([[1, 2], [3, 4]], dtype=np.int8)
    ty, y, _ = run("ReduceSum", [x], {"keepdims": 0})
    assert ty.shape == () and int(y) == 10
    ty, y, _ = run("ReduceSum", [x], {"noop_with_empty_axes": 1})
    assert ty.shape == (2, 2) and ty.range == (-128, 127)
    np.testing.assert_array_equal(y, x)


def test_empty_reduced_axis_sums_to_zero():
    ty, y, _ = run("ReduceSum", [np.zeros((2, 0), np.int8)], {"axes": [1], "keepdims": 0}, opset=11)
    assert ty.range == (0, 0)
    np.testing.assert_array_equal(y, [0, 0])


def test_errors():
    x = np.zeros((2, 2), np.int8)
    with pytest.raises(OpError, match="out of range"):
        run("ReduceSum", [x], {"axes": [2]}, opset=11)
    with pytest.raises(OpError, match="twice"):
        run("ReduceSum", [x], {"axes": [1, -1]}, opset=11)
    with pytest.raises(OpError, match="must be a constant"):
        run("ReduceSum", [x, np.array([1], dtype=np.int64)])


def test_float_sum():
    ty, y, _ = run("ReduceSum", [np.array([[0.5, 0.25]], dtype=np.float32)], {"axes": [1]}, opset=11)
    assert ty.is_float
    np.testing.assert_array_equal(y, [[0.75]])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.integers(-128, 127), min_size=3, max_size=3), min_size=1, max_size=4))
def test_against_python(rows):
    x = np.array(rows, dtype=np.int8)
    _, y, _ = run("ReduceSum", [x], {"axes": [0], "keepdims": 0}, opset=11)
    assert [int(v) for v in y] == [sum(r[j] for r in rows) for j in range(3)]
