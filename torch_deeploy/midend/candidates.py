"""Candidate tilings of one node, each with its exact L1 footprint, DMA traffic and modelled cycles.

Tile sizes per splittable output dim come from a small ladder (whole, halves, quarters, ... rounded to
the rule's step); tiles are enumerated by class (first / interior / last along each dim), so a node
with thousands of tiles costs a handful of box computations. Dominated candidates (no smaller and no
faster than another) are pruned before the ILP sees them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from torch_deeploy.backend.memory import align
from torch_deeploy.ir.graph import Graph, Node, TensorType
from torch_deeploy.midend.copyplan import CopyPlan, copy_plan
from torch_deeploy.midend.regions import Box, TileMap, TilingRule, untiled
from torch_deeploy.ops import registry
from torch_deeploy.ops.base import KernelNode
from torch_deeploy.target import Target

MAX_OUTER_LEVELS = 3  # nested loops around one 2-D DMA transfer that the tile runtime supports
MAX_CANDIDATES = 24
ENOUGH_FITTING = 10  # stop enumerating (largest tiles first) once this many candidates fit in L1


@dataclass(frozen=True)
class CostModel:
    cores: int
    macs_per_cycle_per_core: float
    elem_ops_per_cycle_per_core: float
    tile_overhead: float
    layer_overhead: float
    dma_bytes_per_cycle: float
    dma_setup: float
    engines: dict = field(default_factory=dict)  # per engine: its [engines.<name>] table of the target

    @staticmethod
    def of(target: Target) -> CostModel:
        c = target.raw.get("cost", {})
        return CostModel(target.cores, float(c.get("macs_per_cycle_per_core", 1.0)),
                         float(c.get("elem_ops_per_cycle_per_core", 0.5)), float(c.get("tile_overhead_cycles", 100)),
                         float(c.get("layer_overhead_cycles", 300)), float(target.dma.get("bytes_per_cycle", 4.0)),
                         float(target.dma.get("setup_cycles", 30)), dict(target.raw.get("engines", {})))

    def compute(self, macs: float, elem_ops: float) -> float:
        return macs / (self.cores * self.macs_per_cycle_per_core) + elem_ops / (
            self.cores * self.elem_ops_per_cycle_per_core)

    def dma(self, nbytes: int, transfers: int) -> float:
        return nbytes / self.dma_bytes_per_cycle + transfers * self.dma_setup


@dataclass
class OperandUse:
    """One operand (input or output tensor) of a node under one candidate."""

    index: int  # position in node.inputs (inputs) or node.outputs (outputs)
    tensor: str
    is_output: bool
    invariant: bool  # same box in every tile: moved once, one slot
    whole: bool  # the box is the whole tensor in every tile (a candidate for L1 residency)
    slot_bytes: int  # aligned size of one L1 slot (largest box)
    slots: int  # 1, or 2 when double-buffered
    dma_bytes: int  # over all tiles
    transfers: int
    dma_cycles: float

    @property
    def l1_bytes(self) -> int:
        return self.slot_bytes * self.slots


@dataclass
class Candidate:
    tile: tuple[int, ...]  # tile size per dim of output 0
    ntiles: int
    operands: list[OperandUse]
    compute_cycles: float
    cycles: float
    l1_bytes: int
    dma_bytes: int
    classes: list[tuple[Box, int]] = field(default_factory=list)  # (representative output box, count)

    def operand(self, tensor: str) -> OperandUse | None:
        for o in self.operands:
            if o.tensor == tensor:
                return o
        return None


def kernel_node(g: Graph, node: Node) -> KernelNode:
    ins = [g.tensors[i] if i else None for i in node.inputs]
    return KernelNode(node.name, node.op, node.attrs, [t.type if t else None for t in ins],
                      [g.tensors[o].type for o in node.outputs],
                      [t.data if t is not None and t.is_constant else None for t in ins])


def tile_node(k: KernelNode, out_box: Box, tm: TileMap) -> KernelNode:
    """The KernelNode a tile's kernel is rendered from: same op and dtypes, tile shapes and attributes."""
    ins: list[TensorType | None] = []
    consts: list[np.ndarray | None] = []
    for i, (t, b) in enumerate(zip(k.inputs, tm.inputs, strict=True)):
        if t is None or b is None:
            ins.append(None)
            consts.append(None)
            continue
        ins.append(t.with_shape(b.size))
        c = k.consts[i]
        if tm.consts and i in tm.consts:
            c = tm.consts[i]
        elif c is not None:
            c = c[b.slices()]
        consts.append(c)
    outs = [k.outputs[0].with_shape(out_box.size)] + [o for o in k.outputs[1:]]
    return KernelNode(k.name, k.op, tm.attrs, ins, outs, consts)


