"""compile() and DeployedModel: from a model to a C program you can run, inspect and save."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from torch_deeploy.backend.cgen import generate
from torch_deeploy.backend.memory import plan_memory
from torch_deeploy.backend.report import build_report
from torch_deeploy.backend.templates import TEMPLATE_DIR, render
from torch_deeploy.errors import CompileError, DeeployError, RunError
from torch_deeploy.ir import dtypes
from torch_deeploy.ir.graph import Graph, TensorType
from torch_deeploy.passes.pipeline import run_passes
from torch_deeploy.runners import host
from torch_deeploy.runners.reference import coerce_input, run_reference
from torch_deeploy.target import Target, resolve
from torch_deeploy.units import format_size

RUNNERS = ("host", "gvsoc")
KNOWN_OPTIONS = {"l1", "l2", "sanitize", "num_cores", "engines"}
STATIC_FILES = {  # project path -> template dir path (copied verbatim)
    "include/deeploy_hal.h": "hal/deeploy_hal.h",
    "src/hal_host.c": "hal/hal_host.c",
    "src/main_host.c": "harness/main_host.c",
}


@dataclass(frozen=True)
class IOSpec:
    """Name, storage type, shape and value range of a network input or output."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    range: tuple[int, int] | None

    @property
    def type(self) -> TensorType:
        return TensorType(self.shape, dtypes.by_name(self.dtype), self.range)

    @staticmethod
    def of(g: Graph, name: str) -> IOSpec:
        t = g.tensors[name].type
        return IOSpec(name, t.dtype.name, t.shape, t.range)


