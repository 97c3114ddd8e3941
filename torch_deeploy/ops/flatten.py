"""Flatten: data movement to 2-D (prod(dims[:axis]), prod(dims[axis:]))."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx, Int, OpSpec
from torch_deeploy.ops.registry import register


def out_shape(shape: tuple[int, ...], axis: int) -> tuple[int, int]:
    r = len(shape)
    if not -r <= axis <= r:
        raise OpError(f"axis {axis} is out of range for an input of rank {r} (allowed {-r}..{r})")
    axis = axis + r if axis < 0 else axis
    return int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64))


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    return [x.with_shape(out_shape(x.shape, ctx.attrs["axis"]))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    assert x is not None
    return [np.reshape(x, out_shape(x.shape, attrs["axis"])).copy()]


SPEC = register(OpSpec(
    name="Flatten",
    attrs={"axis": Int(1)},
    infer=infer,
    reference=reference,
    kernel="copy",  # csrc_templates/kernels/copy.c.j2 (runs only when the output cannot alias)
    extras={"view": True},
    doc="reshape to 2-D at axis (data order and values unchanged)",
))