def rule_of(k: KernelNode) -> TilingRule:
    spec = registry.get(k.op)
    return (spec.tiling or untiled())(k)


def work(k: KernelNode) -> tuple[float, float]:
    spec = registry.get(k.op)
    if spec.cost is not None:
        return spec.cost(k)
    return 0.0, float(sum(int(np.prod(o.shape, dtype=np.int64)) for o in k.outputs))


def _ladder(size: int, step: int) -> list[int]:
    """Tile sizes tried along one dim: the whole dim, then ~halvings rounded up to the step."""
    out = {size}
    for k in (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256, 512):
        t = math.ceil(size / k)
        t = math.ceil(t / step) * step
        if 0 < t < size:
            out.add(t)
    return sorted(out, reverse=True)


EDGE_TILES = 4  # tiles kept individually at each end of a dim: padding and halos only reach these


def _classes(size: int, t: int) -> list[tuple[int, int, int]]:
    """(start, size, count) classes of the tiles along a dim of `size` cut into `t`: every tile near
    either end on its own, the steady-state interior as one representative with its count."""
    n = math.ceil(size / t) if size else 1
    if n <= 2 * EDGE_TILES + 1:
        return [(i * t, min(t, size - i * t), 1) for i in range(n)] if n > 1 else [(0, size, 1)]
    out = [(i * t, t, 1) for i in range(EDGE_TILES)]
    out.append((EDGE_TILES * t, t, n - 2 * EDGE_TILES))
    out += [(i * t, min(t, size - i * t), 1) for i in range(n - EDGE_TILES, n)]
    return out


def _merged_classes(k: KernelNode, rule: TilingRule, shape: tuple[int, ...], tile: Sequence[int], d: int
                    ) -> tuple[list[tuple[int, int, int]], frozenset[int]]:
    """Tile classes along dim d, with classes whose tiles read identically sized boxes (same attributes)
    merged: usually first / interior / last; and the inputs whose box moves along d. Rules map each
    output dim to input dims independently, so classes of different dims combine by product; the
    backend re-checks every real tile."""
    raw = _classes(shape[d], tile[d])
    if len(raw) <= 1:
        return raw, frozenset()
    merged: dict[tuple, list[int]] = {}
    boxes_seen: list[tuple] = []
    for start, size, count in raw:
        st = [0] * len(shape)
        sz = list(shape)
        st[d], sz[d] = start, size
        tm = rule.inputs_for(k, Box(tuple(st), tuple(sz)))
        boxes_seen.append(tm.inputs)
        sig = (size, tuple(b.size if b is not None else None for b in tm.inputs), repr(sorted(tm.attrs.items())),
               tuple(sorted((tm.consts or {}).keys())))
        if sig in merged:
            merged[sig][2] += count
        else:
            merged[sig] = [start, size, count]
    moving = frozenset(i for i in range(len(boxes_seen[0])) if any(b[i] != boxes_seen[0][i] for b in boxes_seen))
    return [tuple(v) for v in merged.values()], moving  # type: ignore[misc]


