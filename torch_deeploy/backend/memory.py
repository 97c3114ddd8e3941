"""Static allocation of activation buffers for untiled execution: every tensor at a fixed arena offset.

Lifetimes run from the producing node to the last consumer; graph inputs live from the start and
outputs to the end. View ops (reshape-like) share their input's buffer. Placement is greedy best-fit,
largest buffer first, which is near-optimal for the chain-like graphs of these networks.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch_deeploy.ir.graph import Graph, Role
from torch_deeploy.ops import registry

ALIGN = 8  # bytes; every buffer starts at a multiple of this (int64 loads on the host, DMA bursts)


@dataclass
class Buffer:
    name: str  # the tensor that owns the buffer (first of its alias group)
    size: int  # bytes, aligned
    first: int  # index of the first step it is live (-1: before the first node)
    last: int  # last step it is live
    offset: int = -1


@dataclass
class MemoryPlan:
    buffers: dict[str, Buffer]  # by owner name
    owner: dict[str, str]  # tensor name -> owner name (itself unless a view)
    arena_bytes: int

    def offset(self, tensor: str) -> int:
        return self.buffers[self.owner[tensor]].offset


def align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


def is_view(g: Graph, node_op: str, src: str, dst: str) -> bool:
    spec = registry.OPS.get(node_op)
    if spec is None or not spec.extras.get("view"):
        return False
    s, d = g.tensors[src], g.tensors[dst]
    return not s.is_constant and s.type.dtype == d.type.dtype


def is_inplace(g: Graph, node_op: str, src: str, dst: str) -> bool:
    """An op whose output is written into its input 0's buffer (extras "inplace": 0), e.g. KVCacheWrite."""
    spec = registry.OPS.get(node_op)
    if spec is None or spec.extras.get("inplace") != 0:
        return False
    s, d = g.tensors[src], g.tensors[dst]
    return not s.is_constant and s.type.dtype == d.type.dtype


def check_inplace(g: Graph) -> None:
    """An in-place write clobbers its input: nothing may read that input (or a view of it) afterwards."""
    from torch_deeploy.errors import CompileError

    for step, n in enumerate(g.nodes):
        if not (n.inputs and n.outputs and n.inputs[0] and is_inplace(g, n.op, n.inputs[0], n.outputs[0])):
            continue
        for later in g.nodes[step + 1:]:
            if n.inputs[0] in later.inputs:
                raise CompileError(f"node '{n.name}' ({n.op}) writes '{n.inputs[0]}' in place, but node "
                                   f"'{later.name}' ({later.op}) reads the old value afterwards: read the "
                                   f"output '{n.outputs[0]}' instead, or move the reader before the write")
        if g.tensors[n.inputs[0]].is_constant:
            raise CompileError(f"node '{n.name}' ({n.op}) cannot write a constant in place")


def buffer_lifetimes(g: Graph) -> tuple[dict[str, str], dict[str, Buffer]]:
    """Alias groups (tensor -> owning tensor; views share their input's buffer) and each buffer's
    size and live steps (node indices; -1 before the first node, len(nodes) after the last)."""
    owner: dict[str, str] = {}
    for name in g.inputs:
        owner[name] = name
    for n in g.nodes:
        for o in n.outputs:
            src = n.inputs[0] if n.inputs else ""
            aliased = bool(src) and (is_view(g, n.op, src, o) or is_inplace(g, n.op, src, o))
            owner[o] = owner[n.inputs[0]] if aliased else o
    last_step = len(g.nodes)
    bufs: dict[str, Buffer] = {}

    def touch(tensor: str, step: int) -> None:
        own = owner[tensor]
        b = bufs.get(own)
        if b is None:
            size = max(g.tensors[own].type.nbytes, g.tensors[tensor].type.nbytes)
            bufs[own] = Buffer(own, align(max(size, 1)), step, step)
        else:
            b.first = min(b.first, step)
            b.last = max(b.last, step)

    for name in g.inputs:
        touch(name, -1)
    for step, n in enumerate(g.nodes):
        for i in n.inputs:
            if i and not g.tensors[i].is_constant:
                touch(i, step)
        for o in n.outputs:
            touch(o, step)
    for name in g.outputs:
        touch(name, last_step)
    for name in g.inputs:  # inputs stay intact: the caller may run the network again on them
        touch(name, last_step)
    return owner, bufs


def plan_memory(g: Graph) -> MemoryPlan:
    owner, bufs = buffer_lifetimes(g)
    _place(list(bufs.values()))
    arena = max((b.offset + b.size for b in bufs.values()), default=0)
    return MemoryPlan(bufs, owner, align(arena))


def _place(buffers: list[Buffer]) -> None:
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.size, b.first, b.name)):
        busy = sorted((p.offset, p.offset + p.size) for p in placed if p.first <= b.last and b.first <= p.last)
        offset = 0
        best = None
        for start, end in busy:
            if start - offset >= b.size and (best is None or start - offset < best[1]):
                best = (offset, start - offset)
            offset = max(offset, end)
        b.offset = best[0] if best is not None else offset
        placed.append(b)


def is_graph_io(g: Graph, name: str) -> bool:
    return g.tensors[name].role in (Role.INPUT, Role.OUTPUT)
