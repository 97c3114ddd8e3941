"""N-EUREKA-mapped networks on the host runner: the C functional model in the host shim against the
numpy references, tiled and untiled weights, weight memory on and off, and the job-field checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import torch_deeploy
from tests.engines._graphs import conv, model
from torch_deeploy.backend.templates import TEMPLATE_DIR
from torch_deeploy.runners.reference import run_reference

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "deeploy"


def _check(g, feeds, opts) -> torch_deeploy.DeployedModel:  # type: ignore[no-untyped-def]
    d = torch_deeploy.compile(g, feeds, options=opts)
    want = run_reference(g, feeds)[0]
    got = d.run(feeds)[0]
    assert np.array_equal(np.asarray(got).reshape(want.shape), want)
    return d


@pytest.mark.parametrize("case", [
    dict(cin=64, cout=48, k=1, hw=7),
    dict(cin=40, cout=36, k=3, pad=1, hw=9),
    dict(cin=56, cout=56, k=3, pad=1, group=56, hw=8),
    dict(cin=20, cout=20, k=3, pad=2, hw=5, rq=False),
    dict(cin=16, cout=70, k=1, hw=6, unsigned_in=True),
])
@pytest.mark.parametrize("opts", [{}, {"weight_memory": False}, {"l1": 3000}, {"l1": 6000, "weight_memory": False}])
def test_conv_on_host(case: dict, opts: dict) -> None:
    g, feeds = conv(**case)
    d = _check(g, feeds, {"engines": {"*": "neureka"}, **opts})
    ops = [r["op"] for r in d.report["layers"]]
    assert "NeurekaConv" in ops
    assert ("weight_memory" in d.report["memory"]) == opts.get("weight_memory", True)
    if opts.get("l1", 1 << 30) <= 3000:
        assert any(r.get("tiles", 0) > 1 for r in d.report["layers"])


def test_linear_layers_on_host() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (1, 13, 64)).astype(np.int8)
    g, feeds = model("MatMul", x, rng.integers(-128, 128, (64, 96)),
                     rq={"mul": rng.integers(1, 30, (96,)), "add": rng.integers(-99, 99, (96,)), "div": 2**13})
    for opts in ({}, {"l1": 4000}, {"weight_memory": False, "l1": 4000}):
        d = _check(g, feeds, {"engines": {"MatMul": "neureka"}, **opts})
        assert [r["op"] for r in d.report["layers"]] == ["NeurekaConv"]
    x2 = rng.integers(-128, 128, (9, 33)).astype(np.int8)
    g, feeds = model("Gemm", x2, rng.integers(-128, 128, (33, 40)), {"alpha": 1.0, "beta": 1.0},
                     bias=rng.integers(-500, 500, (40,)),
                     rq={"mul": 7, "add": 3, "div": 2**10, "signed": 0})
    _check(g, feeds, {"engines": {"Gemm": "neureka"}})
    g, feeds = model("MatMul", x, rng.integers(-128, 128, (64, 24)), bias_add=rng.integers(-900, 900, (24,)),
                     rq={"mul": 3, "add": 11, "div": 2**11})  # QuantLib's MatMul -> Add(bias) -> RequantShift
    d = _check(g, feeds, {"engines": {"MatMul": "neureka"}})
    assert [r["op"] for r in d.report["layers"]] == ["NeurekaConv"]
    g, feeds = model("MatMul", x2, rng.integers(-128, 128, (33, 40)))  # raw int32 accumulators
    _check(g, feeds, {"engines": {"MatMul": "neureka"}})


def test_explain_prints_the_mapping() -> None:
    g, feeds = conv(cin=8, cout=8, k=5, pad=2)
    d = torch_deeploy.compile(g, feeds)
    text = d.explain()
    assert "engine mapping:" in text and "kernel 5x5" in text


SUBSET = ["Kernels/Integer/Conv/PW_2D_RQ/Regular_RQ", "Kernels/Integer/Conv/DW_3x3_RQ",
          "Kernels/Integer/Conv/Regular_3x3_RQ", "Kernels/Integer/GEMM/Regular_RQPerColumn",
          "Kernels/Integer/MatMul/Add", "Models/miniMobileNetv2"]


@pytest.mark.skipif(not CONFORMANCE.exists(), reason="conformance networks not present")
@pytest.mark.parametrize("opts", [{"engines": {"*": "neureka"}}, {"engines": {"*": "neureka"}, "weight_memory": False},
                                  {}, {"neureka": False}])
def test_conformance_subset(opts: dict) -> None:
    from torch_deeploy.conformance import run_conformance

    lines: list[str] = []
    passed, failed = run_conformance([CONFORMANCE / s for s in SUBSET], runner="host", options=opts,
                                     emit=lines.append)
    assert failed == 0, "\n".join(lines)


BAD_JOB = r"""
#include <stdio.h>
#include "deeploy_hal.h"
static uint8_t l1[16384];
int main(void) {
  hal_memory_register(HAL_MEM_L1, l1, sizeof l1);
  hal_neureka_job_t j = {0};
  j.weights = l1; j.infeat = l1 + 1024; j.outfeat = l1 + 4096;
  j.infeat_d0 = 32; j.infeat_d1 = 32 * 6; j.outfeat_d0 = 32 * 4; j.outfeat_d1 = 32 * 4 * 6;
  j.weights_d0 = 32; j.weights_d1 = 32;
  j.subtile_nb0 = 1u | (1u << 16); j.subtile_nb1 = 1u | (1u << 16);
  j.subtile_rem0 = 32u | (32u << 16); j.subtile_rem1 = 6u | (6u << 16); j.subtile_rem2 = 6u | (6u << 16);
  j.conf0 = 7u << 2;
  hal_neureka_job(&j);
  printf("ok %llu\n", (unsigned long long)hal_neureka_job_count());
  fflush(stdout);
  j.infeat_d1 = 32 * 5; /* inconsistent row stride */
  hal_neureka_job(&j);
  return 0;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")
def test_job_fields_are_checked(tmp_path: Path) -> None:
    (tmp_path / "t.c").write_text(BAD_JOB)
    hal = TEMPLATE_DIR / "hal"
    exe = tmp_path / "t"
    subprocess.run(["gcc", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{hal}", str(tmp_path / "t.c"),
                    str(hal / "hal_host.c"), "-o", str(exe)], check=True)
    r = subprocess.run([str(exe)], capture_output=True, text=True)
    assert r.stdout.startswith("ok 1")
    assert r.returncode != 0 and "bad N-EUREKA job: input strides" in r.stderr
