"""The compile report: per layer and in total, memory per level, tiles, DMA traffic and timings."""

from __future__ import annotations

from typing import Any

from torch_deeploy.backend.cgen import CProgram
from torch_deeploy.backend.memory import MemoryPlan, align
from torch_deeploy.ir.graph import Graph
from torch_deeploy.target import Target


def live_bytes_per_step(g: Graph, plan: MemoryPlan) -> list[int]:
    steps = len(g.nodes)
    live = [0] * max(steps, 1)
    for b in plan.buffers.values():
        for s in range(max(b.first, 0), min(b.last, steps - 1) + 1):
            live[s] += b.size
    return live


def _layer_common(g: Graph, idx: int) -> dict[str, Any]:
    n = g.nodes[idx]
    weights = sum(g.tensors[i].type.nbytes for i in n.inputs if i and g.tensors[i].is_constant)
    acts = sum(g.tensors[i].type.nbytes for i in n.inputs if i and not g.tensors[i].is_constant)
    acts += sum(g.tensors[o].type.nbytes for o in n.outputs)
    return {"index": idx, "name": n.name, "op": n.op, "engine": n.engine or "cluster",
            "output_shape": list(g.tensors[n.outputs[0]].type.shape),
            "output_dtype": str(g.tensors[n.outputs[0]].type.dtype), "weight_bytes": weights,
            "activation_bytes": acts, "macs": layer_macs(g, idx)}


def layer_macs(g: Graph, idx: int) -> int:
    """Multiply-accumulates of a Conv, MatMul or Gemm layer, fused forms included (0 for other operators)."""
    from torch_deeploy.engines.cluster import LINEAR_OPS, linear_macs

    n = g.nodes[idx]
    return linear_macs(g, n) if n.op in LINEAR_OPS else 0


def attach_perf(report: dict[str, Any], perf: dict[str, Any]) -> None:
    """Record measured cycles of a run in the report: per layer (tiled layers and direct ones, in order: views
    have none), with MACs/cycle for linear layers, and in total."""
    rows = [r for r in report.get("layers", []) if (r.get("kernel", "") is not None and r.get("tiles", 1) != 0)
            or str(r.get("note", "")).startswith("direct:")]
    cycles = list(perf.get("layers", []))
    if len(rows) != len(cycles):
        rows = [r for r in report.get("layers", []) if r.get("note") is None]
    kernels = list(perf.get("kernels", [])) or [None] * len(cycles)
    meas = {"total_cycles": perf.get("total"), "unit": perf.get("clock", "nanoseconds (host)"),
            "dma_to_l1_bytes": perf.get("dma_to_l1"), "dma_to_l2_bytes": perf.get("dma_to_l2"),
            "dma_table_bytes": perf.get("dma_tables")}
    if len(rows) == len(cycles) == len(kernels):
        for r, c, kc in zip(rows, cycles, kernels, strict=True):
            r["cycles"] = c
            if kc is not None:
                r["kernel_cycles"] = kc  # inside the kernels (fork to join); the rest is DMA and tile loop
            if r.get("macs"):
                r["macs_per_cycle"] = round(r["macs"] / max(c, 1), 3)
                if kc is not None:
                    r["kernel_macs_per_cycle"] = round(r["macs"] / max(kc, 1), 3)
    report["measured"] = meas


def dma_lower_bound(g: Graph, streamed: frozenset[str] | set[str] = frozenset()) -> int:
    """Bytes every execution must move at least: inputs and constants in once, outputs out once (constants an
    engine streams from its own weight memory, `streamed`, are never moved by the DMA)."""
    used = {i for n in g.nodes for i in n.inputs if i}
    return (sum(g.tensors[t].type.nbytes for t in g.inputs) + sum(g.tensors[t].type.nbytes for t in g.outputs)
            + sum(t.type.nbytes for t in g.constants() if t.name in used and t.name not in streamed))


