"""Gather: pick entries along one axis by (constant or run-time) integer indices; values keep their range."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import as_int
from torch_deeploy.ops.registry import register


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise OpError(f"axis {axis} is out of range for data of rank {rank} (allowed {-rank}..{rank - 1})")
    return axis + rank if axis < 0 else axis


def _check_indices(idx: np.ndarray, dim: int) -> np.ndarray:
    if idx.size and (idx.min() < -dim or idx.max() >= dim):
        raise OpError(f"indices in [{idx.min()}, {idx.max()}] are out of bounds for an axis of size {dim} "
                      f"(allowed {-dim}..{dim - 1})")
    return np.where(idx < 0, idx + dim, idx)


def infer(ctx: InferCtx) -> list[TensorType]:
    x, ind = ctx.input(0), ctx.input(1)
    axis = _axis(ctx.attrs["axis"], x.rank)
    if ind.is_float:
        raise ctx.fail("indices must be an integer tensor, got float")
    dim = x.shape[axis]
    if ctx.consts[1] is not None:
        _check_indices(as_int(ctx.consts[1]), dim)
    elif ind.size and (ind.range[1] < -dim or ind.range[0] >= dim):  # type: ignore[index]
        lo, hi = ind.range  # type: ignore[misc]
        raise ctx.fail(f"run-time indices in [{lo}, {hi}] can never be in bounds for an axis of size {dim}")
    shape = x.shape[:axis] + ind.shape + x.shape[axis + 1:]
    return [x.with_shape(shape)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, ind = inputs[0], inputs[1]
    assert x is not None and ind is not None
    axis = _axis(attrs["axis"], x.ndim)
    idx = _check_indices(as_int(np.asarray(ind)), x.shape[axis])
    return [np.take(x, idx, axis=axis)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x, ind = k.inputs[0], k.inputs[1]
    assert x is not None and ind is not None
    axis = _axis(k.attrs["axis"], x.rank)
    return {"axis": axis, "outer": int(np.prod(x.shape[:axis], dtype=np.int64)), "n_idx": max(ind.size, 1),
            "dim": x.shape[axis], "inner": int(np.prod(x.shape[axis + 1:], dtype=np.int64))}


SPEC = register(OpSpec(
    name="Gather",
    attrs={"axis": Int(0)},
    inputs=(2, 2),
    infer=infer,
    reference=reference,
    kernel="gather",
    kernel_args=kernel_args,
    doc="take entries along axis by integer indices (negative indices count from the end)",
))
