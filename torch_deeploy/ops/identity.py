"""Identity: a copy (also used by the frontend for graph outputs that are inputs or constants)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx, OpSpec
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    return [ctx.input(0)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    assert x is not None
    return [np.array(x, copy=True)]


SPEC = register(OpSpec(
    name="Identity",
    infer=infer,
    reference=reference,
    kernel="copy",  # csrc_templates/kernels/copy.c.j2 (runs only when the output cannot alias)
    extras={"view": True},
    doc="copy the input",
))
