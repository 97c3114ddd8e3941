"""Conv: 1-D and 2-D NCHW convolution with groups (depthwise when group = C), zero padding
[begin..., end...], strides and dilations, optional bias; exact int64 accumulation.

The output range is exact per output channel for constant weights (each window holds the whole kernel;
padded taps contribute 0, so 0 joins the input range when there is padding).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import sliding_window
from torch_deeploy.ops._elementwise import integer_type, is_float_array
from torch_deeploy.ops._linear import acc_ctype, bounds, dot_bounds, partial_bounds, tap_ranges
from torch_deeploy.ops.base import Attr, InferCtx, Int, Ints, KernelNode, OpSpec
from torch_deeploy.ops.common import any_float, as_int, mul_ranges, rng
from torch_deeploy.ops.registry import register

# Receptive-field bytes per pixel that the cluster kernel gathers at once (a 4-pixel buffer of 1152 B on a core's
# stack); longer reductions run in chunks of input channels that add partial sums into an int32 output.
GATHER_BYTES = 288


def chunk_channels(cg: int, khw: int) -> int:
    """Input channels per chunk of the reduction: whole channels whose taps fill whole words."""
    u = 4 if khw % 2 else (2 if khw % 4 else 1)
    return min(((GATHER_BYTES // khw) // u) * u, cg)


def reduction_chunks(cg: int, khw: int) -> int:
    """Passes of the cluster kernel over the reduction (1 when it fits the buffer or takes the scalar loop)."""
    cc = chunk_channels(cg, khw)
    return -(-cg // cc) if cc > 0 else 1


def _notset_only(v: str) -> str | None:
    if v != "NOTSET":
        return "only auto_pad='NOTSET' (explicit pads) is supported; re-export with explicit pads"
    return None


AUTO_PAD = Attr("str", "NOTSET", _notset_only)


def window_params(attrs: dict[str, Any], kernel: tuple[int, ...], what: str
                  ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """strides, dilations, pads_begin, pads_end filled with defaults and checked against the kernel rank."""
    nd = len(kernel)
    strides = attrs["strides"] if attrs["strides"] is not None else (1,) * nd
    dil = attrs["dilations"] if attrs["dilations"] is not None else (1,) * nd
    pads = attrs["pads"] if attrs["pads"] is not None else (0,) * (2 * nd)
    if len(strides) != nd or len(dil) != nd:
        raise OpError(f"{what} has {nd} spatial dims but strides={list(strides)}, dilations={list(dil)}")
    if len(pads) != 2 * nd:
        raise OpError(f"pads={list(pads)} must have {2 * nd} values [begin..., end...] for {nd} spatial dims")
    return tuple(strides), tuple(dil), tuple(pads[:nd]), tuple(pads[nd:])


def out_len(n: int, k: int, s: int, d: int, pb: int, pe: int, ceil: bool = False) -> int:
    """Number of window positions along one axis (ONNX NOTSET rule; ceil_mode keeps the last window
    starting inside the input or its begin padding)."""
    span = n + pb + pe - d * (k - 1) - 1
    if span < 0:
        raise OpError(f"kernel extent {d * (k - 1) + 1} exceeds the padded input length {n + pb + pe}")
    o = -(-span // s) + 1 if ceil else span // s + 1
    if ceil and (o - 1) * s >= n + pb:
        o -= 1
    return o


def infer(ctx: InferCtx) -> list[TensorType]:
    x, w = ctx.input(0), ctx.input(1)
    if x.rank not in (3, 4):
        raise ctx.fail(f"input must be 3-D (N,C,L) or 4-D (N,C,H,W); got shape {list(x.shape)} "
                       "(only 1-D and 2-D convolutions are supported)")
    if w.rank != x.rank:
        raise ctx.fail(f"weight shape {list(w.shape)} must have the rank of the input {list(x.shape)}")
    g = ctx.attrs["group"]
    c, m = x.shape[1], w.shape[0]
    if c % g or m % g:
        raise ctx.fail(f"group={g} must divide input channels {c} and output channels {m}")
    if w.shape[1] != c // g:
        raise ctx.fail(f"weight shape {list(w.shape)} needs {c // g} input channels per group "
                       f"(C={c}, group={g})")
    kernel = tuple(w.shape[2:])
    if ctx.attrs["kernel_shape"] is not None and tuple(ctx.attrs["kernel_shape"]) != kernel:
        raise ctx.fail(f"kernel_shape={list(ctx.attrs['kernel_shape'])} differs from the weight's "
                       f"{list(kernel)}")
    strides, dil, pb, pe = window_params(ctx.attrs, kernel, "Conv")
    spatial = tuple(out_len(n, k, s, d, b, e) for n, k, s, d, b, e in
                    zip(x.shape[2:], kernel, strides, dil, pb, pe, strict=True))
    shape = (x.shape[0], m, *spatial)
    bias = ctx.inputs[2] if ctx.has_input(2) else None
    if bias is not None and bias.shape not in ((m,),):
        raise ctx.fail(f"bias must have shape [{m}], got {list(bias.shape)}")
    if any_float(x, w, bias):
        return [TensorType.floating(shape)]
    xr = rng(x)
    if any(pb) or any(pe):
        xr = (min(xr[0], 0), max(xr[1], 0))
    taps = int(np.prod(w.shape[1:], dtype=np.int64))
    if ctx.consts[1] is not None:
        lo, hi = dot_bounds(xr, ctx.consts[1], tuple(range(1, w.rank)))
        lo, hi = lo.reshape(-1), hi.reshape(-1)  # per output channel
    else:
        p = mul_ranges(xr, rng(w))
        lo, hi = np.full(m, p[0] * taps), np.full(m, p[1] * taps)
    if bias is not None:
        if ctx.consts[2] is not None:
            bc = ctx.consts[2].astype(np.int64).reshape(-1)
            lo, hi = lo + bc, hi + bc
        else:
            br = rng(bias)
            lo, hi = lo + br[0], hi + br[1]
    lo_i, hi_i = bounds(lo, hi)
    return [integer_type(shape, lo_i, hi_i)]


def conv_nd(x: np.ndarray, w: np.ndarray, group: int, strides: tuple[int, ...], dil: tuple[int, ...],
            pb: tuple[int, ...], pe: tuple[int, ...]) -> np.ndarray:
    """Grouped convolution by accumulating one kernel tap at a time (exact for int64)."""
    n, c = x.shape[:2]
    m = w.shape[0]
    kernel = w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0), *zip(pb, pe, strict=True)])
    spatial = [out_len(sz, k, s, d, b, e) for sz, k, s, d, b, e in
               zip(x.shape[2:], kernel, strides, dil, pb, pe, strict=True)]
    xg = xp.reshape(n, group, c // group, *xp.shape[2:])
    wg = w.reshape(group, m // group, c // group, *kernel)
    acc = np.zeros((n, group, m // group, *spatial), dtype=np.result_type(x, w))
    for tap in itertools.product(*(range(k) for k in kernel)):
        idx = tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, d, s, o in
                    zip(tap, dil, strides, spatial, strict=True))
        xs = xg[(slice(None), slice(None), slice(None), *idx)]  # (N, G, C/G, *out)
        wt = wg[(slice(None), slice(None), slice(None), *tap)]  # (G, M/G, C/G)
        acc += np.einsum("ngc...,gmc->ngm...", xs, wt)
    return acc.reshape(n, m, *spatial)


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, w = np.asarray(inputs[0]), np.asarray(inputs[1])
    b = inputs[2] if len(inputs) > 2 else None
    strides, dil, pb, pe = window_params(attrs, tuple(w.shape[2:]), "Conv")
    bshape = (1, w.shape[0]) + (1,) * (x.ndim - 2)
    if any(is_float_array(t) for t in (x, w, b)):
        y = conv_nd(x.astype(np.float64), w.astype(np.float64), attrs["group"], strides, dil, pb, pe)
        if b is not None:
            y = y + np.asarray(b, dtype=np.float64).reshape(bshape)
        return [y.astype(np.float32)]
    yi = conv_nd(as_int(x), as_int(w), attrs["group"], strides, dil, pb, pe)
    if b is not None:
        yi = yi + as_int(np.asarray(b)).reshape(bshape)
    return [yi]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """Geometry as 2-D (a 1-D conv is H = 1), per-row/column valid tap ranges, accumulator type."""
    x, w = k.inputs[0], k.inputs[1]
    y = k.outputs[0]
    assert x is not None and w is not None
    bias = k.inputs[2] if len(k.inputs) > 2 else None
    kernel = tuple(w.shape[2:])
    strides, dil, pb, _ = window_params(k.attrs, kernel, "Conv")
    if len(kernel) == 1:  # 1-D as 2-D with H = 1
        kernel, strides, dil, pb = (1, *kernel), (1, *strides), (1, *dil), (0, *pb)
    xs = (1, *x.shape[2:]) if x.rank == 3 else tuple(x.shape[2:])
    ys = (1, *y.shape[2:]) if y.rank == 3 else tuple(y.shape[2:])
    g = k.attrs["group"]
    m, c = w.shape[0], x.shape[1]
    if y.is_float:
        acc = "double"  # the reference accumulates in float64; one rounding to float32 at the end
    else:
        xr = rng(x)
        if k.consts[1] is not None:
            part = partial_bounds(xr, k.consts[1], None, tuple(range(1, w.rank)), 0)
        else:
            part = partial_bounds(xr, None, rng(w), 0, int(np.prod(w.shape[1:], dtype=np.int64)))
        ranges = [part]
        if bias is not None:
            br = rng(bias)
            ranges.append((part[0] + br[0], part[1] + br[1]))  # acc starts at the bias
        acc = acc_ctype(*ranges)
    return {
        "N": x.shape[0], "C": c, "H": xs[0], "W": xs[1], "M": m, "Cg": c // g, "Mg": m // g,
        "KH": kernel[0], "KW": kernel[1], "OH": ys[0], "OW": ys[1],
        "SH": strides[0], "SW": strides[1], "DH": dil[0], "DW": dil[1], "PH": pb[0], "PW": pb[1],
        "rows": tap_ranges(ys[0], xs[0], kernel[0], strides[0], dil[0], pb[0]),
        "cols": tap_ranges(ys[1], xs[1], kernel[1], strides[1], dil[1], pb[1]),
        "acc": acc, "CC": chunk_channels(c // g, kernel[0] * kernel[1]),
    }


def cost(k: KernelNode) -> tuple[float, float]:
    """(int8 MACs, other element operations) of one (tile) node. The cluster kernel gathers every output pixel's
    receptive field once per tile, shared by all the tile's output channels: a tile split along output channels
    repeats that gather (one operation per byte), a split along pixels does not."""
    x, w, y = k.inputs[0], k.inputs[1], k.outputs[0]
    assert x is not None and w is not None
    taps = int(np.prod(w.shape[2:], dtype=np.int64))
    pixels = int(np.prod(y.shape, dtype=np.int64)) // max(y.shape[1], 1)
    macs = float(int(np.prod(y.shape, dtype=np.int64)) * int(np.prod(w.shape[1:], dtype=np.int64)))
    return macs, float(pixels * x.shape[1] * taps + int(np.prod(y.shape, dtype=np.int64)))


SPEC = register(OpSpec(
    name="Conv",
    attrs={
        "auto_pad": AUTO_PAD,
        "dilations": Ints(None, min=1),
        "group": Int(1, min=1),
        "kernel_shape": Ints(None, min=1),
        "pads": Ints(None, min=0),
        "strides": Ints(None, min=1),
    },
    inputs=(2, 3),
    infer=infer,
    reference=reference,
    kernel="conv",
    kernel_args=kernel_args,
    cost=cost,
    tiling=sliding_window(lambda k: (tuple(k.inputs[1].shape[2:]),
                                   *window_params(k.attrs, tuple(k.inputs[1].shape[2:]), "Conv")), weights=True),
    doc="1-D/2-D NCHW convolution, groups/depthwise, zero pads, strides, dilations, optional bias; exact",
))
