"""The torch-deeploy CLI: compile/run/show, and its error contract (one line, exit 2, nothing written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from torch_deeploy.cli import main


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torch_deeploy.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_not_onnx_gives_one_line_and_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    out = tmp_path / "proj"
    p = cli("compile", str(bad), "-o", str(out))
    assert p.returncode == 2
    assert p.stderr.strip().startswith("torch-deeploy: error:") and "not an ONNX model" in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    p = cli("--debug", "compile", str(bad), "-o", str(tmp_path / "proj"))
    assert p.returncode == 2 and "Traceback" in p.stderr


def test_unknown_op_error_names_node_and_op(tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    m = helper.make_model(helper.make_graph([helper.make_node("Frobnicate", ["x"], ["y"], name="frob7")],
                                            "g", [x], [y]))
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    p = cli("compile", str(path), "-o", str(tmp_path / "proj"))
    assert p.returncode == 2
    assert "node 'frob7' (Frobnicate): unsupported op 'Frobnicate'" in p.stderr
    assert not (tmp_path / "proj").exists()


def test_compile_run_and_show_round_trip(tmp_path: Path, conformance: Path) -> None:
    d = conformance / "Kernels/Integer/Add/Regular_RQ"
    proj = tmp_path / "proj"
    assert main(["compile", str(d / "network.onnx"), "-o", str(proj), "--inputs", str(d / "inputs.npz"),
                 "--quiet"]) == 0
    assert (proj / "Makefile").exists() and (proj / "model.onnx").exists()
    report = json.loads((proj / "report.json").read_text())
    assert report["totals"]["layers"] == 3  # RequantShift x2, then the Add with its RequantShift fused
    out = tmp_path / "out.npz"
    assert main(["run", str(proj), "--inputs", str(d / "inputs.npz"), "--outputs", str(out)]) == 0
    with np.load(out) as got, np.load(d / "outputs.npz") as want:
        np.testing.assert_array_equal(got["arr_0"], want[want.files[0]])
    p = cli("show", str(d / "network.onnx"), "--inputs", str(d / "inputs.npz"))
    assert p.returncode == 0 and "RequantShift" in p.stdout


def test_run_on_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    p = cli("run", str(tmp_path), "--inputs", str(tmp_path / "x.npz"))
    assert p.returncode == 2 and "not a torch-deeploy project" in p.stderr


def test_bad_size_flag(tmp_path: Path, conformance: Path) -> None:
    p = cli("conformance", str(conformance / "Kernels/Integer/Add/Regular"), "--runner", "host", "--l1", "lots")
    assert p.returncode == 2 and "cannot read size 'lots'" in p.stderr
