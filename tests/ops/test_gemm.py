import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.errors import OpError
from torch_deeploy.ops.gemm import SPEC

try:
    from _node_helpers import Const, onnx_run, run
except ImportError:
    from tests.ops._node_helpers import Const, onnx_run, run

ATTRS = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0}


def test_alpha_beta_integral_with_bias_vector():
    a = np.array([[1, -2]], dtype=np.int8)
    b = np.array([[3, 0], [1, 1]], dtype=np.float32)
    c = np.array([10, -10], dtype=np.float32)
    ty, y, _ = run("Gemm", [a, Const(b), Const(c)], {"alpha": 2.0, "beta": 3.0})
    np.testing.assert_array_equal(y, [[2 * 1 + 30, 2 * -2 - 30]])
    # column 0: 2*(3*x0 + x1) + 30, column 1: 2*x1 - 30, x in [-128, 127]
    assert ty.range == (2 * (-384 - 128) + 30, 2 * (381 + 127) + 30)


def test_trans_flags():
    a = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int8)  # (K=3, M=2) with transA
    b = np.array([[1, 0, -1], [2, 2, 2]], dtype=np.float32)  # (N=2, K=3) with transB
    _, y, _ = run("Gemm", [a, Const(b)], {"transA": 1, "transB": 1})
    np.testing.assert_array_equal(y, a.T.astype(np.int64) @ b.T.astype(np.int64))


def test_full_c_matrix_and_per_row_broadcast():
    a = np.array([[1], [2]], dtype=np.int8)
    b = np.array([[5, 6]], dtype=np.float32)
    c_row = np.array([[100], [-100]], dtype=np.float32)
    _, y, _ = run("Gemm", [a, Const(b), Const(c_row)])
    np.testing.assert_array_equal(y, [[105, 106], [-90, -88]])


def test_beta_zero_ignores_c():
    a = np.array([[1, 1]], dtype=np.int8)
    ty, y, _ = run("Gemm", [a, Const(np.ones((2, 1))), Const(np.array([1e6]))], {"beta": 0.0})
    np.testing.assert_array_equal(y, [[2]])
    assert ty.range == (-256, 254)


def test_non_constant_c_and_activation_b():
    ty, y, _ = run("Gemm", [np.ones((1, 2), np.int8), np.ones((2, 1), np.int8), np.ones((1,), np.int8)])
    assert ty.range == (2 * -128 * 127 - 128, 2 * 128 * 128 + 127)
    assert int(y[0, 0]) == 3


def test_fractional_alpha_rejected_for_integers():
    with pytest.raises(OpError, match="alpha=0.5 is not an integer"):
        run("Gemm", [np.ones((1, 2), np.int8), Const(np.ones((2, 1)))], {"alpha": 0.5})


def test_fractional_alpha_ok_for_float():
    a = np.array([[0.5, 1.5]], dtype=np.float32)
    ty, y, _ = run("Gemm", [a, Const(np.ones((2, 1), np.float32))], {"alpha": 0.5})
    assert ty.is_float
    np.testing.assert_allclose(y, [[1.0]])


def test_shape_errors():
    with pytest.raises(OpError, match="inner dimensions differ"):
        run("Gemm", [np.ones((2, 3), np.int8), Const(np.ones((2, 3)))])
    with pytest.raises(OpError, match="2-D"):
        run("Gemm", [np.ones((1, 2, 3), np.int8), Const(np.ones((3, 3)))])
    with pytest.raises(OpError, match="does not broadcast"):
        run("Gemm", [np.ones((2, 3), np.int8), Const(np.ones((3, 4))), Const(np.ones((3,)))])
    with pytest.raises(OpError, match="transB"):
        run("Gemm", [np.ones((2, 3), np.int8), Const(np.ones((3, 4)))], {"transB": 2})


def test_reference_direct():
    attrs = {**ATTRS, "alpha": 2.0, "beta": 3.0}
    (y,) = SPEC.reference([np.array([[2]]), np.array([[3]]), np.array([1])], attrs)
    assert y.dtype == np.int64 and int(y[0, 0]) == 15


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(0, 1), st.integers(0, 1),
       st.sampled_from([-1.0, 1.0, 2.0]), st.sampled_from([0.0, 1.0, 3.0]), st.randoms())
def test_against_onnx_reference(m, k, n, ta, tb, alpha, beta, rnd):
    def mat(r, c):
        return np.array([[rnd.randint(-128, 127) for _ in range(c)] for _ in range(r)], dtype=np.int8)
    a = mat(k, m) if ta else mat(m, k)
    b = mat(n, k) if tb else mat(k, n)
    c = mat(1, n).reshape(n)
    attrs = {"alpha": alpha, "beta": beta, "transA": ta, "transB": tb}
    _, y, _ = run("Gemm", [a, Const(b.astype(np.float32)), Const(c.astype(np.float32))], attrs)
    want = onnx_run("Gemm", [a, Const(b), Const(c)], attrs)  # exact: |values| < 2^24
    np.testing.assert_array_equal(y, want)