class DeployedModel:
    """A compiled network: callable on numpy arrays (or torch tensors), with its C sources and report."""

    def __init__(self, *, name: str, inputs: list[IOSpec], outputs: list[IOSpec], sources: dict[str, str],
                 report: dict[str, Any], runner: str, num_cores: int, sanitize: bool = False,
                 graph: Graph | None = None, examples: list[np.ndarray] | None = None):
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self._sources = sources
        self.report = report
        self.runner = runner
        self.num_cores = num_cores
        self.sanitize = sanitize
        self.graph = graph
        self._examples = examples
        self._executable: Path | None = None
        self.last_perf: dict[str, Any] | None = None

    @property
    def c_sources(self) -> dict[str, str]:
        return dict(self._sources)

    def build(self) -> Path:
        if self._executable is None or not self._executable.exists():
            if self.runner != "host":
                raise RunError(f"runner '{self.runner}' is not available in this version; use runner='host'")
            b = host.build(self._sources, num_cores=self.num_cores, sanitize=self.sanitize)
            self._executable = b.executable
            self.report.setdefault("build", {})["seconds"] = b.seconds
            self.report["build"]["cached"] = b.cached
        return self._executable

    def run(self, inputs: Sequence[Any]) -> list[np.ndarray]:
        """Run the C program on inputs (graph order); returns outputs in their storage dtypes."""
        inputs = list(inputs)
        if len(inputs) != len(self.inputs):
            names = ", ".join(s.name for s in self.inputs)
            raise RunError(f"'{self.name}' takes {len(self.inputs)} inputs ({names}), got {len(inputs)}")
        arrays = [coerce_input(s.name, s.type, _to_numpy(v)).astype(dtypes.by_name(s.dtype).np_dtype)
                  for s, v in zip(self.inputs, inputs, strict=True)]
        outs, perf = host.run(self.build(), arrays,
                              [(dtypes.by_name(s.dtype).np_dtype, s.shape) for s in self.outputs])
        self.last_perf = perf
        return outs

    def __call__(self, *inputs: Any) -> Any:
        outs = self.run(inputs)
        if inputs and type(inputs[0]).__module__.startswith("torch"):
            import torch

            outs = [torch.from_numpy(o) for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def explain(self) -> str:
        rows = [f"{'#':>4}  {'node':40} {'op':16} engine"]
        for layer in self.report["layers"]:
            rows.append(f"{layer['index']:>4}  {layer['name'][:40]:40} {layer['op']:16} {layer['engine']}")
        return "\n".join(rows)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write a self-contained C project (Makefile, sources, report.json, model.onnx) atomically."""
        dest = Path(directory)
        if dest.exists() and any(dest.iterdir()) and not (dest / "project.json").exists():
            raise DeeployError(f"{dest} exists and is not a torch-deeploy project: choose an empty or new directory")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            for rel, text in self._sources.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp / rel).write_text(text)
            (tmp / "Makefile").write_text(render("Makefile.j2", num_cores=self.num_cores,
                                                 has_example=self._examples is not None))
            meta = {"name": self.name, "runner": self.runner, "num_cores": self.num_cores,
                    "inputs": [asdict(s) for s in self.inputs], "outputs": [asdict(s) for s in self.outputs]}
            (tmp / "project.json").write_text(json.dumps(meta, indent=1))
            (tmp / "report.json").write_text(json.dumps(self.report, indent=1, default=str))
            if self.graph is not None:
                from torch_deeploy.frontend.onnx_writer import save_onnx

                save_onnx(self.graph, tmp / "model.onnx")
                if self._examples is not None:
                    ins = [coerce_input(s.name, s.type, a).astype(dtypes.by_name(s.dtype).np_dtype)
                           for s, a in zip(self.inputs, self._examples, strict=True)]
                    expected = run_reference(self.graph, self._examples)
                    _write_bin(tmp / "example_inputs.bin", ins)
                    _write_bin(tmp / "expected_outputs.bin", expected)  # type: ignore[arg-type]
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return dest


def _write_bin(path: Path, arrays: Sequence[np.ndarray]) -> None:
    with open(path, "wb") as f:
        for a in arrays:
            f.write(np.ascontiguousarray(a).tobytes())


def _to_numpy(v: Any) -> np.ndarray:
    if type(v).__module__.startswith("torch"):
        return v.detach().cpu().numpy()
    return np.asarray(v)


@contextmanager
def _progress(enabled: bool, total: int):
    """A compile-time progress display on stderr (rich); a no-op when disabled or not a terminal."""
    if not enabled:
        yield lambda _label: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]compile[/] {task.description}"), BarColumn(), TimeElapsedColumn(),
                  transient=True) as prog:
        task = prog.add_task("", total=total)

        def step(label: str) -> None:
            prog.update(task, description=label, advance=1)

        yield step


def _import(model: Any, example_inputs: Sequence[Any] | None) -> Graph:
    examples = None if example_inputs is None else [_to_numpy(a) for a in example_inputs]
    if isinstance(model, Graph):
        return model
    if isinstance(model, str | os.PathLike | bytes) or type(model).__name__ == "ModelProto":
        from torch_deeploy.frontend.onnx import import_onnx

        return import_onnx(model, examples)
    raise DeeployError(f"cannot compile a {type(model).__name__}: pass an ONNX model (path or ModelProto) "
                       "or an IR Graph")


def compile(model: Any, example_inputs: Sequence[Any] | None = None, *, target: str | Target = "siracusa",
            runner: str = "host", options: dict[str, Any] | None = None, progress: bool = False) -> DeployedModel:
    """Compile a model for a target; returns a DeployedModel that runs the generated C."""
    options = dict(options or {})
    unknown = set(options) - KNOWN_OPTIONS
    if unknown:
        known = ", ".join(sorted(KNOWN_OPTIONS))
        raise DeeployError(f"unknown option(s) {', '.join(sorted(unknown))} (known: {known})")
    if runner not in RUNNERS:
        raise DeeployError(f"unknown runner '{runner}' (known: {', '.join(RUNNERS)})")
    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    tgt = resolve(target, options)
    num_cores = int(options.get("num_cores", tgt.cores))
    with _progress(progress, 5) as step:
        s = time.perf_counter()
        step("import")
        g = _import(model, example_inputs)
        examples = None if example_inputs is None else [_to_numpy(a) for a in list(example_inputs)[: len(g.inputs)]]
        stages["import"] = time.perf_counter() - s
        s = time.perf_counter()
        step("lowering passes")
        g = run_passes(g)
        stages["passes"] = time.perf_counter() - s
        s = time.perf_counter()
        step("memory plan")
        plan = plan_memory(g)
        stages["plan"] = time.perf_counter() - s
        s = time.perf_counter()
        step("C generation")
        prog = generate(g, plan, num_cores=num_cores)
        l2 = tgt.memory("L2")
        if prog.arena_bytes + prog.const_bytes > l2.usable:
            raise CompileError(
                f"'{g.name}' needs {format_size(prog.arena_bytes + prog.const_bytes)} of L2 "
                f"({format_size(prog.const_bytes)} constants + {format_size(prog.arena_bytes)} activations), "
                f"the target has {format_size(l2.usable)} usable: reduce the model or its activation sizes")
        sources = dict(prog.files)
        for rel, src in STATIC_FILES.items():
            sources[rel] = (TEMPLATE_DIR / src).read_text()
        stages["codegen"] = time.perf_counter() - s
        report = build_report(g, plan, prog, tgt, runner=runner, compile_seconds=0.0, stage_seconds=stages)
        deployed = DeployedModel(name=g.name, inputs=[IOSpec.of(g, n) for n in g.inputs],
                                 outputs=[IOSpec.of(g, n) for n in g.outputs], sources=sources, report=report,
                                 runner=runner, num_cores=num_cores, sanitize=bool(options.get("sanitize")),
                                 graph=g, examples=examples)
        s = time.perf_counter()
        step("C build")
        deployed.build()
        stages["build"] = time.perf_counter() - s
    report["compile_seconds"] = time.perf_counter() - t0
    return deployed


def load(directory: str | os.PathLike, runner: str | None = None) -> DeployedModel:
    """Re-open a project written by DeployedModel.save()."""
    d = Path(directory)
    meta_path = d / "project.json"
    if not meta_path.exists():
        raise DeeployError(f"{d} is not a torch-deeploy project (no project.json); create one with "
                           "'torch-deeploy compile MODEL -o DIR'")
    meta = json.loads(meta_path.read_text())
    sources = {str(p.relative_to(d)): p.read_text() for p in sorted(d.rglob("*")) if p.suffix in (".c", ".h")}

    def spec(x: dict[str, Any]) -> IOSpec:
        return IOSpec(x["name"], x["dtype"], tuple(x["shape"]), tuple(x["range"]) if x["range"] else None)

    report = json.loads((d / "report.json").read_text()) if (d / "report.json").exists() else {}
    return DeployedModel(name=meta["name"], inputs=[spec(x) for x in meta["inputs"]],
                         outputs=[spec(x) for x in meta["outputs"]], sources=sources, report=report,
                         runner=runner or meta["runner"], num_cores=meta["num_cores"])
