"""Structural checks that every pass must preserve; a failure here is a compiler bug, not user error."""

from __future__ import annotations

from torch_deeploy.ir.graph import Graph, Role


class GraphInvariantError(AssertionError):
    pass


def verify(g: Graph) -> None:
    """Check SSA form, topological order, roles and that each node's op is known."""
    from torch_deeploy.ops import registry  # local: ops depend on ir

    problems: list[str] = []
    defined = {n for n in g.inputs} | {t.name for t in g.constants()}
    for name in g.inputs:
        if name not in g.tensors or g.tensors[name].role is not Role.INPUT:
            problems.append(f"graph input '{name}' is not an INPUT tensor")
    seen_nodes: set[str] = set()
    for node in g.nodes:
        if node.name in seen_nodes:
            problems.append(f"duplicate node name '{node.name}'")
        seen_nodes.add(node.name)
        if node.op not in registry.OPS:
            problems.append(f"node '{node.name}' has unknown op '{node.op}'")
        for i in node.inputs:
            if i and i not in defined:
                problems.append(f"node '{node.name}' reads '{i}' before it is defined")
        for o in node.outputs:
            if o in defined:
                problems.append(f"tensor '{o}' is defined twice (node '{node.name}')")
            if o not in g.tensors:
                problems.append(f"node '{node.name}' output '{o}' has no tensor record")
            defined.add(o)
    for name in g.outputs:
        if name not in defined:
            problems.append(f"graph output '{name}' is never produced")
    for t in g.tensors.values():
        if t.is_constant and t.data is None:
            problems.append(f"constant '{t.name}' has no data")
        if t.type.range is not None and t.type.range[0] > t.type.range[1]:
            problems.append(f"tensor '{t.name}' has an empty range {t.type.range}")
    if problems:
        raise GraphInvariantError("graph '" + g.name + "' is malformed:\n  " + "\n  ".join(problems))
