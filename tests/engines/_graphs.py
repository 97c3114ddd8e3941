"""Small ONNX graphs (Conv / MatMul / Gemm, optionally followed by RequantShift) for engine tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
from torch_deeploy.ir.graph import Graph


def _input(name: str, a: np.ndarray) -> onnx.ValueInfoProto:
    vi = helper.make_tensor_value_info(name, TensorProto.FLOAT, list(a.shape))
    vi.doc_string = DTYPE_TAG + a.dtype.name
    return vi


def model(op: str, x: np.ndarray, w: np.ndarray | None, attrs: dict[str, Any] | None = None, *,
          bias: np.ndarray | None = None, rq: dict[str, Any] | None = None, w_input: np.ndarray | None = None,
          name: str = "lin", bias_add: np.ndarray | None = None) -> tuple[Graph, list[np.ndarray]]:
    """x -> op(x, w[, bias]) [-> Add(bias_add, .)] [-> RequantShift(mul, add, div, signed)]; w=None makes the
    weights a graph input (w_input is its example). bias_add is QuantLib's form of a linear layer's bias."""
    inits, vis, feeds = [], [_input("x", x)], [x]
    ins = ["x", "w"]
    if w is None:
        assert w_input is not None
        vis.append(_input("w", w_input))
        feeds.append(w_input)
    else:
        inits.append(numpy_helper.from_array(np.asarray(w, dtype=np.float32), "w"))
    if bias is not None:
        inits.append(numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "b"))
        ins.append("b")
    nodes = [helper.make_node(op, ins, ["acc"], name=name, **(attrs or {}))]
    out = "acc"
    if bias_add is not None:
        inits.append(numpy_helper.from_array(np.asarray(bias_add, dtype=np.float32), "bias_add"))
        nodes.append(helper.make_node("Add", ["bias_add", "acc"], ["biased"], name="bias"))
        out = "biased"
    if rq is not None:
        inits.append(numpy_helper.from_array(np.asarray(rq["mul"], dtype=np.float32), "mul"))
        inits.append(numpy_helper.from_array(np.asarray(rq["add"], dtype=np.float32), "add"))
        nodes.append(helper.make_node("RequantShift", [out, "mul", "add"], ["y"], name="rq", div=rq["div"],
                                      n_levels_out=256, signed=rq.get("signed", 1)))
        out = "y"
    g = helper.make_graph(nodes, "t", vis, [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    return import_onnx(m, example_inputs=feeds), feeds


def conv(cin: int, cout: int, k: int, *, hw: int = 8, group: int = 1, stride: int = 1, dil: int = 1, pad: int = 0,
         rq: bool | dict[str, Any] = True, seed: int = 0, unsigned_in: bool = False, bias: bool = False
         ) -> tuple[Graph, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (1, cin, hw, hw)).astype(np.uint8) if unsigned_in else \
        rng.integers(-128, 128, (1, cin, hw, hw)).astype(np.int8)
    w = rng.integers(-128, 128, (cout, cin // group, k, k))
    attrs = {"group": group, "strides": [stride, stride], "dilations": [dil, dil], "pads": [pad] * 4,
             "kernel_shape": [k, k]}
    q = None
    if rq:
        q = rq if isinstance(rq, dict) else {"mul": rng.integers(1, 200, (1, cout, 1, 1)),
                                              "add": rng.integers(-5000, 5000, (1, cout, 1, 1)), "div": 2**16}
    b = rng.integers(-1000, 1000, (cout,)) if bias else None
    return model("Conv", x, w, attrs, rq=q, bias=b, name="conv")
