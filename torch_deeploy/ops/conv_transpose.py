"""ConvTranspose (float): 1-D/2-D transposed convolution with group, strides, pads, output_padding, dilations.

Each input element scatters x * W[c, m, k] to output position i*stride + k*dilation - pad_begin; the
output length is stride*(in-1) + output_padding + (kernel-1)*dilation + 1 - pad_begin - pad_end.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import Attr, InferCtx, Int, KernelNode, OpSpec, Str
from torch_deeploy.ops.registry import register


def _per_dim(v: tuple[int, ...] | None, nd: int, default: int, what: str) -> tuple[int, ...]:
    if v is None:
        return (default,) * nd
    if len(v) != nd:
        raise OpError(f"'{what}' has {len(v)} values, expected {nd} for a {nd}-D transposed convolution")
    return tuple(v)


def geometry(x_shape: tuple[int, ...], w_shape: tuple[int, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    """Validated hyper-parameters and output shape."""
    if len(x_shape) not in (3, 4):
        raise OpError(f"input must be (N, C, L) or (N, C, H, W), got shape {list(x_shape)}; only 1-D and 2-D "
                      "transposed convolutions are supported")
    nd = len(x_shape) - 2
    if len(w_shape) != nd + 2:
        raise OpError(f"weight must have rank {nd + 2} (C, M/group, kernel...), got shape {list(w_shape)}")
    g = attrs["group"]
    c = x_shape[1]
    if w_shape[0] != c or c % g:
        raise OpError(f"weight shape {list(w_shape)} does not fit {c} input channels with group={g} "
                      "(weight dim 0 must equal the input channels, divisible by group)")
    k = tuple(w_shape[2:])
    if attrs["kernel_shape"] is not None and tuple(attrs["kernel_shape"]) != k:
        raise OpError(f"kernel_shape {list(attrs['kernel_shape'])} does not match the weight's {list(k)}")
    s = _per_dim(attrs["strides"], nd, 1, "strides")
    d = _per_dim(attrs["dilations"], nd, 1, "dilations")
    op = _per_dim(attrs["output_padding"], nd, 0, "output_padding")
    pads = attrs["pads"] if attrs["pads"] is not None else (0,) * (2 * nd)
    if len(pads) != 2 * nd:
        raise OpError(f"'pads' has {len(pads)} values, expected {2 * nd} ([begin..., end...])")
    if attrs["auto_pad"] == "VALID":
        pads = (0,) * (2 * nd)
    if min(s) < 1 or min(d) < 1 or min(pads) < 0 or min(op) < 0:
        raise OpError("strides and dilations must be >= 1, pads and output_padding >= 0")
    for i in range(nd):
        if op[i] >= max(s[i], d[i]):
            raise OpError(f"output_padding {op[i]} must be smaller than the stride or dilation of dim {i}")
    full = tuple(s[i] * (x_shape[2 + i] - 1) + (k[i] - 1) * d[i] + 1 + op[i] for i in range(nd))
    out = tuple(full[i] - pads[i] - pads[nd + i] for i in range(nd))
    if min(out) < 1:
        raise OpError(f"pads {list(pads)} leave an empty output (uncropped size {list(full)})")
    if attrs["output_shape"] is not None:
        want = tuple(attrs["output_shape"])[-nd:]
        if want != out:
            raise OpError(f"output_shape {list(attrs['output_shape'])} differs from {list(out)} given by "
                          "pads/output_padding; give explicit pads instead (implicit padding is unsupported)")
    m = w_shape[1] * g
    return {"nd": nd, "k": k, "s": s, "d": d, "pads": tuple(pads), "full": full, "out": out, "m": m, "g": g}


def infer(ctx: InferCtx) -> list[TensorType]:
    x, w = ctx.input(0), ctx.input(1)
    geo = geometry(x.shape, w.shape, ctx.attrs)
    if ctx.has_input(2) and ctx.input(2).shape != (geo["m"],):
        raise ctx.fail(f"bias must have shape [{geo['m']}], got {list(ctx.input(2).shape)}")
    return [TensorType.floating((x.shape[0], geo["m"], *geo["out"]))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = np.asarray(inputs[0], dtype=np.float64)
    w = np.asarray(inputs[1], dtype=np.float64)
    b = inputs[2] if len(inputs) > 2 else None
    geo = geometry(x.shape, w.shape, attrs)
    nd, g, s, d = geo["nd"], geo["g"], geo["s"], geo["d"]
    n, c = x.shape[:2]
    cg, mg = c // g, w.shape[1]
    y = np.zeros((n, geo["m"], *geo["full"]))
    for gi in range(g):
        xg = x[:, gi * cg:(gi + 1) * cg]
        for kk in itertools.product(*(range(kd) for kd in geo["k"])):
            contrib = np.einsum("nc...,cm->nm...", xg, w[(slice(gi * cg, (gi + 1) * cg), slice(None), *kk)])
            where = tuple(slice(kk[i] * d[i], kk[i] * d[i] + s[i] * (x.shape[2 + i] - 1) + 1, s[i])
                          for i in range(nd))
            y[(slice(None), slice(gi * mg, (gi + 1) * mg), *where)] += contrib
    pads = geo["pads"]
    crop = tuple(slice(pads[i], pads[i] + geo["out"][i]) for i in range(nd))
    y = y[(slice(None), slice(None), *crop)]
    if b is not None:
        y = y + np.asarray(b, dtype=np.float64).reshape((1, -1) + (1,) * nd)
    return [y.astype(np.float32)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """Geometry as 2-D (a 1-D transposed convolution is one with height 1)."""
    x, w = k.inputs[0], k.inputs[1]
    assert x is not None and w is not None
    geo = geometry(x.shape, w.shape, k.attrs)
    nd, g = geo["nd"], geo["g"]

    def hw(v: tuple[int, ...], one: int) -> tuple[int, int]:
        return (one, v[0]) if nd == 1 else (v[0], v[1])

    ih, iw = hw(tuple(x.shape[2:]), 1)
    kh, kw = hw(geo["k"], 1)
    sh, sw = hw(geo["s"], 1)
    dh, dw = hw(geo["d"], 1)
    ph, pw = hw(geo["pads"][:nd], 0)
    oh, ow = hw(geo["out"], 1)
    return {"nb": x.shape[0], "ci": x.shape[1], "cg": x.shape[1] // g, "mo": geo["m"], "mg": w.shape[1], "g": g,
            "ih": ih, "iw": iw, "kh": kh, "kw": kw, "sh": sh, "sw": sw, "dh": dh, "dw": dw, "ph": ph, "pw": pw,
            "oh": oh, "ow": ow}


SPEC = register(OpSpec(
    name="ConvTranspose",
    attrs={
        "auto_pad": Str("NOTSET", choices=("NOTSET", "VALID")),
        "dilations": Attr("ints", None),
        "group": Int(1, min=1),
        "kernel_shape": Attr("ints", None),
        "output_padding": Attr("ints", None),
        "output_shape": Attr("ints", None),
        "pads": Attr("ints", None),
        "strides": Attr("ints", None),
    },
    inputs=(2, 3),
    infer=infer,
    reference=reference,
    kernel="conv_transpose",
    kernel_args=kernel_args,
    doc="float 1-D/2-D transposed convolution (NCHW, weight C x M/group x k...)",
    extras={"float_only": True},
))
