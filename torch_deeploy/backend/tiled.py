"""C generation for tiled execution: every layer runs from L1 under the midend's plan.

Per layer the generator enumerates the tiles of the chosen tiling, renders one kernel per distinct tile
variant (same op, tile shapes and tile attributes; identical code is shared across the whole network),
and emits the tables tile_runtime.c walks: operand homes and L1 slots, per-tile box offsets, per-variant
DMA copy descriptors and kernels. Constants are packed into one L2 blob, activations into one L2 arena.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from torch_deeploy.backend.cgen import _KIND, CProgram, Kernel, graph_knode, render_knode
from torch_deeploy.backend.memory import align
from torch_deeploy.backend.templates import render
from torch_deeploy.ir.graph import Graph
from torch_deeploy.midend.candidates import rule_of, tile_node
from torch_deeploy.midend.copyplan import CopyPlan, copy_plan
from torch_deeploy.midend.plan import SINGLE_DMA_EXTRA, TilingPlan, layer_table_bytes
from torch_deeploy.midend.regions import Box, TileMap
from torch_deeploy.midend.tiled_enum import all_tiles
from torch_deeploy.ops import registry

FN_PLACEHOLDER = "__DEEPLOY_FN__"


@dataclass
class LayerC:
    step: int
    name: str
    op: str
    ops: list[dict[str, Any]]  # home expr, l1 slots, output flag, mode
    tiles: list[list[int]]  # per tile: variant, then box offsets (bytes)
    copies: list[list[CopyPlan]]  # per variant, per operand
    kernels: list[str]  # per variant: task function name
    double_buffer: bool
    call: str | None = None  # direct layers: the C call run on one core instead of the tile loop
    next: int | None = None  # index (in the program's layer list) of the next layer whose tables are prefetched
    following: int | None = None  # index of the tiled layer run right after this one (same run of tiled layers)
    prefetch: bool = False  # this layer's tables are fetched into an L1 slot during the previous tiled layer
    single: dict[str, Any] | None = None  # a one-tile layer resolved in advance: kernel args and DMA commands

    @property
    def table_bytes(self) -> int:
        return layer_table_bytes(len(self.ops), len(self.kernels), len(self.tiles))


@dataclass
class TiledProgram(CProgram):
    layers: list[LayerC] = field(default_factory=list)
    functions: int = 0
    table_slot_bytes: int = 0  # one of the two L1 slots for prefetched layer tables (0: tables read from L2)
    counter_l1_bytes: int = 0  # the per-layer cycle counters, in L1 when the plan leaves room (0: in L2)


def _const_blob(g: Graph, skip: dict[str, int] | None = None) -> tuple[bytes, dict[str, int]]:
    used = {i for n in g.nodes for i in n.inputs if i}
    offsets: dict[str, int] = {}
    chunks: list[bytes] = []
    pos = 0
    for t in g.constants():
        if t.name not in used or t.data is None or (skip and t.name in skip):
            continue
        data = np.ascontiguousarray(np.asarray(t.data).astype(t.type.dtype.np_dtype)).tobytes()
        offsets[t.name] = pos
        pad = align(len(data)) - len(data)
        chunks.append(data + b"\0" * pad)
        pos += len(data) + pad
    return b"".join(chunks), offsets


def _bytes_initializer(blob: bytes, per_line: int = 32) -> str:
    if not blob:
        return "0"
    vals = list(blob)
    return ",\n  ".join(", ".join(str(v) for v in vals[i:i + per_line]) for i in range(0, len(vals), per_line))


def _wmem_blob(g: Graph, placed: dict[str, int]) -> bytes:
    """Constants kept in the engine's weight memory, at the plan's offsets."""
    out = bytearray()
    for name, off in sorted(placed.items(), key=lambda kv: kv[1]):
        t = g.tensors[name]
        data = np.ascontiguousarray(np.asarray(t.data).astype(t.type.dtype.np_dtype)).tobytes()
        out += b"\0" * (off - len(out)) + data
        out += b"\0" * (align(len(out)) - len(out))
    return bytes(out)


def generate_tiled(g: Graph, plan: TilingPlan, *, num_cores: int, network_name: str = "network",
                   table_slot_cap: int = 0) -> TiledProgram:
    """C for the plan. table_slot_cap: the largest L1 slot for prefetched layer tables (two are used), also
    bounded by the L1 the plan leaves free; 0 reads every layer's tables from L2."""
    blob, const_off = _const_blob(g, plan.wmem)
    wblob = _wmem_blob(g, plan.wmem)

    def home(tensor: str) -> str:
        t = g.tensors[tensor]
        if tensor in plan.wmem:
            return f"(uint8_t *)wmem_const + {plan.wmem[tensor]}u"
        if t.is_constant:
            return f"(uint8_t *)l2_const + {const_off[tensor]}u"
        return f"l2_arena + {plan.l2_offset[plan.owner[tensor]]}u"

    functions: dict[str, tuple[str, str, list[tuple[str, str, bool]]]] = {}  # code hash -> (fn, code, params)
    layers: list[LayerC] = []
    for step in sorted(plan.layers):
        lay = plan.layers[step]
        node = lay.node
        k = graph_knode(g, node)
        rule = rule_of(k)
        out_shape = g.tensors[node.outputs[0]].type.shape
        tiles = all_tiles(out_shape, lay.cand.tile)
        operands = [(i, n, False) for i, n in enumerate(node.inputs) if n] + \
                   [(j, n, True) for j, n in enumerate(node.outputs)]
        uses = {(u.is_output, u.index): u for u in lay.cand.operands}
        variants: dict[tuple, int] = {}
        kernels: list[str] = []
        copies: list[list[CopyPlan]] = []
        rows: list[list[int]] = []
        in_wmem = registry.get(node.op).extras.get("weight_operand") is not None and \
            node.inputs[registry.get(node.op).extras["weight_operand"]] in plan.wmem
        for box in tiles:
            tm = rule.inputs_for(k, box)
            if in_wmem:  # the engine streams the weights from weight memory: the job says so
                tm = TileMap(tm.inputs, {**tm.attrs, "wmem": 1}, tm.consts)
            boxes: list[Box] = []
            for i, n, out in operands:
                if not out:
                    boxes.append(tm.inputs[i])  # type: ignore[arg-type]
                else:  # output 0 is the tile; further outputs only exist on untiled layers
                    boxes.append(box if i == 0 else Box.whole(g.tensors[n].type.shape))
            plans = [copy_plan(g.tensors[n].type.shape, b, g.tensors[n].type.dtype.nbytes)
                     for (_, n, _), b in zip(operands, boxes, strict=True)]
            key = (repr(sorted(tm.attrs.items())), tuple(b.size for b in boxes),
                   tuple((i, hashlib.sha1(np.ascontiguousarray(c).tobytes()).hexdigest())
                         for i, c in sorted((tm.consts or {}).items())),
                   tuple((p.outer, p.rows, p.row_bytes, p.stride) for p in plans))
            if key not in variants:
                variants[key] = len(kernels)
                code, params = render_knode(tile_node(k, box, tm), FN_PLACEHOLDER)
                h = hashlib.sha1(code.encode()).hexdigest()
                if h not in functions:
                    functions[h] = (f"kv{len(functions)}", code, params)
                kernels.append(functions[h][0])
                copies.append([_with_outer_padding(p) for p in plans])
            for (i, n, out), _b, p in zip(operands, boxes, plans, strict=True):
                u = uses[(out, i)]
                if n in plan.wmem and not out:
                    continue
                if p.nbytes > u.slot_bytes:
                    raise AssertionError(f"{node.name}: tile box of {n} needs {p.nbytes} B, slot has {u.slot_bytes}")
            rows.append([variants[key]] + [p.offset for p in plans])
        ops = []
        for (i, n, out) in operands:
            u = uses[(out, i)]
            if n in lay.resident:
                ops.append({"home": "0", "l1": (lay.resident[n], lay.resident[n]), "output": int(out), "mode": 2})
                continue
            if n in plan.wmem and not out:  # TILE_IN_PLACE: read from weight memory by the engine
                ops.append({"home": home(n), "l1": (0, 0), "output": 0, "mode": 3})
                continue
            base = lay.slots[n]
            second = base + u.slot_bytes if u.slots == 2 else base
            mode = 1 if (u.invariant and not out) else 0
            if mode == 1:  # loaded once: every tile must read the very same box
                col = 1 + len(ops)
                if len({(r[col], r[0]) for r in rows}) > 1 and len({r[col] for r in rows}) > 1:
                    raise AssertionError(f"{node.name}: operand {n} was planned as loaded once but its box moves")
            ops.append({"home": home(n), "l1": (base, second), "output": int(out), "mode": mode})
        layers.append(LayerC(step, node.name, node.op, ops, rows, copies, kernels,
                             plan.double_buffer and len(tiles) > 1, single=_single_plan(ops, rows, copies)))

    direct_functions: list[str] = []
    for step in plan.direct:  # run-time addressed nodes: one core, straight on the L2 homes
        node = g.nodes[step]
        fn = f"direct{step}"
        code, params = render_knode(graph_knode(g, node), fn)
        direct_functions.append(code)
        names = [n for n in node.inputs if n] + list(node.outputs)
        exprs = [f"({'' if out else 'const '}{ctype} *)({home(n)})"
                 for n, (_, ctype, out) in zip(names, params, strict=True)]
        if registry.get(node.op).extras.get("inplace") == 0:
            exprs[0] = "0"  # the output is the same buffer; restrict parameters must not alias
        args = ", ".join(exprs)
        layers.append(LayerC(step, node.name, node.op, [], [], [], [], False, call=f"{fn}({args});"))
    layers.sort(key=lambda lc: lc.step)

    free = plan.l1_budget - align(plan.l1_bytes, 8)
    slot = _plan_table_slots(layers, min(table_slot_cap, free // 2))
    # Two 32-bit cycle counters per layer, written by the cluster after every layer: in L1 when the L1 left
    # after the plan and the table slots holds them (a store to L2 stalls a cluster core about 20 cycles on GVSoC).
    counters = 8 * max(len(layers), 1)
    counters_l1 = counters if free - 2 * slot >= counters else 0
    for lc in layers:
        lc.copies_init = copies_initializer(lc.copies)  # type: ignore[attr-defined]
        lc.tiles_init = ",\n  ".join(", ".join(f"{v}u" for v in row) for row in lc.tiles)  # type: ignore[attr-defined]
    funcs = [{"name": fn, "code": code.replace(FN_PLACEHOLDER, fn), "params": params}
             for fn, code, params in functions.values()]

    def io_entry(n: str) -> dict[str, Any]:
        t = g.tensors[n].type
        return {"name": n, "expr": f"(void *)(l2_arena + {plan.l2_offset[plan.owner[n]]}u)", "bytes": t.nbytes,
                "elems": t.size, "kind": f"NETWORK_KIND_{_KIND[t.dtype.name]}"}

    runs = _runs(layers)
    for tiled, a, b in runs:
        for i in range(a, b - 1) if tiled else ():
            layers[i].following = i + 1
    ctx = {"net": network_name, "blob": _bytes_initializer(blob), "blob_bytes": max(len(blob), 8),
           "wmem_blob": _bytes_initializer(wblob) if wblob else None, "wmem_bytes": len(wblob),
           "arena_bytes": max(plan.l2_arena_bytes, 8), "l1_bytes": max(align(plan.l1_bytes), 8),
           "functions": funcs, "direct_functions": direct_functions, "layers": layers, "num_cores": num_cores,
           "inputs": [io_entry(n) for n in g.inputs], "outputs": [io_entry(n) for n in g.outputs],
           "kernels": layers, "slot_bytes": slot, "runs": runs, "counters_in_l1": bool(counters_l1),
           "slot_layers": [i for i, lc in enumerate(layers) if lc.prefetch]}
    files = {"src/network.c": render("network_tiled.c.j2", **ctx), "include/network.h": render("network.h.j2", **ctx)}
    kern = [Kernel(lc.step, g.nodes[lc.step], lc.kernels[0] if lc.kernels else f"direct{lc.step}", "", [])
            for lc in layers]
    prog = TiledProgram(files, kern, len(blob), plan.l2_arena_bytes, layers=layers, functions=len(funcs),
                        table_slot_bytes=slot, counter_l1_bytes=counters_l1)
    return prog


def _single_plan(ops: list[dict[str, Any]], rows: list[list[int]], copies: list[list[CopyPlan]]
                 ) -> dict[str, Any] | None:
    """The one tile of a single-tile layer resolved into C initializers: the kernel's arguments and the DMA
    commands (what tile_runtime.c's tile loop would compute for tile 0, slot 0). None for several tiles, or when
    the boxes need more commands than the table budget assumes (midend/plan.py SINGLE_DMA_EXTRA)."""
    if len(rows) != 1:
        return None
    row = rows[0]
    args: list[str] = []
    ins: list[tuple[int, str]] = []
    outs: list[str] = []
    for i, op in enumerate(ops):
        off = row[1 + i]
        if op["mode"] == 3:  # in place: the kernel reads the home
            args.append(f"(void *)({op['home']} + {off}u)")
            continue
        args.append(f"(void *)(l1_arena + {op['l1'][0]}u)")
        if op["mode"] == 2:  # resident: no DMA
            continue
        p = copies[row[0]][i]
        if not p.rows or not p.row_bytes:
            continue
        boxes = [(a, b, c) for a in range(p.outer[0][0]) for b in range(p.outer[1][0]) for c in range(p.outer[2][0])]
        if len(ins) + len(outs) + len(boxes) > len(ops) + SINGLE_DMA_EXTRA:  # e.g. 3-D boxes of many slabs:
            return None  # the tile loop issues them
        for n, (a, b, c) in enumerate(boxes):
            src = off + a * p.outer[0][1] + b * p.outer[1][1] + c * p.outer[2][1]
            cmd = (f"{{ (void *)(l1_arena + {op['l1'][0] + n * p.rows * p.row_bytes}u), "
                   f"(void *)({op['home']} + {src}u), {p.rows}u, {p.row_bytes}u, {p.stride}u }}")
            if op["output"]:
                outs.append(cmd)
            else:
                ins.append((0 if op["mode"] == 1 else 1, cmd))  # loaded-once inputs first, as the tile loop
    ins.sort(key=lambda t: t[0])
    return {"args": ", ".join(args), "dma": ",\n    ".join([c for _, c in ins] + outs), "n_in": len(ins),
            "n_out": len(outs)}


def _plan_table_slots(layers: list[LayerC], cap: int) -> int:
    """Mark the tiled layers whose tables are prefetched into L1 (those that fit a slot of `cap` bytes, not
    the first tiled layer: nothing runs before it) and link each tiled layer to the next prefetched one.
    Returns the slot size (the largest prefetched block, 8-byte aligned), 0 when none is prefetched."""
    tiled = [i for i, lc in enumerate(layers) if lc.call is None]
    slot = 0
    for prev, cur in zip(tiled, tiled[1:], strict=False):
        size = align(layers[cur].table_bytes, 8)
        if size <= cap:
            layers[cur].prefetch = True
            layers[prev].next = cur
            slot = max(slot, size)
    return slot


def _with_outer_padding(p: CopyPlan) -> CopyPlan:
    """Pad the outer loop levels to exactly three (count 1, stride 0) as the C descriptor expects."""
    outer = tuple(p.outer) + ((1, 0),) * (3 - len(p.outer))
    return CopyPlan(p.offset, outer, p.rows, p.row_bytes, p.stride)


def copies_initializer(copies: list[list[CopyPlan]]) -> str:
    items = []
    for per_variant in copies:
        for p in per_variant:
            c = [o[0] for o in p.outer]
            s = [o[1] for o in p.outer]
            items.append(f"{{{{{c[0]}u, {c[1]}u, {c[2]}u}}, {{{s[0]}u, {s[1]}u, {s[2]}u}}, "
                         f"{p.rows}u, {p.row_bytes}u, {p.stride}u}}")
    return ",\n  ".join(items)



def _runs(layers: list[Any]) -> list[tuple[bool, int, int]]:
    """Consecutive layers grouped as (tiled, first, end): network_run loops over each run of tiled layers (one
    loop body that stays in the instruction cache, instead of straight-line code per layer fetched from L2 once)
    and calls the others one by one."""
    out: list[tuple[bool, int, int]] = []
    for i, lc in enumerate(layers):
        tiled = lc.call is None
        if out and out[-1][0] and tiled:
            out[-1] = (True, out[-1][1], i + 1)
        else:
            out.append((tiled, i, i + 1))
    return out
