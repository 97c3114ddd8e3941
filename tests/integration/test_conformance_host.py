"""Every conformance network as C on the host runner: at the default L1 under ASan/UBSan, at 64 KiB, and at
16 KiB (where a network must either pass or fail with the infeasibility message naming node and L1 need);
single and double buffering agree bit for bit; reported peak L1 stays within the budget."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import network_dirs, network_id
from torch_deeploy.api import compile
from torch_deeploy.conformance import compare, load_case
from torch_deeploy.errors import CompileError

MODELS = [p for p in network_dirs() if "Models" in p.parts]


def _run(folder: Path, conformance: Path, options: dict) -> tuple[object, list[np.ndarray]]:
    case = load_case(conformance, folder)
    m = compile(case.model, case.inputs, options=options)
    got = m.run(case.inputs[: len(m.inputs)])
    reason = compare(got, case.outputs, [o.type.is_float for o in m.outputs])
    assert reason is None, reason
    return m, got


@pytest.mark.parametrize("folder", network_dirs(), ids=network_id)
def test_default_l1_under_sanitizers(folder: Path, conformance: Path) -> None:
    m, _ = _run(folder, conformance, {"sanitize": True})
    rep = m.report  # type: ignore[attr-defined]
    assert rep["totals"]["peak_l1_bytes"] <= rep["memory"]["L1"]["budget"]
    perf = m.last_perf  # type: ignore[attr-defined]
    assert perf["dma_to_l1"] + perf["dma_to_l2"] == rep["totals"]["dma_bytes"]  # the shim moved what was planned
    # layer tables travel into L1 slots (counted apart from tensor data) when a second tiled layer exists
    assert (perf["dma_tables"] > 0) == (rep["memory"]["L1"]["prefetched_table_layers"] > 0)
    # every one-tile layer runs from its resolved plan (checked by the host HAL against the tile tables)
    one_tile = [r for r in rep["layers"] if r.get("tiles") == 1]
    assert rep["memory"]["L1"]["single_tile_plans"] == len(one_tile)
    timed = [r for r in rep["layers"] if "cycles" in r]
    # the per-layer cycle counters live in the L1 left over (counted in the peak) or, without room, in L2
    assert rep["memory"]["L1"]["cycle_counters"] in (0, 8 * len(timed))
    assert timed and all(0 <= r["kernel_cycles"] <= r["cycles"] for r in timed)


@pytest.mark.parametrize("folder", network_dirs(), ids=network_id)
def test_64kib_l1(folder: Path, conformance: Path) -> None:
    m, _ = _run(folder, conformance, {"l1": 64 * 1024})
    assert m.report["totals"]["peak_l1_bytes"] <= 64 * 1024  # type: ignore[attr-defined]


@pytest.mark.parametrize("folder", network_dirs(), ids=network_id)
def test_16kib_l1_passes_or_names_the_cause(folder: Path, conformance: Path) -> None:
    try:
        m, _ = _run(folder, conformance, {"l1": 16 * 1024})
    except CompileError as e:
        assert re.search(r"node '.+' \(\w+\) needs at least \d+ B of L1", str(e)), str(e)
        return
    assert m.report["totals"]["peak_l1_bytes"] <= 16 * 1024  # type: ignore[attr-defined]


@pytest.mark.parametrize("folder", MODELS, ids=network_id)
def test_single_and_double_buffering_agree(folder: Path, conformance: Path) -> None:
    _, single = _run(folder, conformance, {"l1": 16 * 1024, "double_buffer": False})
    _, double = _run(folder, conformance, {"l1": 16 * 1024, "double_buffer": True})
    for a, b in zip(single, double, strict=True):
        np.testing.assert_array_equal(a, b)
