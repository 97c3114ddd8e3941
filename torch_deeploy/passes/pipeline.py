"""The lowering pipeline: plain functions Graph -> Graph, run in the order listed here."""

from __future__ import annotations

from collections.abc import Callable

from torch_deeploy.ir.graph import Graph
from torch_deeploy.ir.verify import verify
from torch_deeploy.passes.fold_bias import fold_bias_into_gemm
from torch_deeploy.passes.fold_clip import fold_clip_into_elementwise
from torch_deeploy.passes.fold_requant import fold_requant_into_conv, fold_requant_into_linear
from torch_deeploy.passes.identities import drop_identities
from torch_deeploy.passes.transpose_weights import transpose_matmul_weights

Pass = Callable[[Graph], Graph]

PASSES: list[Pass] = [drop_identities, transpose_matmul_weights, fold_bias_into_gemm, fold_requant_into_linear,
                      fold_requant_into_conv, fold_clip_into_elementwise]


def run_passes(g: Graph, passes: list[Pass] | None = None) -> Graph:
    for p in PASSES if passes is None else passes:
        g = p(g)
        verify(g)
    return g
