"""The tiling ILP on small graphs whose optimum is known by hand, infeasibility messages, residency,
the plan checker, and tiled execution (double and single buffered) against the reference."""

from __future__ import annotations

import copy

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.api import compile
from torch_deeploy.backend.report import dma_lower_bound
from torch_deeploy.errors import CompileError
from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
from torch_deeploy.midend.plan import check_plan, plan_network
from torch_deeploy.runners.reference import run_reference
from torch_deeploy.target import load_target, resolve


def _softmax_rows(rows: int, cols: int) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, rows, cols])
    x.doc_string = DTYPE_TAG + "int8"
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, rows, cols])
    node = helper.make_node("iSoftmax", ["x"], ["y"], name="sm", coeffA=1, coeffB=40, coeffC=2000, log2=16,
                            n_levels=256)
    return helper.make_model(helper.make_graph([node], "sm", [x], [y]))


def _chain() -> onnx.ModelProto:
    """x -> RequantShift -> iHardswish -> RequantShift -> y, 4 KiB tensors."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 256])
    x.doc_string = DTYPE_TAG + "int8"
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 256])
    inits = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in
             (("m1", [3.0]), ("a1", [7.0]), ("m2", [5.0]), ("a2", [1.0]))]
    nodes = [
        helper.make_node("RequantShift", ["x", "m1", "a1"], ["t1"], name="rq1", div=4, n_levels_out=256, signed=1),
        helper.make_node("iHardswish", ["t1"], ["t2"], name="hs", three=96, six=192, one_over_six=42),
        helper.make_node("RequantShift", ["t2", "m2", "a2"], ["y"], name="rq2", div=65536, n_levels_out=256, signed=1),
    ]
    return helper.make_model(helper.make_graph(nodes, "chain", [x], [y], inits))


def _target(l1: int):
    return resolve(load_target("siracusa"), {"l1": l1})


def test_known_optimal_row_tile_is_chosen() -> None:
    # 1024 rows of 64 int8. Cost model (targets/siracusa.toml): compute 1024*64 / (8 cores * 0.5) = 16384 cycles;
    # DMA 128 KiB / 7.1 B per cycle + 30 per transfer ~ 18.5k; 400 per layer + 3000 per tile; n tiles overlap
    # DMA with compute: 400 + 3000n + max + min/n. One tile (serial): 38.3k; n = 2 (512 rows): 33.2k is the
    # optimum; n = 3: 33.5k, n = 4: 35.2k.
    g = import_onnx(_softmax_rows(1024, 64))
    plan = plan_network(g, _target(262144))
    assert plan.layers[0].cand.tile == (1, 512, 64) and plan.layers[0].cand.ntiles == 2
    # A tile of r rows needs 4*64*r bytes double-buffered (in and out, two slots each): with 64 KiB the largest
    # fitting tile, 256 rows (35.2k cycles), is also the cheapest that fits.
    plan = plan_network(g, _target(65536))
    lay = plan.layers[0]
    assert lay.cand.tile == (1, 256, 64) and lay.cand.ntiles == 4
    assert lay.work_bytes == 4 * 64 * 256 <= 65536


def test_single_buffering_halves_the_slots() -> None:
    g = import_onnx(_softmax_rows(256, 64))
    plan = plan_network(g, _target(8192), double_buffer=False)
    assert plan.layers[0].cand.tile == (1, 64, 64) and plan.layers[0].work_bytes == 2 * 64 * 64


def test_intermediates_stay_resident_in_l1_and_dma_meets_the_lower_bound() -> None:
    g = import_onnx(_chain())
    plan = plan_network(g, _target(65536))
    assert set(plan.l1_resident) == {"t1", "t2"}
    moved = sum(o.dma_bytes for lay in plan.layers.values() for o in lay.cand.operands if o.tensor not in lay.resident)
    assert moved == dma_lower_bound(g) == 4096 + 4096 + 4  # x in, y out, four 1-byte constants
    assert plan.solution.stats["exact_packing"] == 1
    # Without residency every intermediate makes a round trip through L2.
    plan2 = plan_network(g, _target(65536), residency=False)
    assert not plan2.l1_resident
    moved2 = sum(o.dma_bytes for lay in plan2.layers.values() for o in lay.cand.operands)
    assert moved2 > moved + 4 * 4096 - 1


def test_infeasible_budget_names_node_smallest_l1_and_the_fix() -> None:
    g = import_onnx(_softmax_rows(4, 4096))  # one row is 4 KiB: 16 KiB double-buffered at least
    with pytest.raises(CompileError) as e:
        plan_network(g, _target(8192))
    msg = str(e.value)
    assert "node 'sm' (iSoftmax)" in msg and "needs at least 16384 B of L1" in msg and "budget is 8192 B" in msg
    assert "raise --l1" in msg


def test_plan_checker_catches_overlaps() -> None:
    g = import_onnx(_chain())
    plan = plan_network(g, _target(65536))
    check_plan(g, plan)
    bad = copy.deepcopy(plan)
    a, b = sorted(bad.l1_resident)
    bad.l1_resident[b] = bad.l1_resident[a]  # t1 and t2 are live together at the hardswish
    with pytest.raises(AssertionError, match="overlap"):
        check_plan(g, bad)


@pytest.mark.parametrize("double_buffer", [True, False])
def test_tiled_execution_is_bit_exact_and_the_shim_counts_the_planned_bytes(double_buffer: bool) -> None:
    model = _softmax_rows(256, 64)
    x = np.random.default_rng(0).integers(-128, 128, size=(1, 256, 64)).astype(np.int8)
    g = import_onnx(model, [x])
    want = run_reference(g, [x])[0]
    m = compile(model, [x], options={"l1": 8192, "double_buffer": double_buffer, "sanitize": True})
    np.testing.assert_array_equal(m.run([x])[0], want)
    rep = m.report
    assert rep["totals"]["peak_l1_bytes"] <= 8192
    perf = m.last_perf
    assert perf["dma_to_l1"] + perf["dma_to_l2"] == rep["totals"]["dma_bytes"]
