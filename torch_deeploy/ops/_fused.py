"""Registration of fused ops (Requantized<op>, Clipped<op>): an integer op and the epilogue a lowering pass folded
into it, sharing the base op's inputs, kernel template and tiling rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch_deeploy.ops.base import Attr, OpSpec
from torch_deeploy.ops.registry import register


def register_fused(base: OpSpec, name: str, attrs: dict[str, Attr], infer: Callable[..., Any],
                   reference: Callable[..., Any], kernel_args: Callable[..., Any], what: str, made_by: str) -> OpSpec:
    """Register `name` = `base` followed by the epilogue `what`, made by the pass in `made_by`."""
    return register(OpSpec(
        name=name,
        attrs={**base.attrs, **attrs},
        inputs=base.inputs,
        infer=infer,
        reference=reference,
        domains=("deeploy",),
        kernel=base.kernel,
        kernel_args=kernel_args,
        tiling=base.tiling,
        doc=f"{base.name} followed by {what}, fused by the lowering ({made_by})",
    ))
