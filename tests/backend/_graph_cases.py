"""Helpers of test_kernels_movement.py and test_kernels_float.py: several one-node cases compiled as one
graph of parallel nodes (one C build), run on the host runner and compared with the reference runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from onnx import TensorProto, helper

from tests.ops._node_helpers import Const, operands  # noqa: F401  (Const: re-exported for the kernel tests)
from torch_deeploy.api import KNOWN_OPTIONS, DeployedModel
from torch_deeploy.api import compile as deploy
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ir.graph import Graph, Node, Role, Tensor
from torch_deeploy.ops import registry
from torch_deeploy.ops.base import InferCtx
from torch_deeploy.runners.reference import run_reference

FLOAT_ATOL = 1e-5
# Options selecting whole-tensor kernels on one static arena (no tiling), where a view either aliases or
# runs the copy kernel: the tests that count kernels use it.
UNTILED: dict[str, Any] = {"tiling": False} if "tiling" in KNOWN_OPTIONS else {}


@dataclass
class Case:
    """One node: op, inputs (ndarray = graph input tagged with its dtype, Const = initializer, None =
    omitted) and attributes."""

    op: str
    ins: list[Any]
    attrs: dict[str, Any] = field(default_factory=dict)
    domain: str = ""


def model(cases: list[Case], opset: int = 13):
    vis, inits, feeds, nodes, outs = [], [], [], [], []
    domains = {c.domain for c in cases if c.domain}
    for ci, case in enumerate(cases):
        names, case_vis, case_inits, case_feeds = operands(case.ins, f"c{ci}_in", float64_as_float32=True)
        vis += case_vis
        inits += case_inits
        feeds += case_feeds
        out = f"c{ci}_out"
        nodes.append(helper.make_node(case.op, names, [out], name=f"n{ci}_{case.op}", domain=case.domain,
                                      **case.attrs))
        outs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "t", vis, outs, inits)
    imports = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in sorted(domains)]
    return helper.make_model(graph, opset_imports=imports), feeds


def compare(got: list[np.ndarray], expected: list[np.ndarray], labels: list[str]) -> None:
    assert len(got) == len(expected)
    for g, e, label in zip(got, expected, labels, strict=True):
        e = np.asarray(e)
        assert g.shape == e.shape, f"{label}: shape {g.shape} != {e.shape}"
        if e.dtype.kind == "f" or g.dtype.kind == "f":
            np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=0, atol=FLOAT_ATOL,
                                       err_msg=label)
        else:
            np.testing.assert_array_equal(g.astype(np.int64), e.astype(np.int64), err_msg=label)


def check(cases: list[Case], *, sanitize: bool = False, opset: int = 13,
          options: dict[str, Any] | None = None) -> DeployedModel:
    """Compile the cases as one graph, run the C and compare every output with the reference."""
    m, feeds = model(cases, opset)
    expected = run_reference(import_onnx(m, example_inputs=feeds), feeds)
    deployed = deploy(m, feeds, options={"sanitize": sanitize, **(options or {})})
    compare(deployed.run(feeds), expected, [f"case {i} ({c.op} {c.attrs})" for i, c in enumerate(cases)])
    return deployed


def add_node(g: Graph, op: str, inputs: list[str], out: str, attrs: dict[str, Any] | None = None) -> None:
    """Append a typed node to an IR graph without constant folding (the ONNX importer folds nodes whose
    inputs are all constants, so this is how a test reaches kernels on constant operands)."""
    spec = registry.get(op)
    a = spec.validate_attrs(attrs or {})
    ins = [g.tensors[i] for i in inputs]
    ty = spec.infer(InferCtx(out, op, a, [t.type for t in ins], [t.data if t.is_constant else None for t in ins]))
    g.tensors[out] = Tensor(out, ty[0], Role.ACTIVATION)
    g.nodes.append(Node(f"n_{out}", op, list(inputs), [out], a))


def rand_int(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "int8") -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)
