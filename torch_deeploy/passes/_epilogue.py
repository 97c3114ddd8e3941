"""Shared by the folding passes: find `producer -> [Reshape] -> consumer` chains whose intermediates have no
other reader, and rewire the graph once the consumer's work has moved into the producer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from torch_deeploy.ir.graph import Graph, Node, Tensor


@dataclass
class Chain:
    producer: Node
    reshape: Node | None  # a Reshape view between the two, if any
    consumer: Node
    x: str  # the tensor the consumer reads (the producer's output, or the Reshape's)


def chains(g: Graph, producer_ops: tuple[str, ...], consumer_op: str) -> list[Chain]:
    """Every producer (of producer_ops) whose only reader is consumer_op, directly or through one Reshape."""
    consumers = g.consumers()
    outputs = set(g.outputs)

    def only_reader(t: str) -> Node | None:
        readers = consumers.get(t, [])
        return readers[0] if len(readers) == 1 and t not in outputs else None

    out = []
    for p in g.nodes:
        if p.op not in producer_ops or g.tensors[p.outputs[0]].type.is_float:
            continue
        step = only_reader(p.outputs[0])
        reshape = step if step is not None and step.op == "Reshape" else None
        c = only_reader(reshape.outputs[0]) if reshape is not None else step
        if c is not None and c.op == consumer_op and c.engine == p.engine:
            out.append(Chain(p, reshape, c, reshape.outputs[0] if reshape is not None else p.outputs[0]))
    return out


def absorb(g: Graph, chain: Chain) -> None:
    """The producer now computes the consumer's result: it (or the Reshape after it) writes the consumer's
    output, whose type (range, dtype) the producer's output takes on; the consumer node is left for the caller
    to drop."""
    y = g.tensors[chain.producer.outputs[0]]
    z = g.tensors[chain.consumer.outputs[0]]
    if chain.reshape is None:
        del g.tensors[y.name]
        chain.producer.outputs = [z.name]
    else:
        g.tensors[y.name] = Tensor(y.name, z.type.with_shape(y.type.shape), y.role)
        del g.tensors[chain.reshape.outputs[0]]
        chain.reshape.outputs = [z.name]


def drop(g: Graph, nodes: set[str], constants: set[str]) -> Graph:
    """Remove the absorbed nodes, and the given constants when nothing reads them any more."""
    g.nodes = [n for n in g.nodes if n.name not in nodes]
    used = {i for n in g.nodes for i in n.inputs if i}
    for name in constants - used - set(g.outputs):
        del g.tensors[name]
    return g


def fresh(g: Graph, base: str) -> str:
    """A tensor name not used in g, from base."""
    name, i = base, 0
    while name in g.tensors:
        i += 1
        name = f"{base}_{i}"
    return name


def scalar_constant(g: Graph, name: str) -> int | None:
    """The value of a one-element integer constant tensor, else None."""
    t = g.tensors[name]
    if not t.is_constant or t.data is None or t.type.is_float or t.type.size != 1:
        return None
    return int(np.asarray(t.data).reshape(-1)[0])
