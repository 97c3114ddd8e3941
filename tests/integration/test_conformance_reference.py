"""Every conformance network through the reference runner, and the CLI contract of `conformance`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import network_dirs, network_id
from torch_deeploy.conformance import Case, compare, first_divergent_node, load_case, reference_executor, run_case


@pytest.mark.parametrize("folder", network_dirs(), ids=network_id)
def test_network_matches_goldens_with_reference_runner(folder: Path, conformance: Path) -> None:
    r = run_case(load_case(conformance, folder), reference_executor({}))
    assert r.passed, r.reason


def test_cli_prints_one_line_per_network_and_the_summary_last(conformance: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "torch_deeploy.cli", "conformance", str(conformance),
                           "--runner", "reference"], capture_output=True, text=True, timeout=600)
    lines = proc.stdout.strip().splitlines()
    n = len(network_dirs())
    assert lines[-1] == f"{n} passed, 0 failed", proc.stdout[-2000:]
    assert sum(1 for line in lines if re.match(r"^(PASS|FAIL) ", line)) == n
    assert proc.returncode == 0


def test_a_failing_network_is_reported_and_the_run_goes_on(tmp_path: Path, conformance: Path) -> None:
    good = conformance / "Kernels/Integer/Add/Regular"
    bad = tmp_path / "suite" / "Broken"
    bad.mkdir(parents=True)
    (bad / "network.onnx").write_bytes((good / "network.onnx").read_bytes())
    (bad / "inputs.npz").write_bytes((good / "inputs.npz").read_bytes())
    with np.load(good / "outputs.npz") as z:
        np.savez(bad / "outputs.npz", *[z[k] + 1 for k in z.files])  # wrong goldens
    other = tmp_path / "suite" / "NotOnnx"
    other.mkdir()
    (other / "network.onnx").write_text("garbage")
    (other / "inputs.npz").write_bytes((good / "inputs.npz").read_bytes())
    (other / "outputs.npz").write_bytes((good / "outputs.npz").read_bytes())
    proc = subprocess.run([sys.executable, "-m", "torch_deeploy.cli", "conformance", str(tmp_path / "suite"),
                           str(good)], capture_output=True, text=True, timeout=300)
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "1 passed, 2 failed"
    assert any(line.startswith("FAIL Broken") and "values differ" in line for line in lines)
    assert any(line.startswith("FAIL NotOnnx") and "not an ONNX model" in line for line in lines)
    assert proc.returncode == 1


def test_first_divergent_node_is_named_from_activations(conformance: Path) -> None:
    case = load_case(conformance, conformance / "Models/CNN_Linear1")
    assert first_divergent_node(case) is None  # our reference reproduces every stored activation

    # Corrupt one intermediate activation: the node producing that tensor must be named.
    acts = dict(case.activations or {})
    key = next(k for k in acts if acts[k].ndim == 4)
    acts[key] = acts[key] + 1
    bad = Case(case.name, case.model, case.inputs, case.outputs, acts)
    culprit = first_divergent_node(bad)
    assert culprit is not None and "(" in culprit


def test_compare_rule_integers_exact_floats_within_tolerance() -> None:
    assert compare([np.array([1, 2])], [np.array([1, 2])], [False]) is None
    assert "differ" in compare([np.array([1, 3])], [np.array([1, 2])], [False])
    assert compare([np.array([1.0, 2.00005])], [np.array([1.0, 2.0])], [True]) is None
    assert "differ" in compare([np.array([1.0, 2.001])], [np.array([1.0, 2.0])], [True])
