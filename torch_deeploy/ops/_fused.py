"""Registration of fused ops (Requantized<op>, Clipped<op>): an integer op and the epilogue a lowering pass folded
into it, sharing the base op's inputs, kernel template and tiling rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch_deeploy.ops.base import Attr, OpSpec
from torch_deeploy.ops.registry import register


def register_fused(base: OpSpec, name: str, attrs: dict[str, Attr], infer: Callable[..., Any],
                   reference: Callable[..., Any], kernel_args: Callable[..., Any], what: str, made_by: str, *,
                   inputs: tuple[int, int] | None = None, own_attrs_only: bool = False) -> OpSpec:
    """Register `name` = `base` followed by the epilogue `what`, made by the pass in `made_by`: the base's attributes
    plus `attrs` (only `attrs` with own_attrs_only), the base's inputs unless `inputs` says otherwise."""
    return register(OpSpec(
        name=name,
        attrs=dict(attrs) if own_attrs_only else {**base.attrs, **attrs},
        inputs=inputs or base.inputs,
        infer=infer,
        reference=reference,
        domains=("deeploy",),
        kernel=base.kernel,
        kernel_args=kernel_args,
        tiling=base.tiling,
        doc=f"{base.name} followed by {what}, fused by the lowering ({made_by})",
    ))
