"""The compile report: per layer and in total, bytes of weights, activations and peak live memory."""

from __future__ import annotations

from typing import Any

from torch_deeploy.backend.cgen import CProgram
from torch_deeploy.backend.memory import MemoryPlan
from torch_deeploy.ir.graph import Graph
from torch_deeploy.target import Target


def live_bytes_per_step(g: Graph, plan: MemoryPlan) -> list[int]:
    steps = len(g.nodes)
    live = [0] * max(steps, 1)
    for b in plan.buffers.values():
        for s in range(max(b.first, 0), min(b.last, steps - 1) + 1):
            live[s] += b.size
    return live


def build_report(g: Graph, plan: MemoryPlan, prog: CProgram, target: Target, *, runner: str,
                 compile_seconds: float, stage_seconds: dict[str, float]) -> dict[str, Any]:
    live = live_bytes_per_step(g, plan)
    rendered = {k.index: k for k in prog.kernels}
    layers = []
    for idx, n in enumerate(g.nodes):
        weights = sum(g.tensors[i].type.nbytes for i in n.inputs if i and g.tensors[i].is_constant)
        acts = sum(g.tensors[i].type.nbytes for i in n.inputs if i and not g.tensors[i].is_constant)
        acts += sum(g.tensors[o].type.nbytes for o in n.outputs)
        layers.append({
            "index": idx, "name": n.name, "op": n.op, "engine": n.engine or "cluster",
            "kernel": rendered[idx].fn if idx in rendered else None,
            "output_shape": list(g.tensors[n.outputs[0]].type.shape),
            "output_dtype": str(g.tensors[n.outputs[0]].type.dtype),
            "weight_bytes": weights, "activation_bytes": acts, "live_bytes": live[idx] if idx < len(live) else 0,
        })
    l2 = target.memory("L2")
    c_lines = sum(text.count("\n") for text in prog.files.values())
    return {
        "network": g.name,
        "target": target.name,
        "runner": runner,
        "compile_seconds": compile_seconds,
        "stage_seconds": stage_seconds,
        "layers": layers,
        "memory": {"L2": {"budget": l2.usable, "arena": prog.arena_bytes, "constants": prog.const_bytes,
                          "used": prog.arena_bytes + prog.const_bytes}},
        "totals": {
            "layers": len(g.nodes),
            "weight_bytes": prog.const_bytes,
            "activation_bytes": prog.arena_bytes,
            "peak_bytes": prog.arena_bytes + prog.const_bytes,
            "peak_live_activation_bytes": max(live, default=0),
            "c_lines": c_lines,
        },
    }
