"""Transpose: permute dims; values and range unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import permuted
from torch_deeploy.ops._strided import row_major_strides, strided_args
from torch_deeploy.ops.base import Attr, InferCtx, KernelNode, OpSpec
from torch_deeploy.ops.registry import register


def perm_of(rank: int, perm: tuple[int, ...] | None) -> tuple[int, ...]:
    """The permutation to apply; ONNX's default reverses the dims."""
    if perm is None:
        return tuple(range(rank - 1, -1, -1))
    if sorted(perm) != list(range(rank)):
        raise OpError(f"perm {list(perm)} is not a permutation of 0..{rank - 1} (input rank {rank})")
    return tuple(perm)


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    p = perm_of(x.rank, ctx.attrs["perm"])
    return [x.with_shape(tuple(x.shape[i] for i in p))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    assert x is not None
    return [np.ascontiguousarray(np.transpose(x, perm_of(x.ndim, attrs["perm"])))]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    p = perm_of(x.rank, k.attrs["perm"])
    st = row_major_strides(x.shape)
    return strided_args([x.shape[i] for i in p], [st[i] for i in p], 0)


SPEC = register(OpSpec(
    name="Transpose",
    attrs={"perm": Attr("ints", None)},
    infer=infer,
    reference=reference,
    kernel="strided_copy",
    kernel_args=kernel_args,
    tiling=permuted(lambda k: perm_of(len(k.inputs[0].shape), k.attrs["perm"])),
    doc="permute dims (default: reverse them)",
))
