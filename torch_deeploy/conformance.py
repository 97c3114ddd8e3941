"""`torch-deeploy conformance`: run every network.onnx below some folders and compare with its goldens."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from torch_deeploy.errors import DeeployError

FLOAT_TOLERANCE = 1e-4  # OPERATORS.md: float outputs within 1e-4 absolute, integer outputs exact


@dataclass
class Case:
    name: str
    model: Path
    inputs: list[np.ndarray]
    outputs: list[np.ndarray]
    activations: dict[str, np.ndarray] | None


@dataclass
class Result:
    name: str
    passed: bool
    reason: str
    seconds: float


def find_networks(dirs: Sequence[str | Path]) -> list[tuple[Path, Path]]:
    """(root, network folder) pairs, sorted; a DIR that is itself a network folder counts."""
    found: list[tuple[Path, Path]] = []
    for d in dirs:
        root = Path(d)
        if not root.exists():
            raise DeeployError(f"{root}: no such directory")
        nets = sorted(p.parent for p in root.rglob("network.onnx"))
        if not nets:
            raise DeeployError(f"{root}: no network.onnx found below it")
        found.extend((root, n) for n in nets)
    return found


def load_case(root: Path, folder: Path) -> Case:
    name = str(folder.relative_to(root)) if folder != root else folder.name
    for f in ("inputs.npz", "outputs.npz"):
        if not (folder / f).exists():
            raise DeeployError(f"{folder}: {f} is missing")
    with np.load(folder / "inputs.npz") as z:
        inputs = [z[k] for k in z.files]
    with np.load(folder / "outputs.npz") as z:
        outputs = [z[k] for k in z.files]
    acts = None
    if (folder / "activations.npz").exists():
        with np.load(folder / "activations.npz") as z:
            acts = {k: z[k] for k in z.files}
    return Case(name, folder / "network.onnx", inputs, outputs, acts)


def compare(got: Sequence[np.ndarray], want: Sequence[np.ndarray], float_outputs: Sequence[bool]) -> str | None:
    """None when outputs match (OPERATORS.md comparison rule), else a one-line description."""
    if len(got) != len(want):
        return f"{len(got)} outputs, golden has {len(want)}"
    for i, (g, w, is_float) in enumerate(zip(got, want, float_outputs, strict=True)):
        g = np.asarray(g)
        w = np.asarray(w)
        if g.size != w.size or (g.shape != w.shape and g.size and g.reshape(w.shape).shape != w.shape):
            return f"output {i}: shape {list(g.shape)}, golden {list(w.shape)}"
        g = g.reshape(w.shape).astype(np.float64)
        w = w.astype(np.float64)
        if not g.size:
            continue
        diff = np.abs(g - w)
        bad = diff > FLOAT_TOLERANCE if is_float else diff != 0
        if bad.any():
            k = int(bad.sum())
            idx = np.unravel_index(int(np.argmax(bad)), w.shape)
            return (f"output {i}: {k} of {w.size} values differ (max |diff| {diff.max():g}; "
                    f"first at {list(map(int, idx))}: got {g[idx]:g}, golden {w[idx]:g})")
    return None


def first_divergent_node(case: Case) -> str | None:
    """Name the first node whose output matches none of the stored intermediate activations.

    activations.npz is keyed by PyTorch module names, so tensors are matched by shape and value.
    """
    if not case.activations:
        return None
    from torch_deeploy.frontend.onnx import import_onnx
    from torch_deeploy.runners.reference import run_reference

    g = import_onnx(case.model, case.inputs)
    env = run_reference(g, case.inputs, keep_all=True, check_ranges=False)
    acts = [np.asarray(a) for a in case.activations.values()]
    unmatched = [a for a in acts if not any(
        env[o].shape == a.shape and np.array_equal(env[o], a) for n in g.nodes for o in n.outputs)]
    if not unmatched:
        return None
    shapes = {a.shape for a in unmatched}
    for n in g.nodes:
        for o in n.outputs:
            if env[o].shape in shapes and not any(np.array_equal(env[o], a) for a in acts):
                return f"{n.name} ({n.op})"
    return None


def run_case(case: Case, execute: Callable[[Case], tuple[list[np.ndarray], list[bool]]]) -> Result:
    t0 = time.perf_counter()
    try:
        got, float_outputs = execute(case)
        reason = compare(got, case.outputs, float_outputs)
        if reason is not None:
            culprit = first_divergent_node(case)
            if culprit:
                reason += f"; first diverging node: {culprit}"
    except DeeployError as e:
        reason = f"{type(e).__name__}: {e}"
    except Exception as e:  # a compiler bug must not stop the run; it is reported as such
        reason = f"internal error {type(e).__name__}: {e}"
    return Result(case.name, reason is None, reason or "", time.perf_counter() - t0)


def reference_executor(options: dict[str, Any]) -> Callable[[Case], tuple[list[np.ndarray], list[bool]]]:
    from torch_deeploy.frontend.onnx import import_onnx
    from torch_deeploy.runners.reference import run_reference

    def execute(case: Case) -> tuple[list[np.ndarray], list[bool]]:
        g = import_onnx(case.model, case.inputs)
        outs = run_reference(g, case.inputs)
        return list(outs), [g.tensors[o].type.is_float for o in g.outputs]

    return execute


def compiled_executor(runner: str, options: dict[str, Any]) -> Callable[[Case], tuple[list[np.ndarray], list[bool]]]:
    from torch_deeploy.api import compile as compile_model

    def execute(case: Case) -> tuple[list[np.ndarray], list[bool]]:
        deployed = compile_model(case.model, case.inputs, runner=runner, options=options)
        outs = deployed.run(case.inputs[: len(deployed.inputs)])
        return outs, [o.type.is_float for o in deployed.outputs]

    return execute


def run_conformance(dirs: Sequence[str | Path], runner: str = "reference", options: dict[str, Any] | None = None,
                    emit: Callable[[str], None] = print) -> tuple[int, int]:
    options = dict(options or {})
    execute = reference_executor(options) if runner == "reference" else compiled_executor(runner, options)
    passed = failed = 0
    t0 = time.perf_counter()
    for root, folder in find_networks(dirs):
        try:
            case = load_case(root, folder)
        except (DeeployError, OSError, ValueError) as e:
            emit(f"FAIL {folder}: {e}")
            failed += 1
            continue
        r = run_case(case, execute)
        if r.passed:
            passed += 1
            emit(f"PASS {r.name} ({r.seconds:.2f} s)")
        else:
            failed += 1
            emit(f"FAIL {r.name} ({r.seconds:.2f} s): {r.reason}")
    emit(f"runner {runner}: {passed + failed} networks in {time.perf_counter() - t0:.1f} s")
    emit(f"{passed} passed, {failed} failed")
    return passed, failed
