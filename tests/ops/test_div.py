import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.ops.div import SPEC

try:
    from _node_helpers import Const, onnx_run, run
except ImportError:
    from tests.ops._node_helpers import Const, onnx_run, run


def test_is_float_only():
    assert SPEC.extras.get("float_only") is True


def test_true_division_float32():
    x = np.array([1.0, -7.0, 3.0], dtype=np.float32)
    ty, y, _ = run("Div", [x, Const(np.array(2.0, dtype=np.float32))])
    assert ty.is_float and y.dtype == np.float32
    np.testing.assert_array_equal(y, [0.5, -3.5, 1.5])


def test_integer_inputs_become_float_not_truncated():
    (y,) = SPEC.reference([np.array([-7, 7], dtype=np.int64), np.array([2], dtype=np.int64)], {})
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [-3.5, 3.5])


def test_integer_graph_input_typed_float():
    # a float-only consumer makes an integral graph input float (frontend rule)
    ty, y, g = run("Div", [np.array([3, 4], dtype=np.int8).astype(np.float32), Const(np.array([2.0]))])
    assert g.tensors[g.inputs[0]].type.is_float and ty.is_float
    np.testing.assert_array_equal(y, [1.5, 2.0])


def test_division_by_zero_gives_inf_without_error():
    (y,) = SPEC.reference([np.array([1.0, -1.0], dtype=np.float32), np.array([0.0], dtype=np.float32)], {})
    assert np.isposinf(y[0]) and np.isneginf(y[1])


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.lists(st.floats(-1e4, 1e4, width=32), min_size=1, max_size=6),
       st.floats(0.5, 100, width=32))
def test_matches_onnx_reference(xs, s):
    x = np.array(xs, dtype=np.float32)
    _, y, _ = run("Div", [x, Const(np.array([s], dtype=np.float32))])
    np.testing.assert_array_equal(y, onnx_run("Div", [x, Const(np.array([s], dtype=np.float32))]))
