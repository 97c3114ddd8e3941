"""C kernels of the integer ops (iSoftmax, ITAMax, iRMSNorm, iLayerNorm, iGELU, iHardswish, iNoNorm,
TrueIntegerDiv, IntegerDiv, IntegerMean) against the numpy references, bit-exactly.

Each test builds one-node ONNX graphs, compiles them for the host runner (8 emulated cores, so the
work split's remainders are exercised by the odd shapes) and compares with the reference runner.
Several cases of one op are combined into one graph with parallel nodes to keep the number of C builds low.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.api import compile as deploy
from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
from torch_deeploy.runners.reference import run_reference


class Case:
    """One node of a test graph: its op, inputs (arrays = graph inputs, ('const', array) = initializers)
    and attributes."""

    def __init__(self, op: str, ins: list[Any], attrs: dict[str, Any] | None = None):
        self.op, self.ins, self.attrs = op, ins, attrs or {}


def const(a: Any) -> tuple[str, np.ndarray]:
    return ("const", np.asarray(a))


def _model(cases: list[Case]):
    vis, inits, feeds, nodes, outs = [], [], [], [], []
    for ci, case in enumerate(cases):
        names = []
        for i, a in enumerate(case.ins):
            name = f"c{ci}_in{i}"
            names.append(name)
            if isinstance(a, tuple):
                inits.append(numpy_helper.from_array(a[1].astype(np.float32), name))
                continue
            vi = helper.make_tensor_value_info(name, TensorProto.FLOAT, list(a.shape))
            vi.doc_string = DTYPE_TAG + a.dtype.name
            vis.append(vi)
            feeds.append(a)
        out = f"c{ci}_out"
        nodes.append(helper.make_node(case.op, names, [out], name=f"n{ci}", **case.attrs))
        outs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "t", vis, outs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), feeds


def check(cases: list[Case], *, sanitize: bool = False) -> None:
    """Compile the cases as one graph, run the C and compare every output with the reference exactly."""
    model, feeds = _model(cases)
    expected = run_reference(import_onnx(model, example_inputs=feeds), feeds)
    deployed = deploy(model, feeds, options={"sanitize": sanitize})
    got = deployed.run(feeds)
    assert len(got) == len(expected)
    for ci, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g.shape == e.shape, f"case {ci} ({cases[ci].op}): shape {g.shape} != {e.shape}"
        np.testing.assert_array_equal(g.astype(np.int64), np.asarray(e).astype(np.int64),
                                      err_msg=f"case {ci} ({cases[ci].op})")


def rand(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "int8") -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)
