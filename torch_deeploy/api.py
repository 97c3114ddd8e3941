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
from torch_deeploy.backend.report import attach_perf, build_report
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
KNOWN_OPTIONS = {"l1", "l2", "sanitize", "num_cores", "engines", "tiling", "double_buffer", "residency",
                 "time_limit", "neureka", "weight_memory"}
STATIC_FILES = {  # project path -> template dir path (copied verbatim)
    "include/deeploy_hal.h": "hal/deeploy_hal.h",
    "include/deeploy_simd.h": "hal/deeploy_simd.h",
    "src/hal_host.c": "hal/hal_host.c",
    "src/main_host.c": "harness/main_host.c",
    "include/tile_runtime.h": "hal/tile_runtime.h",
    "src/tile_runtime.c": "hal/tile_runtime.c",
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
                 graph: Graph | None = None, examples: list[np.ndarray] | None = None,
                 output_dtypes: list[str] | None = None):
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
        # torch dtype names of the outputs of the torch model compiled (a drop-in replacement returns the same)
        self.output_dtypes = output_dtypes
        self._executable: Path | None = None
        self.last_perf: dict[str, Any] | None = None
        # (quantize_inputs, dequantize_outputs) of a torch_deeploy.quant.QuantizedModel: __call__ is then float in /
        # float out like the model, run() stays integer (the C program's own inputs and outputs)
        self.edges: tuple[Any, Any] | None = None

    @property
    def c_sources(self) -> dict[str, str]:
        return dict(self._sources)

    def build(self) -> Path:
        if self._executable is None or not self._executable.exists():
            b = _runner(self.runner).build(self._sources, num_cores=self.num_cores, sanitize=self.sanitize)
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
        outs, perf = _runner(self.runner).run(self.build(), arrays,
                              [(dtypes.by_name(s.dtype).np_dtype, s.shape) for s in self.outputs])
        self.last_perf = perf
        attach_perf(self.report, perf)
        return outs

    def session(self) -> Session:
        """A persistent run of the program (host runner): buffers keep their contents between steps, so state
        written in place (e.g. a KV cache through KVCacheWrite) stays in the program's memory; each step
        sends only the inputs that change."""
        if self.runner != "host":
            raise RunError(f"sessions need the host runner (this model uses '{self.runner}')")
        return Session(self)

    def __call__(self, *inputs: Any) -> Any:
        if self.edges is not None:
            import torch

            outs = _to_torch(self.run(self.edges[0](*[torch.as_tensor(a) for a in inputs])), self.output_dtypes)
            return self.edges[1](*outs)
        outs = self.run(inputs)
        if inputs and type(inputs[0]).__module__.startswith("torch"):
            outs = _to_torch(outs, self.output_dtypes)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def to_onnx(self, path: str | os.PathLike) -> Path:
        """Write the compiled IR graph as ONNX (QuantLib dialect, integer ops in the 'deeploy' domain)."""
        if self.graph is None:
            raise DeeployError(f"'{self.name}' was loaded from a saved project and has no graph; its model.onnx "
                               "is in the project directory")
        from torch_deeploy.frontend.onnx_writer import save_onnx

        save_onnx(self.graph, path)
        return Path(path)

    def explain(self) -> str:
        """The engine mapping (node, op, engine, reason) and the compiled layers with their engines."""
        from torch_deeploy.engines import format_table

        mapping = self.report.get("engine_mapping")
        head = ["engine mapping:", format_table(mapping), "", "compiled layers:"] if mapping else []
        rows = head + [f"{'#':>4}  {'node':40} {'op':16} engine"]
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
            from torch_deeploy.backend.plot import plot_memory

            plot_memory(self.report, tmp / "memory_layout.png")  # skipped without matplotlib
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


def _runner(name: str) -> Any:
    """The runner module for a runner name: build(sources, num_cores=, sanitize=) -> a build with .executable
    (a path, .cached, .seconds); run(executable, inputs, output_types) -> (outputs, perf)."""
    if name == "host":
        return host
    if name == "gvsoc":
        from torch_deeploy.runners import gvsoc

        return gvsoc
    raise RunError(f"unknown runner '{name}' (known: {', '.join(RUNNERS)})")


class Session:
    """Steps of one persistent program run; use as a context manager (see DeployedModel.session)."""

    def __init__(self, model: DeployedModel):
        self.model = model
        self._s = host.HostSession(model.build(), [dtypes.by_name(s.dtype).np_dtype.itemsize * _numel(s.shape)
                                                   for s in model.inputs],
                                   [(dtypes.by_name(s.dtype).np_dtype, s.shape) for s in model.outputs])
        self.last_ns = 0

    def step(self, inputs: Sequence[Any], outputs: Sequence[bool] | None = None) -> list[np.ndarray | None]:
        """Run once. inputs in graph order, None for "keep what the buffer holds" (the first step must give
        all); outputs: which outputs to read back (default all)."""
        if len(inputs) != len(self.model.inputs):
            raise RunError(f"'{self.model.name}' takes {len(self.model.inputs)} inputs, got {len(inputs)}")
        arrays = [None if v is None else coerce_input(s.name, s.type, _to_numpy(v)).astype(
            dtypes.by_name(s.dtype).np_dtype) for s, v in zip(self.model.inputs, inputs, strict=True)]
        want = [True] * len(self.model.outputs) if outputs is None else list(outputs)
        outs, self.last_ns = self._s.step(arrays, want)
        return outs

    def close(self) -> None:
        self._s.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _write_bin(path: Path, arrays: Sequence[np.ndarray]) -> None:
    with open(path, "wb") as f:
        for a in arrays:
            f.write(np.ascontiguousarray(a).tobytes())