def tile_sizes(g: Graph, node: Node, rule: TilingRule) -> list[tuple[int, ...]]:
    shape = g.tensors[node.outputs[0]].type.shape
    dims = [d for d in sorted(rule.split) if shape[d] > 1]
    options = [[(d, t) for t in _ladder(shape[d], rule.split[d])] for d in dims]
    combos: set[tuple[int, ...]] = {tuple(shape)}
    for opts in options:  # one split dim at a time
        for d, t in opts:
            s = list(shape)
            s[d] = t
            combos.add(tuple(s))
    if len(options) >= 2:  # pairs of the two outermost splittable dims, coarser ladder
        for (d1, t1), (d2, t2) in itertools.product(options[0][:6], options[1][:6]):
            s = list(shape)
            s[d1], s[d2] = t1, t2
            combos.add(tuple(s))
        if len(options) >= 3:  # and the innermost two, for deep tensors
            for (d1, t1), (d2, t2) in itertools.product(options[-2][:5], options[-1][:5]):
                s = list(shape)
                s[d1], s[d2] = t1, t2
                combos.add(tuple(s))
    for level in range(max((len(o) for o in options), default=0)):  # every dim cut together: the small end
        s = list(shape)
        for opts in options:
            d, t = opts[min(level, len(opts) - 1)]
            s[d] = t
        combos.add(tuple(s))
    return sorted(combos, key=lambda s: -int(np.prod(s, dtype=np.int64)))


def evaluate(g: Graph, node: Node, tile: Sequence[int], model: CostModel, *, double_buffer: bool = True,
             k: KernelNode | None = None, rule: TilingRule | None = None,
             memo: dict | None = None, in_place: frozenset[str] = frozenset()) -> Candidate | None:
    """Exact footprint and modelled cycles of one tiling, or None if the runtime cannot move its boxes.
    Inputs named in in_place are read by the kernel where they live (N-EUREKA weights in weight memory):
    no L1 slot and no DMA."""
    k = k or kernel_node(g, node)
    rule = rule or rule_of(k)
    out_t = g.tensors[node.outputs[0]].type
    memo = {} if memo is None else memo
    per_dim = []
    moving: set[int] = set()
    for d in range(len(tile)):
        key = (d, tile[d])
        if key not in memo:
            memo[key] = _merged_classes(k, rule, out_t.shape, tile, d)
        per_dim.append(memo[key][0])
        moving |= memo[key][1]
    classes: list[tuple[Box, int]] = []
    for combo in itertools.product(*per_dim):
        box = Box(tuple(c[0] for c in combo), tuple(c[1] for c in combo))
        classes.append((box, math.prod(c[2] for c in combo)))
    ntiles = sum(c for _, c in classes)
    maps = [rule.inputs_for(k, box) for box, _ in classes]
    operands: list[OperandUse] = []
    buffered = 2 if double_buffer and ntiles > 1 else 1

    def use(index: int, name: str, is_output: bool, boxes: list[Box | None]) -> OperandUse | None:
        t = g.tensors[name].type
        present = [b for b in boxes if b is not None]
        invariant = ntiles == 1 or (not is_output and index not in moving and all(b == present[0] for b in present))
        if not is_output and name in in_place:
            return OperandUse(index, name, False, invariant, False, 0, 1, 0, 0, 0.0)
        whole = invariant and present[0].is_whole(t.shape)
        plans: list[CopyPlan] = [copy_plan(t.shape, b, t.dtype.nbytes) for b in present]
        if any(len(p.outer) > MAX_OUTER_LEVELS for p in plans):
            return None
        slot = align(max((b.numel for b in present), default=0) * t.dtype.nbytes)
        if invariant and not is_output:
            nbytes, transfers = plans[0].nbytes, plans[0].transfers
        else:
            nbytes = sum(p.nbytes * cnt for p, (_, cnt) in zip(plans, classes, strict=True))
            transfers = sum(p.transfers * cnt for p, (_, cnt) in zip(plans, classes, strict=True))
        slots = 1 if (invariant and not is_output) else buffered
        return OperandUse(index, name, is_output, invariant, whole, slot, slots, nbytes, transfers,
                          model.dma(nbytes, transfers))

    for i, name in enumerate(node.inputs):
        if not name:
            continue
        u = use(i, name, False, [m.inputs[i] for m in maps])
        if u is None:
            return None
        operands.append(u)
    for j, name in enumerate(node.outputs):
        if j > 0 and ntiles > 1:
            return None  # extra outputs are not tiled: their ops run whole
        boxes = [box for box, _ in classes] if j == 0 else [Box.whole(g.tensors[name].type.shape)]
        u = use(j, name, True, boxes)
        if u is None:
            return None
        operands.append(u)
    compute = 0.0
    spec = registry.get(k.op)
    has_cost = spec.cost is not None
    engine_cycles = spec.extras.get("engine_cycles")  # jobs of an accelerator: its own cycle model
    for (box, cnt), m in zip(classes, maps, strict=True):
        if engine_cycles is not None:
            compute += cnt * engine_cycles(tile_node(k, box, m), model.engines.get(spec.extras.get("engine"), {}))
            continue
        macs, ops = work(tile_node(k, box, m)) if has_cost else (0.0, float(box.numel))
        compute += cnt * model.compute(macs, ops)
    dma = sum(o.dma_cycles for o in operands)
    overhead = model.layer_overhead + ntiles * model.tile_overhead
    # Double buffering overlaps transfers with compute; single buffering serialises them.
    cycles = overhead + (max(compute, dma) + min(compute, dma) / max(ntiles, 1) if buffered == 2 else compute + dma)
    return Candidate(tuple(tile), ntiles, operands, compute, cycles, sum(o.l1_bytes for o in operands),
                     sum(o.dma_bytes for o in operands), classes)


