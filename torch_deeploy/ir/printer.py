"""Readable text form of a graph, for --debug output and test failure messages."""

from __future__ import annotations

from torch_deeploy.ir.graph import Graph


def _fmt_attr(v: object) -> str:
    if hasattr(v, "shape") and getattr(v, "size", 0) > 8:
        return f"<array {getattr(v, 'shape', '')}>"
    return repr(v.tolist()) if hasattr(v, "tolist") else repr(v)


def format_graph(g: Graph) -> str:
    lines = [f"graph {g.name}"]
    for name in g.inputs:
        lines.append(f"  input  %{name}: {g.tensors[name].type}")
    consts = [t for t in g.constants()]
    if consts:
        lines.append(f"  {len(consts)} constants, {sum(t.type.nbytes for t in consts)} bytes")
    for n in g.nodes:
        ins = ", ".join(f"%{i}" if i else "_" for i in n.inputs)
        outs = ", ".join(f"%{o}: {g.tensors[o].type}" for o in n.outputs)
        attrs = ", ".join(f"{k}={_fmt_attr(v)}" for k, v in sorted(n.attrs.items()))
        eng = f" @{n.engine}" if n.engine else ""
        lines.append(f"  {outs} = {n.op}{eng}({ins})" + (f" {{{attrs}}}" if attrs else "") + f"  # {n.name}")
    lines.append("  return " + ", ".join(f"%{o}" for o in g.outputs))
    return "\n".join(lines)
