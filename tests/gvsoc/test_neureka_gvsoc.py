"""N-EUREKA on GVSoC's siracusa target: networks mapped to the engine (hal_neureka_job programs GVSoC's
N-EUREKA model) are bit-exact against the numpy references and the conformance goldens, with weights in
L1 or streamed from the weight memory, tiled and untiled; the jobs cover several input/output channel
blocks and 6x6 subtiles, padding, unsigned input, raw int32 output and both scale widths.

Skipped (with how to install) when GVSoC or the RISC-V toolchain is missing; see runners/gvsoc.py."""

from __future__ import annotations

import numpy as np
import pytest

import torch_deeploy
from tests.conftest import CONFORMANCE
from tests.engines._graphs import conv, model
from torch_deeploy.runners import gvsoc
from torch_deeploy.runners.reference import run_reference

_MISSING = gvsoc.missing()
pytestmark = [pytest.mark.requires_gvsoc,
              pytest.mark.skipif(_MISSING is not None, reason=f"GVSoC runner unavailable: {_MISSING}")]


def _check(g, feeds, opts) -> torch_deeploy.DeployedModel:  # type: ignore[no-untyped-def]
    d = torch_deeploy.compile(g, feeds, runner="gvsoc", options=opts)
    want = run_reference(g, feeds)[0]
    got = d.run(feeds)[0]
    assert np.array_equal(np.asarray(got).reshape(want.shape), want)
    assert "NeurekaConv" in [r["op"] for r in d.report["layers"]]
    return d


@pytest.mark.parametrize("case", [
    dict(cin=64, cout=48, k=1, hw=7),  # 2 input blocks of 32, 2 output blocks, 2x2 subtiles
    dict(cin=40, cout=36, k=3, pad=1, hw=9),  # dense 3x3: 2 input blocks of 28, padding
    dict(cin=56, cout=56, k=3, pad=1, group=56, hw=8),  # depthwise: 2 blocks of 28
    dict(cin=20, cout=20, k=3, pad=2, hw=5, rq=False),  # raw int32 accumulators, padding 2
    dict(cin=16, cout=70, k=1, hw=6, unsigned_in=True),  # unsigned input, 3 output blocks
], ids=["pw", "dense", "dw", "raw32", "unsigned"])
@pytest.mark.parametrize("opts", [{}, {"weight_memory": False, "l1": 6000}], ids=["wmem", "l1-tiled"])
def test_conv_on_gvsoc(case: dict, opts: dict) -> None:
    g, feeds = conv(**case)
    d = _check(g, feeds, {"engines": {"*": "neureka"}, **opts})
    assert ("weight_memory" in d.report["memory"]) == opts.get("weight_memory", True)


def test_linear_32bit_scale_on_gvsoc() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (9, 33)).astype(np.int8)
    g, feeds = model("Gemm", x, rng.integers(-128, 128, (33, 40)), {"alpha": 1.0, "beta": 1.0},
                     bias=rng.integers(-500, 500, (40,)),
                     rq={"mul": rng.integers(200, 3000, (40,)), "add": 3, "div": 2**18, "signed": 0})
    _check(g, feeds, {"engines": {"Gemm": "neureka"}})


@pytest.mark.parametrize("name", ["Kernels/Integer/Conv/DW_3x3_RQ", "Kernels/Integer/Conv/PW_2D_RQ/Unsigned_RQ",
                                  "Kernels/Integer/GEMM/Regular_RQPerColumn", "Models/MLPerf/KeywordSpotting"])
def test_conformance_neureka_on_gvsoc(name: str) -> None:
    from torch_deeploy.conformance import compare, load_case

    case = load_case(CONFORMANCE, CONFORMANCE / name)
    d = torch_deeploy.compile(case.model, case.inputs, runner="gvsoc", options={"engines": {"*": "neureka"}})
    outs = d.run(case.inputs[: len(d.inputs)])
    assert compare(outs, case.outputs, [o.type.is_float for o in d.outputs]) is None
    assert "NeurekaConv" in [r["op"] for r in d.report["layers"]]
    assert d.last_perf["total"] > 0
