import numpy as np

from torch_deeploy.ops.relu import SPEC

try:
    from _node_helpers import run
except ImportError:
    from tests.ops._node_helpers import run


def test_integer_relu_range():
    x = np.array([-128, -1, 0, 1, 127], dtype=np.int8)
    ty, y, _ = run("Relu", [x])
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 127])
    assert ty.range == (0, 127) and ty.dtype.name == "int8"


def test_not_float_only():
    assert not SPEC.extras.get("float_only")


def test_float_relu():
    x = np.array([-0.5, 0.25], dtype=np.float32)
    ty, y, _ = run("Relu", [x])
    assert ty.is_float
    np.testing.assert_array_equal(y, [0.0, 0.25])


def test_all_negative_range():
    (y,) = SPEC.reference([np.array([-3, -2])], {})
    np.testing.assert_array_equal(y, [0, 0])
