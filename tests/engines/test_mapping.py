"""The engine mapping table and its reasons on convolutions of every kind, pins and pin errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engines._graphs import conv, model
from torch_deeploy.engines import format_table, map_engines
from torch_deeploy.engines.neureka import can_run
from torch_deeploy.errors import CompileError
from torch_deeploy.runners.reference import run_reference
from torch_deeploy.target import load_target

SIRACUSA = load_target("siracusa")


def _row(rows: list[dict], node: str) -> dict:
    return next(r for r in rows if r["node"] == node)


@pytest.mark.parametrize("case, engine, reason", [
    (dict(cin=64, cout=64, k=1), "neureka", "folded into the normalization unit"),
    (dict(cin=32, cout=32, k=3, pad=1), "neureka", "folded"),
    (dict(cin=32, cout=32, k=3, pad=1, group=32), None, ""),  # depthwise: legal; the cost model decides
    (dict(cin=8, cout=8, k=5, pad=2), "cluster", "kernel 5x5"),
    (dict(cin=8, cout=8, k=3, stride=2, pad=1), "cluster", "stride [2, 2]"),
    (dict(cin=8, cout=8, k=3, dil=2, pad=2), "cluster", "dilation [2, 2]"),
    (dict(cin=8, cout=8, k=3, pad=3), "cluster", "padding [3, 3, 3, 3]"),
    (dict(cin=8, cout=8, k=3, group=2, pad=1), "cluster", "grouped convolution"),
    (dict(cin=8, cout=8, k=1, group=8), "cluster", "depthwise 1x1"),
])
def test_conv_kinds(case: dict, engine: str | None, reason: str) -> None:
    g, feeds = conv(**case)
    g2, rows = map_engines(g, SIRACUSA, {})
    r = _row(rows, "conv")
    print(format_table(rows))
    if engine is not None:
        assert r["engine"] == engine
    assert reason in r["reason"]
    assert np.array_equal(run_reference(g2, feeds)[0], run_reference(g, feeds)[0])


def test_depthwise_is_legal_and_pinnable() -> None:
    g, feeds = conv(cin=32, cout=32, k=3, pad=1, group=32)
    assert can_run(g, g.nodes[0]) == (True, "")
    g2, rows = map_engines(g, SIRACUSA, {"engines": {"conv": "neureka"}})
    assert _row(rows, "conv")["engine"] == "neureka" and _row(rows, "conv")["reason"].startswith("pinned")
    assert [n.op for n in g2.nodes] == ["Transpose", "NeurekaConv", "Transpose"]
    assert g2.nodes[1].attrs["kind"] == "dw"
    assert np.array_equal(run_reference(g2, feeds)[0], run_reference(g, feeds)[0])


def test_non_constant_weights() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (16, 32)).astype(np.int8)
    w = rng.integers(-128, 128, (32, 8)).astype(np.int8)
    g, _ = model("MatMul", x, None, w_input=w)
    ok, why = can_run(g, g.nodes[0])
    assert not ok and "computed at run time" in why


def test_unrepresentable_requant_stays_on_cluster() -> None:
    # a negative multiplier cannot be an N-EUREKA scale: the conv runs there with raw int32 output,
    # the RequantShift stays on the cluster
    g, feeds = conv(cin=32, cout=32, k=1, rq={"mul": -3, "add": 0, "div": 256})
    g2, rows = map_engines(g, SIRACUSA, {"engines": {"conv": "neureka"}})
    assert "negative multiplier" in _row(rows, "conv")["reason"]
    assert _row(rows, "rq")["engine"] == "cluster"
    assert [n.op for n in g2.nodes] == ["Transpose", "NeurekaConv", "Transpose", "RequantShift"]
    assert g2.nodes[1].attrs["norm"] == 0
    assert np.array_equal(run_reference(g2, feeds)[0], run_reference(g, feeds)[0])


def test_per_row_requant_not_folded() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(-128, 128, (12, 64)).astype(np.int8)
    w = rng.integers(-128, 128, (64, 32))
    g, feeds = model("MatMul", x, w, rq={"mul": rng.integers(1, 50, (12, 1)), "add": 0, "div": 2**14})
    g2, rows = map_engines(g, SIRACUSA, {"engines": {"MatMul": "neureka"}})
    assert "varies along pixels" in _row(rows, "lin")["reason"]
    assert np.array_equal(run_reference(g2, feeds)[0], run_reference(g, feeds)[0])


def test_gemm_with_bias_and_alpha_folds() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (10, 40)).astype(np.int8)
    w = rng.integers(-128, 128, (24, 40))
    g, feeds = model("Gemm", x, w, {"transB": 1, "alpha": 2.0, "beta": 3.0}, bias=rng.integers(-99, 99, (24,)),
                     rq={"mul": rng.integers(1, 9, (24,)), "add": rng.integers(-50, 50, (24,)), "div": 2**12,
                         "signed": 0})
    g2, rows = map_engines(g, SIRACUSA, {"engines": {"Gemm": "neureka"}})
    assert [n.op for n in g2.nodes] == ["NeurekaConv"]
    assert g2.nodes[0].attrs["relu"] == 1 and g2.nodes[0].attrs["out_signed"] == 0
    assert np.array_equal(run_reference(g2, feeds)[0], run_reference(g, feeds)[0])


def test_bias_add_folds_with_the_requantization() -> None:
    # QuantLib's linear layer, MatMul -> Add(bias) -> RequantShift, becomes one NeurekaConv (bias in the
    # normalization unit); without a foldable requantization the Add stays a cluster layer
    rng = np.random.default_rng(4)
    x = rng.integers(-128, 128, (1, 8, 64)).astype(np.int8)
    w, b = rng.integers(-128, 128, (64, 48)), rng.integers(-3000, 3000, (48,))
    g, feeds = model("MatMul", x, w, bias_add=b, rq={"mul": 5, "add": -7, "div": 2**12})
    g2, rows = map_engines(g, SIRACUSA, {"engines": {"MatMul": "neureka"}})
    assert [n.op for n in g2.nodes] == ["NeurekaConv"]
    assert "bias 'bias' and requantization 'rq' folded" in _row(rows, "lin")["reason"]
    assert _row(rows, "bias")["engine"] == "neureka" and "folded into 'lin'" in _row(rows, "bias")["reason"]
    assert np.array_equal(run_reference(g2, feeds)[0], run_reference(g, feeds)[0])
    g, feeds = model("MatMul", x, w, bias_add=b, rq={"mul": -5, "add": 0, "div": 2**12})
    g2, rows = map_engines(g, SIRACUSA, {"engines": {"MatMul": "neureka"}})
    assert [n.op for n in g2.nodes] == ["NeurekaConv", "Add", "RequantShift"]
    assert g2.nodes[0].attrs["norm"] == 0 and _row(rows, "bias")["engine"] == "cluster"
    assert np.array_equal(run_reference(g2, feeds)[0], run_reference(g, feeds)[0])


def test_pin_errors_show_the_reason() -> None:
    g, _ = conv(cin=8, cout=8, k=5, pad=2)
    with pytest.raises(CompileError, match="pinned to neureka.*kernel 5x5"):
        map_engines(g, SIRACUSA, {"engines": {"conv": "neureka"}})
    with pytest.raises(CompileError, match="pinned to neureka.*cannot run it"):
        map_engines(g, SIRACUSA, {"engines": {"RequantShift": "neureka"}})
    with pytest.raises(CompileError, match="unknown engine"):
        map_engines(g, SIRACUSA, {"engines": {"conv": "gpu"}})
    with pytest.raises(CompileError, match="neither a node"):
        map_engines(g, SIRACUSA, {"engines": {"nosuchnode": "cluster"}})


def test_disable_and_cluster_pins() -> None:
    g, _ = conv(cin=64, cout=64, k=1)
    for opts in ({"neureka": False}, {"engines": {"*": "cluster"}}, {"engines": {"Conv": "cluster"}}):
        g2, rows = map_engines(g, SIRACUSA, opts)
        assert all(n.op != "NeurekaConv" for n in g2.nodes)
        assert _row(rows, "conv")["engine"] == "cluster"
    g2, rows = map_engines(g, load_target("siracusa"), {"tiling": False})
    assert "untiled" in _row(rows, "conv")["reason"]


def test_consecutive_convs_cancel_transposes() -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx

    rng = np.random.default_rng(4)
    x = rng.integers(-128, 128, (1, 32, 6, 6)).astype(np.int8)
    inits, nodes, src = [], [], "x"
    for i in range(2):
        inits += [numpy_helper.from_array(rng.integers(-128, 128, (32, 32, 1, 1)).astype(np.float32), f"w{i}"),
                  numpy_helper.from_array(rng.integers(1, 100, (1, 32, 1, 1)).astype(np.float32), f"m{i}"),
                  numpy_helper.from_array(np.zeros((1,), np.float32), f"a{i}")]
        nodes += [helper.make_node("Conv", [src, f"w{i}"], [f"c{i}"], name=f"conv{i}", kernel_shape=[1, 1]),
                  helper.make_node("RequantShift", [f"c{i}", f"m{i}", f"a{i}"], [f"y{i}"], name=f"rq{i}",
                                   div=2**16, n_levels_out=256, signed=1)]
        src = f"y{i}"
    vi = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))
    vi.doc_string = DTYPE_TAG + "int8"
    m = helper.make_model(helper.make_graph(nodes, "t", [vi], [helper.make_tensor_value_info(
        "y1", TensorProto.FLOAT, None)], inits), opset_imports=[helper.make_opsetid("", 13)])
    g = import_onnx(onnx.load_from_string(m.SerializeToString()), [x])
    g2, _ = map_engines(g, SIRACUSA, {"engines": {"Conv": "neureka"}})
    assert [n.op for n in g2.nodes] == ["Transpose", "NeurekaConv", "NeurekaConv", "Transpose"]
    assert np.array_equal(run_reference(g2, [x])[0], run_reference(g, [x])[0])
