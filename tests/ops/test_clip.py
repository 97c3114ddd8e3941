import numpy as np
import pytest

from torch_deeploy.errors import OpError
from torch_deeploy.ops.clip import SPEC

try:
    from _node_helpers import Const, onnx_run, run
except ImportError:
    from tests.ops._node_helpers import Const, onnx_run, run


def test_integer_inputs_form():
    x = np.array([-128, -5, 0, 7, 127], dtype=np.int8)
    ty, y, _ = run("Clip", [x, Const(np.array(-5.0)), Const(np.array(6.0))])
    np.testing.assert_array_equal(y, [-5, -5, 0, 6, 6])
    assert ty.range == (-5, 6) and ty.dtype.name == "int8"


def test_only_max_given():
    x = np.array([0, 200], dtype=np.uint8)
    ty, y, _ = run("Clip", [x, None, Const(np.array(100.0))])
    np.testing.assert_array_equal(y, [0, 100])
    assert ty.range == (0, 100)


def test_attribute_form_old_opset():
    x = np.array([-10, 10], dtype=np.int8)
    ty, y, _ = run("Clip", [x], {"min": 0.0}, opset=6)
    np.testing.assert_array_equal(y, [0, 10])
    assert ty.range == (0, 127)


def test_min_above_max_gives_max():
    x = np.array([-3, 0, 3], dtype=np.int8)
    ty, y, _ = run("Clip", [x, Const(np.array(5.0)), Const(np.array(2.0))])
    np.testing.assert_array_equal(y, [2, 2, 2])
    assert ty.range[0] <= 2 <= ty.range[1]


def test_float_quantise_pattern_matches_onnx():
    x = np.array([-300.5, -1.5, 2.25, 400.0], dtype=np.float32)
    lo, hi = Const(np.array(-128.0, dtype=np.float32)), Const(np.array(127.0, dtype=np.float32))
    ty, y, _ = run("Clip", [x, lo, hi])
    assert ty.is_float
    np.testing.assert_array_equal(y, onnx_run("Clip", [x, lo, hi]))


def test_errors():
    x = np.zeros(3, np.int8)
    with pytest.raises(OpError, match="scalar"):
        run("Clip", [x, Const(np.zeros(2))])
    with pytest.raises(OpError, match="not an integer"):
        run("Clip", [x], {"min": 0.5}, opset=6)


def test_reference_direct_no_bounds():
    (y,) = SPEC.reference([np.array([5, -5])], {"min": None, "max": None})
    np.testing.assert_array_equal(y, [5, -5])
