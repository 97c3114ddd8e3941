import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.ops.sub import SPEC

try:
    from _node_helpers import Const, run
except ImportError:
    from tests.ops._node_helpers import Const, run


def test_int8_minus_int8_range_and_values():
    a = np.array([127, -128, 0], dtype=np.int8)
    b = np.array([-128, 127, 0], dtype=np.int8)
    ty, y, _ = run("Sub", [a, b])
    assert ty.range == (-255, 255)
    np.testing.assert_array_equal(y, [255, -255, 0])


def test_unsigned_minus_constant_broadcast():
    a = np.array([[0, 255], [10, 20]], dtype=np.uint8)
    ty, y, _ = run("Sub", [a, Const(np.array([[128.0]], dtype=np.float32))])
    assert ty.range == (-128, 127)
    np.testing.assert_array_equal(y, a.astype(np.int64) - 128)


def test_float_dequant_style():
    q = np.array([1.0, -3.0, 0.5], dtype=np.float32)
    ty, y, _ = run("Sub", [q, Const(np.array(2.0, dtype=np.float32))])
    assert ty.is_float
    np.testing.assert_allclose(y, [-1.0, -5.0, -1.5])


def test_order_matters_in_reference():
    (y,) = SPEC.reference([np.array([1]), np.array([3])], {})
    assert int(y[0]) == -2


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(-128, 127), st.integers(-128, 127)), min_size=1, max_size=6))
def test_matches_python_ints(pairs):
    a = np.array([p[0] for p in pairs], dtype=np.int8)
    b = np.array([p[1] for p in pairs], dtype=np.int8)
    _, y, _ = run("Sub", [a, b])
    assert [int(v) for v in y] == [p - q for p, q in pairs]
