import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.errors import OpError
from torch_deeploy.ops.matmul import SPEC, matmul_shape

try:
    from _node_helpers import Const, run
except ImportError:
    from tests.ops._node_helpers import Const, run


@pytest.mark.parametrize(("a", "b", "out"), [
    ((2, 3), (3, 4), (2, 4)),
    ((3,), (3, 4), (4,)),
    ((2, 3), (3,), (2,)),
    ((3,), (3,), ()),
    ((5, 2, 3), (3, 4), (5, 2, 4)),
    ((1, 2, 3), (6, 3, 4), (6, 2, 4)),
    ((2, 1, 2, 3), (4, 3, 1), (2, 4, 2, 1)),
    ((4,), (2, 4, 3), (2, 3)),
])
def test_shapes_follow_numpy(a, b, out):
    assert matmul_shape(a, b)[0] == out == np.matmul(np.zeros(a), np.zeros(b)).shape


def test_inner_dim_mismatch():
    with pytest.raises(OpError, match="inner dimensions differ"):
        run("MatMul", [np.zeros((2, 3), dtype=np.int8), Const(np.zeros((4, 2)))])


def test_batch_dims_do_not_broadcast():
    with pytest.raises(OpError, match="batch dimensions"):
        run("MatMul", [np.zeros((2, 2, 3), dtype=np.int8), np.zeros((3, 3, 2), dtype=np.int8)])


def test_constant_weights_give_exact_per_column_range():
    w = np.array([[1, -2], [3, 0]], dtype=np.float32)
    ty, y, _ = run("MatMul", [np.array([[127, -128]], dtype=np.int8), Const(w)])
    # column 0: x0*1 + x1*3 in [-128-384, 127+381]; column 1: -2*x0 in [-254, 256]
    assert ty.range == (-512, 508)
    np.testing.assert_array_equal(y, [[127 - 384, -254]])
    # the bound is attained
    _, y2, _ = run("MatMul", [np.array([[-128, -128]], dtype=np.int8), Const(w)])
    assert y2[0, 0] == -512


def test_constant_first_operand_per_row():
    a = np.array([[2, 0], [0, -1]], dtype=np.float32)
    ty, _, _ = run("MatMul", [Const(a), np.zeros((2, 3), dtype=np.uint8)])
    assert ty.range == (-255, 510)


def test_two_activations_interval_bound():
    ty, y, _ = run("MatMul", [np.full((1, 4), -128, np.int8), np.full((4, 1), -128, np.int8)])
    assert ty.range == (-4 * 128 * 127, 4 * 128 * 128)
    assert y[0, 0] == 4 * 128 * 128


def test_empty_reduction_dim():
    ty, y, _ = run("MatMul", [np.zeros((2, 0), np.int8), np.zeros((0, 3), np.int8)])
    assert ty.range == (0, 0)
    np.testing.assert_array_equal(y, np.zeros((2, 3)))


def test_float_matmul():
    a = np.array([[0.5, 1.0]], dtype=np.float32)
    ty, y, _ = run("MatMul", [a, Const(np.array([[2.0], [0.25]], dtype=np.float32))])
    assert ty.is_float
    np.testing.assert_allclose(y, [[1.25]])


def test_reference_exact_beyond_float_precision():
    a = np.array([[2**40, 1]], dtype=np.int64)
    b = np.array([[2**20], [1]], dtype=np.int64)
    (y,) = SPEC.reference([a, b], {})
    assert int(y[0, 0]) == 2**60 + 1


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 4), st.integers(1, 3), st.randoms())
def test_batched_against_python(batch, m, k, n, rnd):
    a = np.array([[[rnd.randint(-128, 127) for _ in range(k)] for _ in range(m)] for _ in range(batch)],
                 dtype=np.int8).reshape(batch, m, k)
    b = np.array([[rnd.randint(-128, 127) for _ in range(n)] for _ in range(k)], dtype=np.float32)
    b = b.reshape(k, n)
    ty, y, _ = run("MatMul", [a, Const(b)])
    for i in range(batch):
        for r in range(m):
            for c in range(n):
                assert int(y[i, r, c]) == sum(int(a[i, r, t]) * int(b[t, c]) for t in range(k))
