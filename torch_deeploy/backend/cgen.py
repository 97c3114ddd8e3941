"""C generation: IR graph + memory plan -> the sources of a self-contained C project.

Each node becomes one kernel function rendered from its op's template (csrc_templates/kernels/), with
shapes and attributes baked in as constants; the network function calls them in order through the
hardware abstraction's fork, so the same code runs on the host shim and on the PULP cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from torch_deeploy.backend.memory import MemoryPlan, is_view
from torch_deeploy.backend.templates import render
from torch_deeploy.errors import CompileError, OpError
from torch_deeploy.ir.dtypes import for_range
from torch_deeploy.ir.graph import Graph, Node, TensorType
from torch_deeploy.ops import registry
from torch_deeploy.ops.base import KernelNode


@dataclass
class TArg:
    """A kernel operand as templates see it."""

    c: str  # parameter name in the kernel function
    ctype: str
    shape: tuple[int, ...]
    is_float: bool
    lo: int | None
    hi: int | None
    data: np.ndarray | None = None  # constant data, when the operand is a constant

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def strides(self) -> tuple[int, ...]:
        out, acc = [], 1
        for s in reversed(self.shape):
            out.append(acc)
            acc *= s
        return tuple(reversed(out))

    @property
    def is_const(self) -> bool:
        return self.data is not None


def _targ(c: str, t: TensorType, data: np.ndarray | None) -> TArg:
    lo, hi = t.range if t.range is not None else (None, None)
    return TArg(c, t.dtype.c_type, t.shape, t.is_float, lo, hi, data)


def int_ctype(lo: int, hi: int) -> str:
    """C type for an intermediate value range: int32 when it fits, else int64 (never narrower)."""
    return "int32_t" if lo >= -(2**31) and hi < 2**31 else "int64_t"


def c_ident(name: str, prefix: str) -> str:
    return prefix + re.sub(r"[^0-9A-Za-z_]", "_", name)[:48]


_KIND = {"int8": "I8", "uint8": "U8", "int16": "I16", "uint16": "U16", "int32": "I32", "int64": "I64",
         "float32": "F32"}


@dataclass
class Kernel:
    index: int
    node: Node
    fn: str
    code: str
    params: list[tuple[str, str, bool]]  # (param name, c type, is output)
    args: list[str] = field(default_factory=list)  # C expressions for the call
    buffers: list[tuple[int, int]] = field(default_factory=list)  # arena (offset, bytes) it may touch


@dataclass
class CProgram:
    files: dict[str, str]
    kernels: list[Kernel]
    const_bytes: int
    arena_bytes: int


def graph_knode(g: Graph, node: Node) -> KernelNode:
    """The KernelNode of a whole (untiled) node."""
    ins = [g.tensors[i] if i else None for i in node.inputs]
    return KernelNode(node.name, node.op, node.attrs, [t.type if t else None for t in ins],
                      [g.tensors[o].type for o in node.outputs],
                      [t.data if t is not None and t.is_constant else None for t in ins])


def kernel_context(k: KernelNode, fn: str) -> dict[str, Any]:
    spec = registry.get(k.op, node=k.name)
    in_args = [_targ(f"in{i}", t, k.consts[i]) if t is not None else None for i, t in enumerate(k.inputs)]
    out_args = [_targ(f"out{j}", t, None) for j, t in enumerate(k.outputs)]
    node = Node(k.name, k.op, [], [], k.attrs)
    ctx: dict[str, Any] = {"fn": fn, "node": node, "attrs": k.attrs, "ins": in_args, "outs": out_args,
                           "int_ctype": int_ctype}
    if spec.kernel_args is not None:
        try:
            ctx.update(spec.kernel_args(k))
        except OpError as e:
            raise e.located(k.name, k.op) from None
    return ctx


def render_knode(k: KernelNode, fn: str) -> tuple[str, list[tuple[str, str, bool]]]:
    """C code of the kernel function for k, and its parameters (name, C type, is output)."""
    spec = registry.get(k.op, node=k.name)
    if spec.kernel is None:
        raise CompileError(f"node '{k.name}' ({k.op}): no C kernel exists for this op yet")
    ctx = kernel_context(k, fn)
    code = render(f"kernels/{spec.kernel}.c.j2", **ctx)
    params = [(a.c, a.ctype, False) for a in ctx["ins"] if a is not None]
    params += [(a.c, a.ctype, True) for a in ctx["outs"]]
    return code, params


def render_kernel(g: Graph, node: Node, index: int) -> Kernel:
    spec = registry.get(node.op, node=node.name)
    fn = f"k{index}_{spec.kernel}"
    code, params = render_knode(graph_knode(g, node), fn)
    return Kernel(index, node, fn, code, params)


def generate(g: Graph, plan: MemoryPlan, *, num_cores: int, network_name: str = "network") -> CProgram:
    def aliased(node: Node) -> bool:  # a view sharing its input's buffer: nothing to run
        return bool(node.inputs) and len(node.outputs) == 1 \
            and is_view(g, node.op, node.inputs[0], node.outputs[0]) \
            and plan.owner[node.outputs[0]] == plan.owner[node.inputs[0]]

    run_nodes = [(idx, node) for idx, node in enumerate(g.nodes) if not aliased(node)]
    const_names: dict[str, str] = {}
    consts = []
    const_bytes = 0
    used = {i for _, n in run_nodes for i in n.inputs if i}  # constants of skipped views are not emitted
    for t in g.constants():
        if t.name not in used:
            continue
        cname = c_ident(t.name, f"c{len(consts)}_")
        const_names[t.name] = cname
        assert t.data is not None
        consts.append({"name": cname, "ctype": t.type.dtype.c_type, "size": max(t.type.size, 1),
                       "data": t.data, "orig": t.name})
        const_bytes += t.type.nbytes

    def buf(name: str) -> str:
        t = g.tensors[name]
        if name in const_names:
            return const_names[name]
        return f"(({t.type.dtype.c_type} *)(l2_arena + {plan.offset(name)}u))"

    kernels: list[Kernel] = []
    for idx, node in run_nodes:
        k = render_kernel(g, node, idx)
        k.args = [buf(i) for i in node.inputs if i] + [buf(o) for o in node.outputs]
        k.buffers = [(plan.offset(t), g.tensors[t].type.nbytes) for t in [*node.inputs, *node.outputs]
                     if t and t not in const_names and g.tensors[t].type.nbytes]
        kernels.append(k)

    def io_entry(n: str) -> dict[str, Any]:
        t = g.tensors[n].type
        return {"name": n, "expr": f"(void *){buf(n)}", "bytes": t.nbytes, "elems": t.size,
                "kind": f"NETWORK_KIND_{_KIND[t.dtype.name]}"}

    io = {"inputs": [io_entry(n) for n in g.inputs], "outputs": [io_entry(n) for n in g.outputs]}
    ctx = {"net": network_name, "consts": consts, "kernels": kernels, "arena_bytes": max(plan.arena_bytes, 8),
           "num_cores": num_cores, **io}
    files = {
        "src/network.c": render("network.c.j2", **ctx),
        "include/network.h": render("network.h.j2", **ctx),
    }
    return CProgram(files, kernels, const_bytes, plan.arena_bytes)


def storage_ctype(lo: int, hi: int) -> str:
    return for_range(lo, hi).c_type
