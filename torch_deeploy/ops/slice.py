"""Slice: strided sub-tensor; starts/ends/axes/steps are compile-time data (inputs, or opset-1 attributes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops._strided import row_major_strides, strided_args
from torch_deeploy.ops.base import Attr, InferCtx, KernelNode, OpSpec
from torch_deeploy.ops.registry import register

_WHAT = ("data", "starts", "ends", "axes", "steps")


def _ints(a: np.ndarray, what: str) -> list[int]:
    a = np.asarray(a)
    if a.ndim != 1:
        raise OpError(f"{what} must be a 1-D tensor, got shape {list(a.shape)}")
    return [int(v) for v in a]


def plan(shape: tuple[int, ...], params: list[np.ndarray | None], attrs: dict[str, Any]
         ) -> tuple[tuple[slice, ...], tuple[int, ...]]:
    """Per-dim python slices and the output shape, clamped as ONNX specifies."""
    if attrs["starts"] is not None or attrs["ends"] is not None:
        if any(p is not None for p in params):
            raise OpError("give starts/ends as inputs (opset 10+) or as attributes (opset 1), not both")
        if attrs["starts"] is None or attrs["ends"] is None:
            raise OpError("the opset-1 attribute form needs both 'starts' and 'ends'")
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes = list(attrs["axes"]) if attrs["axes"] is not None else None
        steps = None
    else:
        if attrs["axes"] is not None:
            raise OpError("attribute 'axes' belongs to the opset-1 form; with inputs, give axes as input 3")
        if len(params) < 2 or params[0] is None or params[1] is None:
            raise OpError("needs starts and ends (inputs 1 and 2, or opset-1 attributes)")
        starts, ends = _ints(params[0], "starts"), _ints(params[1], "ends")
        axes = _ints(params[2], "axes") if len(params) > 2 and params[2] is not None else None
        steps = _ints(params[3], "steps") if len(params) > 3 and params[3] is not None else None
    r = len(shape)
    if len(ends) != len(starts):
        raise OpError(f"starts ({len(starts)} values) and ends ({len(ends)} values) differ in length")
    if axes is None:
        axes = list(range(len(starts)))
    if steps is None:
        steps = [1] * len(starts)
    if not len(axes) == len(steps) == len(starts):
        raise OpError(f"starts, ends, axes, steps must have equal lengths, got {len(starts)}, {len(ends)}, "
                      f"{len(axes)}, {len(steps)}")
    norm = []
    for a in axes:
        if not -r <= a < r:
            raise OpError(f"axis {a} is out of range for an input of rank {r}")
        norm.append(a + r if a < 0 else a)
    if len(set(norm)) != len(norm):
        raise OpError(f"axes {axes} repeat an axis")
    slices = [slice(None)] * r
    out = list(shape)
    for a, s, e, st in zip(norm, starts, ends, steps, strict=True):
        d = shape[a]
        if st == 0:
            raise OpError("steps must be non-zero")
        s = s + d if s < 0 else s
        e = e + d if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
            n = max(0, -(-(e - s) // st))
        else:
            s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
            n = max(0, -(-(s - e) // -st))
        out[a] = n
        slices[a] = slice(s, e if e >= 0 else None, st) if n else slice(0, 0, 1)
    return tuple(slices), tuple(out)


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    params = [ctx.const(i, _WHAT[i]) if ctx.has_input(i) else None for i in range(1, 5)]
    _, shape = plan(x.shape, params, ctx.attrs)
    return [x.with_shape(shape)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    assert x is not None
    slices, shape = plan(x.shape, list(inputs[1:]), attrs)
    y = np.array(x[slices], copy=True)
    assert y.shape == shape
    return [y]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    slices, shape = plan(x.shape, list(k.consts[1:]), k.attrs)
    st = row_major_strides(x.shape)
    base, strides = 0, []
    for d, sl in enumerate(slices):
        start, _, step = sl.indices(max(x.shape[d], 1))
        base += start * st[d]
        strides.append(step * st[d])
    return strided_args(shape, strides, base if all(shape) else 0)


SPEC = register(OpSpec(
    name="Slice",
    attrs={
        # opset 1 attribute form; opset 10+ passes these as inputs 1..4
        "starts": Attr("ints", None),
        "ends": Attr("ints", None),
        "axes": Attr("ints", None),
    },
    inputs=(1, 5),
    infer=infer,
    reference=reference,
    kernel="strided_copy",
    kernel_args=kernel_args,
    doc="strided slice with ONNX clamping (negative indices, out-of-range ends, negative steps)",
))
