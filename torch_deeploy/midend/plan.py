"""From a graph and a target to a checked tiling and memory plan (builds and solves the ILP)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from torch_deeploy.backend.memory import align, buffer_lifetimes, check_inplace, is_view
from torch_deeploy.errors import CompileError
from torch_deeploy.ir.graph import Graph, Node, Role
from torch_deeploy.midend.candidates import Candidate, CostModel, candidates, smallest_footprint
from torch_deeploy.midend.ilp import BufferInfo, Problem, Solution, solve
from torch_deeploy.ops import registry
from torch_deeploy.target import Target
from torch_deeploy.units import format_size

COPY_DESC_BYTES = 36  # hal_copy_t: 3 outer (count, stride) levels + rows, row_bytes, stride (uint32 each)
OPERAND_BYTES = 16  # tile_operand_t on the 32-bit target
LAYER_BYTES = 48  # tile_layer_t (the header of a layer's table block) on the 32-bit target
SINGLE_DMA_EXTRA = 2  # DMA commands beyond one per operand a single-tile plan may have (more: the tile loop runs)
DMA_CMD_BYTES = 20  # tile_dma_t on the 32-bit target


def layer_table_bytes(n_ops: int, n_variants: int, n_tiles: int) -> int:
    """Bytes of one layer's table block on the 32-bit target (tile_runtime.h): header, operands, one task
    pointer and n_ops copy descriptors per variant, per tile the variant plus n_ops box offsets, and for a
    single tile its resolved plan (at most: n_ops kernel arguments, n_ops + SINGLE_DMA_EXTRA DMA commands)."""
    single = n_ops * (4 + DMA_CMD_BYTES) + SINGLE_DMA_EXTRA * DMA_CMD_BYTES if n_tiles == 1 else 0
    return (LAYER_BYTES + n_ops * OPERAND_BYTES + n_variants * (4 + n_ops * COPY_DESC_BYTES)
            + n_tiles * (1 + n_ops) * 4 + single)


def table_bytes(c: Candidate) -> int:
    """L2 bytes of the tiling tables the backend emits for candidate c (counted in the L2 budget)."""
    return layer_table_bytes(len(c.operands), len(c.classes), c.ntiles)


@dataclass
class LayerPlan:
    step: int
    node: Node
    cand: Candidate
    slots: dict[str, int]  # operand tensor -> L1 offset of its first slot (working area)
    resident: dict[str, int]  # operand tensor -> L1 offset of the resident buffer holding it
    work_bytes: int


@dataclass
class TilingPlan:
    layers: dict[int, LayerPlan]
    owner: dict[str, str]
    buffers: dict[str, BufferInfo]
    l1_resident: dict[str, int]
    l2_offset: dict[str, int]  # buffer -> absolute offset in the L2 activation arena
    l2_arena_bytes: int
    l1_bytes: int  # peak L1 use over the whole run
    l1_budget: int
    l2_budget: int
    const_bytes: int
    table_bytes: int
    solution: Solution
    double_buffer: bool
    stats: dict[str, float] = field(default_factory=dict)
    wmem: dict[str, int] = field(default_factory=dict)  # constant -> offset in the weight memory blob
    wmem_budget: int = 0
    direct: list[int] = field(default_factory=list)  # steps of direct nodes (run on their L2 homes)

    def l1_peak_at(self, step: int) -> int:
        lay = self.layers.get(step)
        top = lay.work_bytes if lay else 0
        for b, off in self.l1_resident.items():
            info = self.buffers[b]
            if info.first <= step <= info.last:
                top = max(top, off + info.size)
        return top


def kernel_steps(g: Graph, owner: dict[str, str]) -> list[int]:
    """Nodes that run a tiled kernel (views that share their input's buffer do not, nor direct nodes)."""
    out = []
    for i, n in enumerate(g.nodes):
        if len(n.inputs) >= 1 and len(n.outputs) == 1 and n.inputs[0] and is_view(g, n.op, n.inputs[0], n.outputs[0]) \
                and owner[n.outputs[0]] == owner[n.inputs[0]]:
            continue
        if is_direct(n):
            continue
        out.append(i)
    return out


def is_direct(n: Node) -> bool:
    """Nodes run on one core straight on their tensors' L2 homes (run-time addressing, e.g. KVCacheWrite)."""
    spec = registry.OPS.get(n.op)
    return bool(spec is not None and spec.extras.get("direct"))


def weight_memory_placement(g: Graph, target: Target) -> tuple[dict[str, int], int]:
    """Engine weights kept whole in the engine's weight memory (no L1 slot, no DMA), in network order
    while they fit its usable size (as Deeploy does: first come, first placed). Returns
    ({constant: offset}, budget); ({}, 0) when the target has no such memory."""
    from torch_deeploy.ops import registry

    placed: dict[str, int] = {}
    budget = 0
    top = 0
    for n in g.nodes:
        spec = registry.OPS.get(n.op)
        engine = spec.extras.get("engine") if spec is not None else None
        if engine is None or "weight_operand" not in spec.extras:
            continue
        level = target.raw.get("engines", {}).get(engine, {}).get("weight_memory")
        if not level or level not in target.memories:
            continue
        budget = target.memory(level).usable
        w = n.inputs[spec.extras["weight_operand"]]
        t = g.tensors[w]
        if not t.is_constant or w in placed:
            continue
        size = align(t.type.nbytes)
        if top + size <= budget:
            placed[w] = top
            top += size
    return placed, budget


def plan_network(g: Graph, target: Target, *, double_buffer: bool = True, residency: bool = True,
                 time_limit: float = 60.0, step: Callable[[str], None] | None = None,
                 weight_memory: bool = True) -> TilingPlan:
    t0 = time.perf_counter()
    model = CostModel.of(target)
    l1_budget = target.memory("L1").usable
    check_inplace(g)
    owner, bufs = buffer_lifetimes(g)
    steps = kernel_steps(g, owner)
    direct = [i for i, n in enumerate(g.nodes) if is_direct(n)]
    wmem, wmem_budget = weight_memory_placement(g, target) if weight_memory else ({}, 0)
    in_place = frozenset(wmem)
    cands: dict[int, list[Candidate]] = {}
    for s in steps:
        node = g.nodes[s]
        cs = candidates(g, node, model, double_buffer=double_buffer, l1_budget=l1_budget, in_place=in_place)
        if not cs:
            raise _infeasible(g, node, model, l1_budget, double_buffer, in_place)
        cands[s] = cs
    enum_s = time.perf_counter() - t0
    if step:
        step("tiling ILP")

    io_names = {owner[t] for t in g.inputs} | {owner[t] for t in g.outputs}
    # Tensors of direct nodes are addressed in L2 at run time: they stay in L2 for the whole run.
    io_names |= {owner[t] for i in direct for t in (*g.nodes[i].inputs, *g.nodes[i].outputs) if t in owner}
    infos: dict[str, BufferInfo] = {}
    members: dict[str, list[str]] = {}
    for t, o in owner.items():
        members.setdefault(o, []).append(t)
    touching: dict[str, list[int]] = {}
    for s in steps:
        for t in {t for t in (*g.nodes[s].inputs, *g.nodes[s].outputs) if t and t in owner}:
            touching.setdefault(owner[t], []).append(s)
    for name, b in bufs.items():
        infos[name] = BufferInfo(name, b.size, b.first, b.last, name in io_names, touching.get(name, []),
                                 members[name])
    const_bytes = sum(align(t.type.nbytes) for t in g.constants()
                      if t.name not in wmem and any(t.name in n.inputs for n in g.nodes))
    io_bytes = sum(infos[b].size for b in io_names)
    l2_budget = target.memory("L2").usable - const_bytes - io_bytes
    if l2_budget < 0:
        raise CompileError(f"'{g.name}': constants ({format_size(const_bytes)}) and network inputs/outputs "
                           f"({format_size(io_bytes)}) alone exceed the usable L2 of "
                           f"{format_size(target.memory('L2').usable)}: the model does not fit on chip")
    tables = {s: [table_bytes(c) for c in cands[s]] for s in steps}
    problem = Problem(cands, infos, owner, l1_budget, l2_budget, tables)
    sol = solve(problem, time_limit=time_limit, residency=residency)
    if not sol.choice and steps:
        raise CompileError(f"'{g.name}' does not fit: no placement of its activations fits the "
                           f"{format_size(l2_budget)} of L2 left after constants and inputs/outputs "
                           f"(solver status: {sol.status}); raise --l2 or shrink the model")
    plan = _layout(g, target, sol, infos, owner, io_names, steps, l1_budget, l2_budget, const_bytes, double_buffer)
    plan.wmem, plan.wmem_budget = wmem, wmem_budget
    plan.direct = direct
    plan.stats = {"enumerate_seconds": enum_s, "ilp_build_seconds": sol.build_seconds,
                  "solve_seconds": sol.solve_seconds, **sol.stats}
    check_plan(g, plan)
    return plan


def _infeasible(g: Graph, node: Node, model: CostModel, budget: int, double_buffer: bool,
                in_place: frozenset[str] = frozenset()) -> CompileError:
    best = smallest_footprint(g, node, model, double_buffer=double_buffer, in_place=in_place)
    if best is None:
        return CompileError(f"node '{node.name}' ({node.op}): no tiling of this op can be moved by the DMA "
                            f"runtime; it cannot run from L1")
    parts = ", ".join(f"{o.tensor} {format_size(o.l1_bytes)}" for o in best.operands)
    hint = "raise --l1" + ("" if not double_buffer else " or disable double buffering (options double_buffer=False)")
    return CompileError(
        f"node '{node.name}' ({node.op}) needs at least {best.l1_bytes} B of L1 (smallest tile "
        f"{list(best.tile)}: {parts}) but the L1 budget is {budget} B: {hint}")


def _layout(g: Graph, target: Target, sol: Solution, infos: dict[str, BufferInfo], owner: dict[str, str],
            io_names: set[str], steps: list[int], l1_budget: int, l2_budget: int, const_bytes: int,
            double_buffer: bool) -> TilingPlan:
    layers: dict[int, LayerPlan] = {}
    total_tables = 0
    for s in steps:
        c = sol.choice[s]
        total_tables += table_bytes(c)
        off = 0
        slots: dict[str, int] = {}
        resident: dict[str, int] = {}
        for o in c.operands:
            b = owner.get(o.tensor)  # constants have no activation buffer
            if b is not None and b in sol.resident:
                resident[o.tensor] = sol.resident[b]
                continue
            if o.tensor in slots:
                continue
            slots[o.tensor] = off
            off += o.l1_bytes
        layers[s] = LayerPlan(s, g.nodes[s], c, slots, resident, off)
    # L2: graph inputs/outputs first (live throughout), then the intermediates at their ILP offsets.
    l2: dict[str, int] = {}
    base = 0
    for b in sorted(io_names, key=lambda n: (infos[n].first, n)):
        l2[b] = base
        base += infos[b].size
    for b, off in sol.l2_offset.items():
        l2[b] = base + off
    arena = max((l2[b] + infos[b].size for b in l2), default=0)
    plan = TilingPlan(layers, owner, infos, dict(sol.resident), l2, align(max(arena, 8)), 0, l1_budget, l2_budget,
                      const_bytes, total_tables, sol, double_buffer)
    plan.l1_bytes = max((plan.l1_peak_at(s) for s in steps), default=0)
    return plan


def check_plan(g: Graph, plan: TilingPlan) -> None:
    """Independent check of the solved plan: every byte inside its budget, no two live buffers overlap."""
    problems: list[str] = []
    for s, lay in plan.layers.items():
        used = [(off, off + next(o.l1_bytes for o in lay.cand.operands if o.tensor == t), t)
                for t, off in lay.slots.items()]
        live_res = [(off, off + plan.buffers[b].size, b) for b, off in plan.l1_resident.items()
                    if plan.buffers[b].first <= s <= plan.buffers[b].last]
        spans = sorted(used + live_res)
        for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:], strict=False):
            if b0 < a1 and an != bn:
                problems.append(f"step {s}: L1 buffers {an} [{a0},{a1}) and {bn} [{b0},{b1}) overlap")
        top = max((e for _, e, _ in spans), default=0)
        if top > plan.l1_budget:
            problems.append(f"step {s} ({lay.node.name}): L1 use {top} exceeds the budget {plan.l1_budget}")
    in_l2 = [b for b in plan.l2_offset]
    for i, a in enumerate(in_l2):
        A = plan.buffers[a]
        for bname in in_l2[i + 1:]:
            B = plan.buffers[bname]
            if A.first <= B.last and B.first <= A.last:
                a0, b0 = plan.l2_offset[a], plan.l2_offset[bname]
                if a0 < b0 + B.size and b0 < a0 + A.size:
                    problems.append(f"L2 buffers {a} and {bname} overlap while both are live")
    for b, _info in plan.buffers.items():
        if b not in plan.l2_offset and b not in plan.l1_resident:
            problems.append(f"buffer {b} has no home")
        if b in plan.l1_resident and g.tensors[b].role is not Role.ACTIVATION:
            problems.append(f"graph input/output {b} cannot be L1-resident")
    if plan.l2_arena_bytes + plan.const_bytes + plan.table_bytes > plan.l2_budget + plan.const_bytes + sum(
            plan.buffers[b].size for b in plan.l2_offset if plan.buffers[b].io):
        problems.append("L2 use exceeds its budget")
    if problems:
        raise AssertionError("tiling plan violates its own constraints (a torch-deeploy bug):\n  "
                             + "\n  ".join(problems[:20]))
