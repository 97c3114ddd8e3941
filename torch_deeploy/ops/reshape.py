"""Reshape: data movement; the target shape is compile-time data (constant input, or opset-1 attribute)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import Attr, InferCtx, Int, OpSpec
from torch_deeploy.ops.registry import register


def target_shape(in_shape: Sequence[int], spec: Sequence[int], allowzero: int) -> tuple[int, ...]:
    """Resolve ONNX Reshape's shape: 0 copies the input dim (allowzero=0), one -1 is inferred."""
    spec = [int(s) for s in spec]
    if any(s < -1 for s in spec):
        raise OpError(f"shape {spec} has a value below -1; only -1 (infer) and sizes >= 0 are allowed")
    if spec.count(-1) > 1:
        raise OpError(f"shape {spec} has more than one -1")
    if allowzero and 0 in spec and -1 in spec:
        raise OpError(f"shape {spec} mixes 0 and -1 with allowzero=1, which ONNX forbids")
    out: list[int] = []
    for i, s in enumerate(spec):
        if s == 0 and not allowzero:
            if i >= len(in_shape):
                raise OpError(f"shape {spec}: 0 at position {i} copies an input dim, but the input "
                              f"{list(in_shape)} has only {len(in_shape)} dims")
            out.append(int(in_shape[i]))
        else:
            out.append(s)
    total = int(np.prod(in_shape, dtype=np.int64))
    if -1 in out:
        known = int(np.prod([s for s in out if s != -1], dtype=np.int64))
        if known == 0 or total % known:
            raise OpError(f"cannot infer the -1 in shape {spec} for an input of shape {list(in_shape)}")
        out[out.index(-1)] = total // known
    if int(np.prod(out, dtype=np.int64)) != total:
        raise OpError(f"cannot reshape {list(in_shape)} ({total} elements) to {out}")
    return tuple(out)


def _shape_spec(shape_input: np.ndarray | None, attrs: dict[str, Any]) -> list[int]:
    if shape_input is not None:
        if attrs["shape"] is not None:
            raise OpError("give the shape either as input 1 or as the (opset-1) 'shape' attribute, not both")
        a = np.asarray(shape_input)
        if a.ndim != 1:
            raise OpError(f"the shape input must be 1-D, got shape {list(a.shape)}")
        return [int(v) for v in a.reshape(-1)]
    if attrs["shape"] is None:
        raise OpError("needs the target shape as input 1 (or the opset-1 'shape' attribute)")
    return list(attrs["shape"])


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    spec = _shape_spec(ctx.const(1, "shape") if ctx.has_input(1) else None, ctx.attrs)
    return [x.with_shape(target_shape(x.shape, spec, ctx.attrs["allowzero"]))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    assert x is not None
    spec = _shape_spec(inputs[1] if len(inputs) > 1 else None, attrs)
    return [np.reshape(x, target_shape(x.shape, spec, attrs["allowzero"])).copy()]


SPEC = register(OpSpec(
    name="Reshape",
    attrs={
        "allowzero": Int(0, choices=(0, 1)),
        "shape": Attr("ints", None),  # opset 1-4 form
        "consumed_inputs": Attr("ints", None),  # opset 1 legacy, no effect
    },
    inputs=(1, 2),
    infer=infer,
    reference=reference,
    kernel="copy",  # csrc_templates/kernels/copy.c.j2 (runs only when the output cannot alias)
    extras={"view": True},
    doc="change the shape, keep data order and values (0 copies a dim, -1 is inferred)",
))