def candidates(g: Graph, node: Node, model: CostModel, *, double_buffer: bool = True,
               l1_budget: int | None = None, in_place: frozenset[str] = frozenset()) -> list[Candidate]:
    """Pareto-optimal tilings (in L1 bytes and cycles), smallest footprint last; [] if none exists."""
    k = kernel_node(g, node)
    rule = rule_of(k)
    found = []
    memo: dict = {}
    fitting = 0
    for tile in tile_sizes(g, node, rule):  # largest tiles first
        c = evaluate(g, node, tile, model, double_buffer=double_buffer, k=k, rule=rule, memo=memo,
                     in_place=in_place)
        if c is not None and c.ntiles == 1 and (l1_budget is None or c.l1_bytes <= l1_budget):
            # No tiling can beat one tile when even perfect overlap of DMA and compute would not pay
            # for a second tile's overhead: skip the enumeration (exact under the cost model).
            dma = sum(o.dma_cycles for o in c.operands)
            if c.cycles <= model.layer_overhead + 2 * model.tile_overhead + max(c.compute_cycles, dma):
                return [c]
        if c is not None:
            found.append(c)
            fitting += l1_budget is None or c.l1_bytes <= l1_budget
            if fitting >= ENOUGH_FITTING:  # smaller tiles only add overhead from here on
                break
    found.sort(key=lambda c: (c.cycles, c.l1_bytes))
    front: list[Candidate] = []
    for c in found:
        if not front or c.l1_bytes < min(f.l1_bytes for f in front):
            front.append(c)
    # The one-tile candidate stays even when dominated: only it lets operands stay resident in L1,
    # whose savings the ILP, not this local comparison, can weigh.
    whole = next((c for c in found if c.ntiles == 1), None)
    if whole is not None and whole not in front:
        front.append(whole)
    if l1_budget is not None:
        fitting = [c for c in front if c.l1_bytes <= l1_budget]
        front = fitting
    if len(front) > MAX_CANDIDATES:
        keep = {id(front[int(i * len(front) / MAX_CANDIDATES)]) for i in range(MAX_CANDIDATES)}
        front = [c for c in front if id(c) in keep or c.ntiles == 1 or c is front[-1]]
    return front


def smallest_footprint(g: Graph, node: Node, model: CostModel, *, double_buffer: bool = True,
                       in_place: frozenset[str] = frozenset()) -> Candidate | None:
    """The candidate with the least L1 (for infeasibility messages)."""
    k = kernel_node(g, node)
    rule = rule_of(k)
    best = None
    for tile in tile_sizes(g, node, rule):
        c = evaluate(g, node, tile, model, double_buffer=double_buffer, k=k, rule=rule, in_place=in_place)
        if c is not None and (best is None or c.l1_bytes < best.l1_bytes):
            best = c
    return best
