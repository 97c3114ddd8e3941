from fractions import Fraction
from math import floor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.errors import OpError
from torch_deeploy.ops.reduce_mean import SPEC

try:
    from _node_helpers import Const, run
except ImportError:
    from tests.ops._node_helpers import Const, run

ATTRS = {"axes": (1,), "keepdims": 0, "noop_with_empty_axes": 0}


def test_ties_round_half_up():
    # means 1.5 -> 2, -1.5 -> -1, 2.5 -> 3, -0.5 -> 0 (not half-even, not half-away)
    x = np.array([[1, 2], [-1, -2], [2, 3], [0, -1]], dtype=np.int64)
    (y,) = SPEC.reference([x], ATTRS)
    np.testing.assert_array_equal(y, [2, -1, 3, 0])


def test_non_tie_rounding_and_range():
    x = np.array([[[1], [1], [2]], [[-128], [-128], [-127]]], dtype=np.int8)  # means 4/3, -383/3
    ty, y, _ = run("ReduceMean", [x], {"axes": [1], "keepdims": 0}, opset=11)
    np.testing.assert_array_equal(y, [[1], [-128]])
    assert ty.range == (-128, 127) and ty.shape == (2, 1)


def test_axes_input_and_keepdims():
    x = np.array([[0, 255, 255, 255]], dtype=np.uint8)
    ty, y, _ = run("ReduceMean", [x, Const(np.array([1], dtype=np.int64))], opset=18)
    np.testing.assert_array_equal(y, [[191]])  # 765/4 = 191.25
    assert ty.range == (0, 255) and ty.shape == (1, 1)


def test_float_plain_mean():
    ty, y, _ = run("ReduceMean", [np.array([[1.0, 2.0]], dtype=np.float32)], {"axes": [1]}, opset=11)
    assert ty.is_float
    np.testing.assert_array_equal(y, [[1.5]])


def test_empty_axis_rejected_for_integers():
    with pytest.raises(OpError, match="empty axis"):
        run("ReduceMean", [np.zeros((2, 0), np.int8)], {"axes": [1]}, opset=11)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.integers(-128, 127), min_size=1, max_size=40))
def test_against_fraction(xs):
    (y,) = SPEC.reference([np.array([xs], dtype=np.int64)], ATTRS)
    assert int(y[0]) == floor(Fraction(sum(xs), len(xs)) + Fraction(1, 2))
