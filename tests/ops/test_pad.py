import numpy as np
import pytest

from torch_deeploy.errors import OpError
from torch_deeploy.ops.pad import SPEC

try:
    from _node_helpers import Const, onnx_run, run
except ImportError:
    from tests.ops._node_helpers import Const, onnx_run, run


def test_attribute_form_opset13_quantlib_style():
    x = np.array([[[1, 2]]], dtype=np.int8)
    ty, y, _ = run("Pad", [x], {"pads": [0, 0, 1, 0, 0, 1], "mode": "constant", "value": 0.0})
    np.testing.assert_array_equal(y, [[[0, 1, 2, 0]]])
    assert ty.shape == (1, 1, 4) and ty.range == (-128, 127)


def test_attribute_form_old_opset_with_value_extends_range():
    x = np.array([[1, 2]], dtype=np.uint8)
    ty, y, _ = run("Pad", [x], {"pads": [1, 0, 0, 0], "value": -3.0}, opset=2)
    np.testing.assert_array_equal(y, [[-3, -3], [1, 2]])
    assert ty.range == (-3, 255)


def test_input_form_with_value_and_axes():
    x = np.arange(6, dtype=np.int8).reshape(2, 3)
    ty, y, _ = run("Pad", [x, Const(np.array([1, 2], dtype=np.int64)), Const(np.array(300, dtype=np.int64)),
                           Const(np.array([-1], dtype=np.int64))], opset=18)
    np.testing.assert_array_equal(y, np.pad(x.astype(np.int64), [(0, 0), (1, 2)], constant_values=300))
    assert ty.range == (-128, 300)


def test_input_form_default_value_matches_onnx():
    x = np.array([[1.5, -2.0]], dtype=np.float32)
    pads = Const(np.array([0, 1, 1, 0], dtype=np.int64))
    ty, y, _ = run("Pad", [x, pads])
    assert ty.is_float
    np.testing.assert_array_equal(y, onnx_run("Pad", [x, pads]))


def test_negative_pads_crop():
    x = np.array([[1, 2, 3, 4]], dtype=np.int8)
    ty, y, _ = run("Pad", [x], {"pads": [0, -1, 0, 2]})
    np.testing.assert_array_equal(y, [[2, 3, 4, 0, 0]])


def test_no_growth_keeps_range():
    x = np.array([[1, 2, 3]], dtype=np.uint8)
    ty, _, _ = run("Pad", [x], {"pads": [0, -1, 0, 0], "value": -5.0})
    assert ty.range == (0, 255)


def test_errors():
    x = np.zeros((1, 2), np.int8)
    with pytest.raises(OpError, match="only mode 'constant'"):
        run("Pad", [x], {"pads": [0, 1, 0, 1], "mode": "reflect"})
    with pytest.raises(OpError, match="expected 4"):
        run("Pad", [x], {"pads": [1, 1]})
    with pytest.raises(OpError, match="pads missing"):
        run("Pad", [x])
    with pytest.raises(OpError, match="must be constants"):
        run("Pad", [x, np.array([0, 0, 0, 1], dtype=np.int64)])
    with pytest.raises(OpError, match="not an integer"):
        run("Pad", [x], {"pads": [0, 1, 0, 1], "value": 0.5})
    with pytest.raises(OpError, match="crop more"):
        run("Pad", [x], {"pads": [0, -3, 0, 0]})
    with pytest.raises(OpError, match="both"):
        run("Pad", [x, Const(np.array([0, 0, 0, 1]))], {"pads": [0, 1, 0, 1]})


def test_reference_direct_int_dtype():
    attrs = {"pads": (1, 1), "mode": "constant", "value": 7.0}
    (y,) = SPEC.reference([np.array([5], dtype=np.int64)], attrs)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [7, 5, 7])
