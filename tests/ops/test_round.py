import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.ops.round import SPEC

try:
    from _node_helpers import onnx_run, run
except ImportError:
    from tests.ops._node_helpers import onnx_run, run


def test_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.7], dtype=np.float32)
    ty, y, _ = run("Round", [x])
    assert ty.is_float and y.dtype == np.float32
    np.testing.assert_array_equal(y, [0, 2, 2, -0.0, -2, -2, 0, 4])


def test_float_only_and_integer_input():
    assert SPEC.extras.get("float_only") is True
    (y,) = SPEC.reference([np.array([3, -4], dtype=np.int64)], {})
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [3, -4])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=6))
def test_matches_onnx(xs):
    x = np.array(xs, dtype=np.float32)
    _, y, _ = run("Round", [x])
    np.testing.assert_array_equal(y, onnx_run("Round", [x]))
