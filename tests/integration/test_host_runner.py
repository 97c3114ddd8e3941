"""Host runner and DeployedModel: build cache, determinism, sanitizer checks, saved projects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from torch_deeploy.api import DeployedModel, compile, load
from torch_deeploy.errors import RunError


def _case(conformance: Path, name: str) -> tuple[Path, list[np.ndarray], list[np.ndarray]]:
    d = conformance / name
    with np.load(d / "inputs.npz") as z:
        ins = [z[k] for k in z.files]
    with np.load(d / "outputs.npz") as z:
        outs = [z[k] for k in z.files]
    return d / "network.onnx", ins, outs


def test_same_model_twice_gives_byte_identical_c(conformance: Path) -> None:
    model, ins, _ = _case(conformance, "Models/miniMobileNetv2")
    a = compile(model, ins)
    b = compile(model, ins)
    assert a.c_sources == b.c_sources
    assert b.report["build"]["cached"] is True


def _tampered(good: DeployedModel, old: str, new: str) -> DeployedModel:
    """A sanitizer build of good's sources with the first `old` in network.c replaced by `new`."""
    src = dict(good.c_sources)
    src["src/network.c"] = src["src/network.c"].replace(old, new, 1)
    assert src["src/network.c"] != good.c_sources["src/network.c"]
    return DeployedModel(name="bad", inputs=good.inputs, outputs=good.outputs, sources=src, report={},
                         runner="host", num_cores=good.num_cores, sanitize=True)


def test_sanitizer_build_catches_a_kernel_reading_another_buffer(conformance: Path) -> None:
    model, ins, outs = _case(conformance, "Kernels/Integer/Add/Regular_RQ")
    good = compile(model, ins, options={"sanitize": True, "tiling": False})
    np.testing.assert_array_equal(good.run(ins)[0], outs[0])
    # Make layer 0 read before its input, into the arena buffer of the other network input, which layer 0
    # does not use: the per-layer poisoning must trip although the address is inside the arena.
    assert "k0_requant_shift_buffers[] = { 16384u, 16384u, 32768u, 16384u }" in good.c_sources["src/network.c"]
    with pytest.raises(RunError, match="AddressSanitizer|use-after-poison"):
        _tampered(good, "_run(in0 + i,", "_run(in0 + i - 16384,").run(ins)


@pytest.mark.parametrize("l1", [16384, 8192])
def test_tiled_sanitizer_build_catches_a_kernel_leaving_its_tile(conformance: Path, l1: int) -> None:
    """Under tiling a kernel may touch only the current tile's L1 slots: one element past the end fails.
    (At these budgets the input slot of layer 0 is followed by a slot of the other buffer half, which is
    poisoned while the tile runs; with a large L1 the next byte may be this tile's own output slot.)"""
    model, ins, outs = _case(conformance, "Kernels/Integer/Add/Regular_RQ")
    good = compile(model, ins, options={"sanitize": True, "l1": l1})
    np.testing.assert_array_equal(good.run(ins)[0], outs[0])
    with pytest.raises(RunError, match="AddressSanitizer|use-after-poison"):
        _tampered(good, "_run(in0 + i,", "_run(in0 + i + 1,").run(ins)


def test_inputs_outside_the_compiled_range_are_refused(conformance: Path) -> None:
    model, ins, _ = _case(conformance, "Kernels/Integer/Add/Regular_RQ")
    m = compile(model, ins)
    with pytest.raises(RunError, match="compiled as int8"):
        m.run([np.full(ins[0].shape, 200), ins[1]])
    with pytest.raises(RunError, match="takes 2 inputs"):
        m.run([ins[0]])


def test_saved_project_builds_with_make_and_reproduces_outputs(tmp_path: Path, conformance: Path) -> None:
    if shutil.which("make") is None:
        pytest.fail("make is required (installed by scripts/bootstrap.sh)")
    model, ins, outs = _case(conformance, "Models/miniMobileNet")
    m = compile(model, ins)
    proj = m.save(tmp_path / "kws")
    p = subprocess.run(["make", "-C", str(proj), "check"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Errors: 0 out of" in p.stdout
    out = np.fromfile(proj / "outputs.bin", dtype=m.outputs[0].dtype).reshape(m.outputs[0].shape)
    np.testing.assert_array_equal(out, outs[0].reshape(out.shape))
    again = load(proj)
    np.testing.assert_array_equal(again.run(ins)[0], out)


def test_save_refuses_to_overwrite_a_foreign_directory(tmp_path: Path, conformance: Path) -> None:
    model, ins, _ = _case(conformance, "Kernels/Integer/Add/Regular")
    (tmp_path / "keep.txt").write_text("mine")
    from torch_deeploy.errors import DeeployError

    with pytest.raises(DeeployError, match="not a torch-deeploy project"):
        compile(model, ins).save(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"
