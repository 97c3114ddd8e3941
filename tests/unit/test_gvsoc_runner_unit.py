"""gvsoc runner pieces that need no simulator: output parsing, install help, baked inputs."""

from __future__ import annotations

import numpy as np
import pytest

from torch_deeploy.errors import RunError
from torch_deeploy.runners import gvsoc


def test_parse_output():
    raw, perf = gvsoc.parse_output("noise\nOUT 0 00ff\nOUT 1 \nOUT 0 10\nPERF total 5\nPERF layer 0 4\n"
                                   "PERF dma_to_l1 7\nDONE\n", 2)
    assert raw == [bytes([0, 255, 16]), b""]
    assert perf == {"layers": [4], "total": 5, "dma_to_l1": 7}


def test_parse_output_truncated():
    with pytest.raises(RunError, match="without printing"):
        gvsoc.parse_output("OUT 0 00\n", 1)


def test_missing_explains_install(monkeypatch):
    monkeypatch.setenv("GVSOC", "/nonexistent/gvsoc")
    monkeypatch.setenv("RISCV_GCC", "/nonexistent/gcc")
    msg = gvsoc.missing()
    assert msg is not None and "gvsoc" in msg and "apt-get install gcc-riscv64-unknown-elf" in msg


def test_inputs_c():
    text = gvsoc._inputs_c([np.array([1, -1], np.int8), np.array([258], np.int16)])
    assert "deeploy_inputs_bytes = 4u" in text and "{1,255,2,1}" in text


def test_project_sources_swap_harness():
    out = gvsoc.project_sources({"src/main_host.c": "", "src/hal_host.c": "", "src/network.c": "x"})
    assert "src/main_host.c" not in out and "src/hal_host.c" not in out
    assert {"src/main_siracusa.c", "src/hal_siracusa.c", "src/crt0.S", "siracusa.ld"} <= set(out)


def test_timeout_kills_the_simulator_child(tmp_path):
    """The gvsoc wrapper runs the simulator as a child process: a timeout must kill both (a plain kill of the
    wrapper left the simulator running at full CPU)."""
    import os
    import time

    script = "sleep 60 & echo $! > child.pid; wait"
    t0 = time.monotonic()
    with pytest.raises(RunError, match="did not finish within"):
        gvsoc._run_killing_group(["sh", "-c", script], tmp_path, 0.5)
    assert time.monotonic() - t0 < 30
    child = int((tmp_path / "child.pid").read_text())
    for _ in range(50):  # the killed child is reaped by init
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the simulator's child process {child} survived the timeout")