def build_report(g: Graph, plan: Any, prog: CProgram, target: Target, *, runner: str,
                 compile_seconds: float, stage_seconds: dict[str, float]) -> dict[str, Any]:
    from torch_deeploy.midend.plan import TilingPlan

    c_lines = sum(text.count("\n") for text in prog.files.values())
    l2 = target.memory("L2")
    report: dict[str, Any] = {"network": g.name, "target": target.name, "runner": runner,
                              "compile_seconds": compile_seconds, "stage_seconds": stage_seconds}
    if isinstance(plan, TilingPlan):
        layers = []
        for idx in range(len(g.nodes)):
            row = _layer_common(g, idx)
            lay = plan.layers.get(idx)
            if lay is None and idx in getattr(plan, "direct", []):
                row.update({"kernel": None, "tiles": 0, "note": "direct: one core, run-time addressed on its L2 homes"})
            elif lay is None:
                row.update({"kernel": None, "tiles": 0, "note": "view: shares its input's buffer"})
            else:
                c = lay.cand
                row.update({"tile_shape": list(c.tile), "tiles": c.ntiles, "l1_bytes": plan.l1_peak_at(idx),
                            "l1_working_bytes": lay.work_bytes, "dma_bytes": sum(
                                o.dma_bytes for o in c.operands if o.tensor not in lay.resident),
                            "resident_operands": sorted(lay.resident), "modelled_cycles": round(c.cycles),
                            "double_buffered": plan.double_buffer and c.ntiles > 1})
            layers.append(row)
        dma = sum(r.get("dma_bytes", 0) for r in layers)
        l2_used = plan.l2_arena_bytes + plan.const_bytes + plan.table_bytes
        slots = 2 * getattr(prog, "table_slot_bytes", 0)  # L1 slots for prefetched layer tables
        counters = getattr(prog, "counter_l1_bytes", 0)  # per-layer cycle counters kept in L1
        l1_peak = (align(plan.l1_bytes, 8) + slots + counters) if slots or counters else plan.l1_bytes
        from torch_deeploy.backend.plot import layout_of

        report.update({
            "layers": layers,
            "layout": layout_of(plan),
            "memory": {
                "L1": {"budget": plan.l1_budget, "peak": l1_peak, "table_slots": slots, "cycle_counters": counters,
                       "prefetched_table_layers": sum(1 for lc in getattr(prog, "layers", []) if lc.prefetch),
                       # one-tile layers run from a plan resolved at compile time (kernel args, DMA commands)
                       "single_tile_plans": sum(1 for lc in getattr(prog, "layers", []) if lc.single)},
                "L2": {"budget": l2.usable, "activations": plan.l2_arena_bytes, "constants": plan.const_bytes,
                       "tiling_tables": plan.table_bytes, "used": l2_used},
            },
            "tiling": {"solver": "HiGHS via CVXPY", "status": plan.solution.status,
                       "objective_cycles": round(plan.solution.objective), **plan.stats,
                       "resident_buffers": len(plan.l1_resident), "double_buffer": plan.double_buffer},
            "totals": {"layers": len(g.nodes), "weight_bytes": plan.const_bytes,
                       "activation_bytes": plan.l2_arena_bytes, "peak_l1_bytes": l1_peak,
                       "peak_l2_bytes": l2_used, "peak_bytes": l2_used + l1_peak,
                       "dma_bytes": dma, "dma_lower_bound_bytes": dma_lower_bound(g, set(getattr(plan, "wmem", {}))),
                       "c_lines": c_lines},
        })
        return report
    live = live_bytes_per_step(g, plan)
    rendered = {k.index: k for k in prog.kernels}
    layers = []
    for idx in range(len(g.nodes)):
        row = _layer_common(g, idx)
        row.update({"kernel": rendered[idx].fn if idx in rendered else None,
                    "live_bytes": live[idx] if idx < len(live) else 0})
        layers.append(row)
    report.update({
        "layers": layers,
        "memory": {"L2": {"budget": l2.usable, "arena": prog.arena_bytes, "constants": prog.const_bytes,
                          "used": prog.arena_bytes + prog.const_bytes}},
        "totals": {"layers": len(g.nodes), "weight_bytes": prog.const_bytes, "activation_bytes": prog.arena_bytes,
                   "peak_bytes": prog.arena_bytes + prog.const_bytes,
                   "peak_live_activation_bytes": max(live, default=0), "c_lines": c_lines},
    })
    return report
