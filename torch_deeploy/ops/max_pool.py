"""MaxPool: 1-D/2-D max over windows (kernel_shape, strides, pads, dilations, ceil_mode 0/1).

Padding never wins (ONNX pads with -inf), so the output range is the input range. Only the values
output is supported; the optional Indices output is rejected.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import sliding_window
from torch_deeploy.ops._linear import tap_ranges
from torch_deeploy.ops.base import Attr, InferCtx, Int, Ints, KernelNode, OpSpec
from torch_deeploy.ops.conv import AUTO_PAD, out_len, window_params
from torch_deeploy.ops.registry import register


def _storage_order(v: int) -> str | None:
    return None if v in (0, 1) else "must be 0 or 1 (it only affects the unsupported Indices output)"


def _geometry(shape: tuple[int, ...], attrs: dict[str, Any]) -> tuple[tuple[int, ...], ...]:
    kernel = tuple(attrs["kernel_shape"])
    if len(shape) not in (3, 4):
        raise OpError(f"input must be 3-D (N,C,L) or 4-D (N,C,H,W); got shape {list(shape)} "
                      "(only 1-D and 2-D pooling is supported)")
    if len(kernel) != len(shape) - 2:
        raise OpError(f"kernel_shape={list(kernel)} does not match the {len(shape) - 2} spatial dims of "
                      f"input {list(shape)}")
    strides, dil, pb, pe = window_params(attrs, kernel, "MaxPool")
    ceil = bool(attrs["ceil_mode"])
    out = []
    for n, k, s, d, b, e in zip(shape[2:], kernel, strides, dil, pb, pe, strict=True):
        ext = d * (k - 1) + 1
        if b >= ext or e >= ext:
            raise OpError(f"pads {[b, e]} must be smaller than the window extent {ext}")
        o = out_len(n, k, s, d, b, e, ceil)
        for i in range(o):  # every window must see at least one real element
            if not any(0 <= i * s - b + j * d < n for j in range(k)):
                raise OpError(f"window {i} along a spatial axis covers only padding "
                              f"(length {n}, kernel {k}, stride {s}, dilation {d}, pads {[b, e]})")
        out.append(o)
    return kernel, strides, dil, pb, tuple(out)


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    *_, spatial = _geometry(x.shape, ctx.attrs)
    shape = (*x.shape[:2], *spatial)
    if x.is_float:
        return [TensorType.floating(shape)]
    return [TensorType(shape, x.dtype, x.range)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = np.asarray(inputs[0])
    kernel, strides, dil, pb, spatial = _geometry(x.shape, attrs)
    is_float = x.dtype.kind == "f"
    fill = -np.inf if is_float else np.iinfo(np.int64).min
    xv = x.astype(np.float64) if is_float else x.astype(np.int64)
    # pad so that every window (including ceil_mode's last one) is in bounds; the fill never wins
    pe = [max(0, (o - 1) * s + d * (k - 1) + 1 - n - b) for o, s, d, k, n, b in
          zip(spatial, strides, dil, kernel, x.shape[2:], pb, strict=True)]
    xp = np.pad(xv, [(0, 0), (0, 0), *zip(pb, pe, strict=True)], constant_values=fill)
    out = np.full((*x.shape[:2], *spatial), fill, dtype=xv.dtype)
    for tap in itertools.product(*(range(k) for k in kernel)):
        idx = tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, d, s, o in
                    zip(tap, dil, strides, spatial, strict=True))
        np.maximum(out, xp[(slice(None), slice(None), *idx)], out=out)
    return [out.astype(np.float32) if is_float else out]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """Geometry as 2-D (1-D pooling is H = 1) with the valid tap range of every output row and column."""
    x = k.inputs[0]
    assert x is not None
    kernel, strides, dil, pb, spatial = _geometry(x.shape, k.attrs)
    xs = tuple(x.shape[2:])
    if len(kernel) == 1:
        kernel, strides, dil, pb, spatial, xs = ((1, *kernel), (1, *strides), (1, *dil), (0, *pb),
                                                 (1, *spatial), (1, *xs))
    return {
        "NC": x.shape[0] * x.shape[1], "H": xs[0], "W": xs[1], "OH": spatial[0], "OW": spatial[1],
        "KH": kernel[0], "KW": kernel[1], "SH": strides[0], "SW": strides[1], "DH": dil[0], "DW": dil[1],
        "PH": pb[0], "PW": pb[1],
        "rows": tap_ranges(spatial[0], xs[0], kernel[0], strides[0], dil[0], pb[0]),
        "cols": tap_ranges(spatial[1], xs[1], kernel[1], strides[1], dil[1], pb[1]),
    }


SPEC = register(OpSpec(
    name="MaxPool",
    attrs={
        "auto_pad": AUTO_PAD,
        "ceil_mode": Int(0, choices=(0, 1)),
        "dilations": Ints(None, min=1),
        "kernel_shape": Ints(min=1),
        "pads": Ints(None, min=0),
        "storage_order": Attr("int", 0, _storage_order),
        "strides": Ints(None, min=1),
    },
    inputs=(1, 1),
    outputs=(1, 1),  # the Indices output is not supported
    infer=infer,
    reference=reference,
    kernel="max_pool",
    kernel_args=kernel_args,
    tiling=sliding_window(lambda k: (tuple(k.attrs["kernel_shape"]),
                                   *window_params(k.attrs, tuple(k.attrs["kernel_shape"]), "MaxPool")), weights=False),
    doc="1-D/2-D max pooling, pads never win, ceil_mode 0/1; values output only (no Indices)",
))
