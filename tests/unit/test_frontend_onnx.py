"""ONNX frontend: typing of QuantLib graphs, clear errors, and the writer's round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.errors import FrontendError, OpError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.frontend.onnx_writer import to_onnx
from torch_deeploy.runners.reference import run_reference


def _rq_model(div: float = 256.0, attrs: dict | None = None, op: str = "RequantShift") -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    mul = numpy_helper.from_array(np.array([3.0], np.float32), "mul")
    add = numpy_helper.from_array(np.array([5.0], np.float32), "add")
    a = {"div": numpy_helper.from_array(np.array(div, np.float32)), "n_levels_out": 256, "signed": 1}
    a.update(attrs or {})
    node = helper.make_node(op, ["x", "mul", "add"], ["y"], name="rq", **a)
    return helper.make_model(helper.make_graph([node], "g", [x], [y], [mul, add]))


def test_float32_holding_integers_become_typed_integers() -> None:
    g = import_onnx(_rq_model(), [np.array([[0, 1, -5, 100]], np.float32)])
    assert g.tensors["x"].type.dtype.name == "int8"
    assert g.tensors["mul"].type.dtype.name == "int8" and g.tensors["mul"].data.dtype == np.int64
    assert g.tensors["y"].type.range == (-128, 127)


def test_example_range_picks_the_input_type() -> None:
    g = import_onnx(_rq_model(), [np.array([[0, 1, 255, 3]], np.float32)])
    assert g.tensors["x"].type.dtype.name == "uint8"
    g = import_onnx(_rq_model(), [np.array([[0, 1, 300, 3]], np.float32)])
    assert g.tensors["x"].type.dtype.name == "int16"


def test_wrong_attribute_value_names_node_op_and_problem() -> None:
    with pytest.raises(OpError) as e:
        import_onnx(_rq_model(div=100.0))
    msg = str(e.value)
    assert "node 'rq' (RequantShift)" in msg and "'div'" in msg and "power of two" in msg


def test_unknown_attribute_is_rejected() -> None:
    with pytest.raises(OpError, match="unknown attribute"):
        import_onnx(_rq_model(attrs={"bogus": 1}))


def test_unknown_op_lists_supported_ops() -> None:
    with pytest.raises(OpError) as e:
        import_onnx(_rq_model(op="FancyOp"))
    assert "unsupported op 'FancyOp'" in str(e.value) and "RequantShift" in str(e.value)


def test_shape_mismatch_names_the_node() -> None:
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [4, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
                                            "g", [a, b], [y]))
    with pytest.raises(OpError, match="node 'mm' \\(MatMul\\)"):
        import_onnx(m)


def test_not_an_onnx_file(tmp_path: Path) -> None:
    p = tmp_path / "x.onnx"
    p.write_text("hello")
    with pytest.raises(FrontendError, match="not an ONNX model"):
        import_onnx(p)
    with pytest.raises(FrontendError, match="no such file"):
        import_onnx(tmp_path / "missing.onnx")


def test_unsorted_nodes_are_sorted_and_constants_folded() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    c = helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.array([2.0, 3.0], np.float32)))
    c2 = helper.make_node("Add", ["c", "c"], ["c2"])  # constant subgraph: folded
    add = helper.make_node("Add", ["x", "c2"], ["y"])
    m = helper.make_model(helper.make_graph([add, c2, c], "g", [x], [y]))
    g = import_onnx(m)
    assert [n.op for n in g.nodes] == ["Add"]
    assert g.tensors["c2"].is_constant and g.tensors["c2"].data.tolist() == [4, 6]
    out = run_reference(g, [np.array([1, -1])])
    assert out[0].tolist() == [5, 5]


def test_writer_round_trip_is_checker_clean_and_equivalent(conformance: Path) -> None:
    d = conformance / "Kernels/Integer/Attention"
    ins = list(np.load(d / "inputs.npz").values())
    g = import_onnx(d / "network.onnx", ins)
    model = to_onnx(g)
    onnx.checker.check_model(model)
    g2 = import_onnx(model.SerializeToString())
    assert [n.op for n in g2.nodes] == [n.op for n in g.nodes]
    assert all(g.tensors[a].type == g2.tensors[a].type for a in g.inputs)
    for a, b in zip(run_reference(g, ins), run_reference(g2, ins), strict=True):
        np.testing.assert_array_equal(a, b)
