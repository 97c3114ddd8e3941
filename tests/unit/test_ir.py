"""IR basics: dtypes from ranges, the verifier and the printer."""

from __future__ import annotations

import numpy as np
import pytest

from torch_deeploy.ir import Graph, Node, Role, Tensor, TensorType, dtypes, format_graph, verify
from torch_deeploy.ir.verify import GraphInvariantError


@pytest.mark.parametrize(("lo", "hi", "name"), [
    (-128, 127, "int8"), (0, 255, "uint8"), (-1, 255, "int16"), (0, 65535, "uint16"),
    (-(2**31), 2**31 - 1, "int32"), (0, 2**31, "int64"), (0, 0, "int8"),
])
def test_storage_type_is_the_narrowest_holding_the_range(lo: int, hi: int, name: str) -> None:
    assert dtypes.for_range(lo, hi).name == name


def test_range_beyond_64_bits_is_rejected() -> None:
    with pytest.raises(ValueError, match="64 bits"):
        dtypes.for_range(0, 2**64)


def _tiny() -> Graph:
    g = Graph("tiny")
    g.tensors["x"] = Tensor("x", TensorType.integer((2,), -128, 127), Role.INPUT)
    g.tensors["w"] = Tensor("w", TensorType.integer((2,), 1, 3), Role.CONSTANT, np.array([1, 3]))
    g.tensors["y"] = Tensor("y", TensorType.integer((2,), -384, 381), Role.OUTPUT)
    g.inputs, g.outputs = ["x"], ["y"]
    g.nodes = [Node("mul0", "Mul", ["x", "w"], ["y"])]
    return g


def test_verifier_accepts_a_well_formed_graph_and_printer_shows_it() -> None:
    g = _tiny()
    verify(g)
    text = format_graph(g)
    assert "Mul(%x, %w)" in text and "int16[2] [-384, 381]" in text


def test_verifier_reports_use_before_definition_and_unknown_ops() -> None:
    g = _tiny()
    g.nodes[0].inputs = ["x", "missing"]
    g.nodes.append(Node("n2", "NoSuchOp", ["y"], ["z"]))
    with pytest.raises(GraphInvariantError) as e:
        verify(g)
    assert "reads 'missing' before it is defined" in str(e.value)
    assert "unknown op 'NoSuchOp'" in str(e.value)


def test_copy_is_structural() -> None:
    g = _tiny()
    h = g.copy()
    h.nodes[0].inputs.append("extra")
    assert g.nodes[0].inputs == ["x", "w"]
