"""Squeeze: drop size-1 dims (axes as int/list attribute before opset 13, constant input from 13)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import Attr, InferCtx, OpSpec
from torch_deeploy.ops.registry import register


def out_shape(shape: tuple[int, ...], axes_in: np.ndarray | None, attrs: dict[str, Any]) -> tuple[int, ...]:
    if axes_in is not None and attrs["axes"] is not None:
        raise OpError("give axes either as input 1 or as the 'axes' attribute, not both")
    axes = attrs["axes"] if axes_in is None else [int(v) for v in np.asarray(axes_in).reshape(-1)]
    r = len(shape)
    if axes is None:
        return tuple(d for d in shape if d != 1)
    norm = set()
    for a in axes:
        if not -r <= a < r:
            raise OpError(f"axis {a} is out of range for an input of rank {r}")
        a = a + r if a < 0 else a
        if shape[a] != 1:
            raise OpError(f"cannot squeeze axis {a}: its size is {shape[a]}, not 1 (input {list(shape)})")
        norm.add(a)
    return tuple(d for i, d in enumerate(shape) if i not in norm)


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    axes = ctx.const(1, "axes") if ctx.has_input(1) else None
    return [x.with_shape(out_shape(x.shape, axes, ctx.attrs))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    assert x is not None
    axes = inputs[1] if len(inputs) > 1 else None
    return [np.reshape(x, out_shape(x.shape, axes, attrs)).copy()]


SPEC = register(OpSpec(
    name="Squeeze",
    attrs={"axes": Attr("ints", None)},  # an int attribute is accepted as a one-element list
    inputs=(1, 2),
    infer=infer,
    reference=reference,
    kernel="copy",  # csrc_templates/kernels/copy.c.j2 (runs only when the output cannot alias)
    extras={"view": True},
    doc="remove size-1 dims (all of them when no axes are given)",
))
