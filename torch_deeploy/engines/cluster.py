"""The cluster engine: the 8 RISC-V cores running the C kernels of csrc_templates/kernels/."""

from __future__ import annotations

import numpy as np

from torch_deeploy.ir.graph import Graph, Node
from torch_deeploy.ops import registry

NAME = "cluster"


def can_run(g: Graph, node: Node) -> tuple[bool, str]:
    spec = registry.OPS.get(node.op)
    if spec is None:
        return False, f"unsupported op '{node.op}'"
    if spec.extras.get("engine") not in (None, NAME):
        return False, f"{node.op} is a job of the {spec.extras['engine']} engine"
    if spec.kernel is None:
        return False, f"no C kernel exists for {node.op}"
    return True, ""


# the linear ops (and their fused forms) whose multiply-accumulates the reports and the cost model count
CONV_OPS = ("Conv", "RequantizedConv")
GEMM_OPS = ("Gemm", "RequantizedGemm", "ChannelRequantizedGemm")
LINEAR_OPS = (*CONV_OPS, "MatMul", "RequantizedMatMul", *GEMM_OPS)


def linear_macs(g: Graph, node: Node) -> int:
    """Multiply-accumulates of a Conv / MatMul / Gemm node (or of its fused form)."""
    out = int(np.prod(g.tensors[node.outputs[0]].type.shape, dtype=np.int64))
    if node.op in CONV_OPS:
        return out * int(np.prod(g.tensors[node.inputs[1]].type.shape[1:], dtype=np.int64))
    a = g.tensors[node.inputs[0]].type.shape
    if node.op in GEMM_OPS and node.attrs.get("transA", 0):
        return out * a[0]
    return out * a[-1]


def estimate_cycles(g: Graph, node: Node, cost: dict[str, float], cores: int) -> float:
    """Modelled cycles of a linear node on the cluster (targets/siracusa.toml [cost]; estimates)."""
    macs = linear_macs(g, node)
    return macs / (cores * float(cost.get("macs_per_cycle_per_core", 1.0))) + float(
        cost.get("layer_overhead_cycles", 300))