def _to_torch(outs: Sequence[np.ndarray], dtype_names: Sequence[str] | None) -> list[Any]:
    """numpy outputs as torch tensors, in the torch model's output dtypes when known."""
    import torch

    res = [torch.from_numpy(np.ascontiguousarray(o)) for o in outs]
    if dtype_names is not None:
        res = [r.to(getattr(torch, d)) for r, d in zip(res, dtype_names, strict=True)]
    return res


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


def _import(model: Any, example_inputs: Sequence[Any] | None,
            input_ranges: Sequence[tuple[int, int]] | None = None) -> tuple[Graph, list[str] | None]:
    """The IR graph of a model, and the torch dtypes of its outputs for torch models (else None)."""
    examples = None if example_inputs is None else [_to_numpy(a) for a in example_inputs]
    if isinstance(model, Graph):
        return model, None
    if isinstance(model, str | os.PathLike | bytes) or type(model).__name__ == "ModelProto":
        from torch_deeploy.frontend.onnx import import_onnx

        return import_onnx(model, examples), None
    kind = type(model).__name__
    if kind == "ExportedProgram" or _is_torch_module(model):
        from torch_deeploy.frontend import fx

        if kind != "ExportedProgram":
            if example_inputs is None:
                raise DeeployError("compiling a torch model needs example inputs: compile(model, (x,))")
            model = fx.export(model, list(example_inputs))
        types = None
        if input_ranges is not None:  # integer cores of quantized models: the full quantization range per input
            types = [TensorType(tuple(np.shape(_to_numpy(a))), dtypes.for_range(lo, hi), (lo, hi))
                     for a, (lo, hi) in zip(example_inputs or (), input_ranges, strict=True)]
        imp = fx.import_exported(model, example_inputs, name=kind if kind != "ExportedProgram" else None,
                                 input_types=types)
        return imp.graph, [str(d).removeprefix("torch.") for d in imp.output_dtypes]
    raise DeeployError(f"cannot compile a {kind}: pass a torch.nn.Module, a torch.export ExportedProgram, "
                       "an ONNX model (path or ModelProto) or an IR Graph")


def _is_torch_module(model: Any) -> bool:
    return any(c.__module__ == "torch.nn.modules.module" and c.__name__ == "Module" for c in type(model).__mro__)


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
    edges, input_ranges = None, None
    if hasattr(model, "deeploy_edges"):  # torch_deeploy.quant.QuantizedModel: deploy its integer core
        model, quantize_inputs, dequantize_outputs, input_ranges = model.deeploy_edges()
        if example_inputs is not None:
            example_inputs = quantize_inputs(*example_inputs)
        edges = (quantize_inputs, dequantize_outputs)
    tgt = resolve(target, options)
    num_cores = int(options.get("num_cores", tgt.cores))
    with _progress(progress, 6) as step:
        s = time.perf_counter()
        step("import")
        g, out_dtypes = _import(model, example_inputs, input_ranges)
        examples = None if example_inputs is None else [_to_numpy(a) for a in list(example_inputs)[: len(g.inputs)]]
        stages["import"] = time.perf_counter() - s
        s = time.perf_counter()
        step("lowering passes")
        from torch_deeploy.engines import map_engines

        # Engines first: N-EUREKA lowers the nodes it takes (with their requantization); the cluster's
        # lowering passes then rewrite what is left (e.g. constant MatMul weights stored transposed).
        g, engine_rows = map_engines(g, tgt, options, runner)
        g = run_passes(g)
        stages["passes"] = time.perf_counter() - s
        s = time.perf_counter()
        step("tiling and memory plan")
        tiling = bool(options.get("tiling", True))
        plan = None
        if tiling:
            from torch_deeploy.midend.plan import plan_network

            plan = plan_network(g, tgt, double_buffer=bool(options.get("double_buffer", True)),
                                residency=bool(options.get("residency", True)),
                                time_limit=float(options.get("time_limit", 60.0)), step=step,
                                weight_memory=bool(options.get("weight_memory", True)))
        else:
            flat = plan_memory(g)
        stages["plan"] = time.perf_counter() - s
        s = time.perf_counter()
        step("C generation")
        if plan is not None:
            from torch_deeploy.backend.tiled import generate_tiled

            prog = generate_tiled(g, plan, num_cores=num_cores,
                                  table_slot_cap=int(tgt.raw.get("runtime", {}).get("table_slot_bytes", 0)))
        else:
            prog = generate(g, flat, num_cores=num_cores)
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
        report = build_report(g, plan if plan is not None else flat, prog, tgt, runner=runner, compile_seconds=0.0,
                              stage_seconds=stages)
        report["engine_mapping"] = engine_rows
        if plan is not None and plan.wmem:
            report["memory"]["weight_memory"] = {
                "budget": plan.wmem_budget, "used": sum(g.tensors[t].type.nbytes for t in plan.wmem),
                "tensors": len(plan.wmem)}
        deployed = DeployedModel(name=g.name, inputs=[IOSpec.of(g, n) for n in g.inputs],
                                 outputs=[IOSpec.of(g, n) for n in g.outputs], sources=sources, report=report,
                                 runner=runner, num_cores=num_cores, sanitize=bool(options.get("sanitize")),
                                 graph=g, examples=examples, output_dtypes=out_dtypes)
        deployed.edges = edges
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
