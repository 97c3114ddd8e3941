"""NeurekaConv: one N-EUREKA job (1x1, dense 3x3 or depthwise 3x3 convolution, channels-last), produced
by the N-EUREKA lowering (torch_deeploy/engines/neureka.py) from Conv / MatMul / Gemm with constant
weights, with a following RequantShift folded into the engine's normalization unit when bit-identical.

Its numpy reference IS the functional model of the engine (written from SIRACUSA.md section 2):
  * weights arrive unsigned and bit-serially packed (``pack_weights``); the layer's weight offset
    (the minimum of the original weights) is added back by the engine: acc = sum(wq*x) + offset*sum(x);
  * padded taps read the padding value 0; accumulation is exact in 32 bits (the lowering checks it);
  * normalization/quantization (``norm=1``): y = (acc*scale[c] + bias[c]) >> shift (arithmetic shift,
    one shift per layer, per-output-channel scale and bias), optional ReLU, saturation to int8 or uint8;
    with ``norm=0`` the raw int32 accumulators are the output.
RequantShift's ``+ div/2`` rounding term is folded into the bias by the lowering, so the normalization
itself needs no rounding mode.

Layouts: x is (N, H, W, Cin) for the 3x3 kinds and (..., Cin) for 1x1 (leading dims are pixels);
y is (N, OH, OW, Cout) or (..., Cout). Packed weights (uint8, SIRACUSA.md "Weight layout"; bit i of a
32-byte word is bit i%8 of byte i//8; the bit order is the one GVSoC's N-EUREKA model decodes, checked
against it on GVSoC):
  * pw    (Cout, ceil(Cin/32), 32): 8 groups of 4 channels, 4 bytes each; in group g, bit plane b of
    channel 4g+c is bit 4b + c of the group's 32 bits (bit planes LSB first);
  * dense (Cout, ceil(Cin/28), 8, 32): one word per bit plane, tap t (= 3*kh + kw), channel c at bit
    28*t + c (tap-major, 252 bits used);
  * dw    (1, ceil(C/28), 8, 32): as dense, channel c of the layer in group c // 28 at position c % 28.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import Box, TileMap, TilingRule, window_span
from torch_deeploy.ops.base import InferCtx, Int, Ints, KernelNode, OpSpec, Str
from torch_deeploy.ops.common import as_int
from torch_deeploy.ops.registry import register

KINDS = ("pw", "dense", "dw")
SUBTILE_HW = 6  # output subtile: 6x6 pixels x 32 output channels (SIRACUSA.md section 2)
SUBTILE_KO = 32
CIN_BLOCK = {"pw": 32, "dense": 28, "dw": 28}  # input channels per subtile
WEIGHT_BITS = 8
MAX_PAD = 2  # the driver's NEUREKA_MAX_PAD


def weight_shape(kind: str, cin: int, cout: int) -> tuple[int, ...]:
    kb = math.ceil(cin / CIN_BLOCK[kind])
    if kind == "pw":
        return (cout, kb, 32)
    if kind == "dense":
        return (cout, kb, WEIGHT_BITS, 32)
    return (1, kb, WEIGHT_BITS, 32)


def pack_weights(wq: np.ndarray, kind: str) -> np.ndarray:
    """Bit-serial packing of unsigned 8-bit weights: pw (Cout, Cin), dense (Cout, Cin, 3, 3), dw (C, 3, 3)."""
    wq = np.asarray(wq).astype(np.int64)
    if wq.size and (wq.min() < 0 or wq.max() > 255):
        raise OpError(f"packed weights must be unsigned 8-bit, got [{wq.min()}, {wq.max()}]")
    bits = np.arange(WEIGHT_BITS)
    if kind == "pw":
        cout, cin = wq.shape
        kb = math.ceil(cin / 32)
        w = np.zeros((cout, kb * 32), dtype=np.int64)
        w[:, :cin] = wq
        w = w.reshape(cout, kb, 8, 1, 4)  # 8 groups of 4 channels
        planes = (w >> bits[None, None, None, :, None]) & 1  # (cout, kb, group, plane, channel)
        return np.packbits(planes.reshape(cout, kb, 256).astype(np.uint8), axis=-1,
                           bitorder="little").reshape(cout, kb, 32)
    if kind == "dense":
        cout, cin = wq.shape[:2]
        kb = math.ceil(cin / 28)
        w = np.zeros((cout, kb * 28, 9), dtype=np.int64)
        w[:, :cin] = wq.reshape(cout, cin, 9)
        w = w.reshape(cout, kb, 28, 9).transpose(0, 1, 3, 2).reshape(cout, kb, 252)  # tap-major
        planes = np.zeros((cout, kb, WEIGHT_BITS, 256), dtype=np.uint8)
        planes[..., :252] = (w[:, :, None, :] >> bits[None, None, :, None]) & 1
        return np.packbits(planes, axis=-1, bitorder="little")
    if kind == "dw":
        c = wq.shape[0]
        kb = math.ceil(c / 28)
        w = np.zeros((kb * 28, 9), dtype=np.int64)
        w[:c] = wq.reshape(c, 9)
        w = w.reshape(kb, 28, 9).transpose(0, 2, 1).reshape(kb, 252)  # tap-major
        planes = np.zeros((kb, WEIGHT_BITS, 256), dtype=np.uint8)
        planes[..., :252] = (w[:, None, :] >> bits[None, :, None]) & 1
        return np.packbits(planes, axis=-1, bitorder="little")[None]
    raise OpError(f"unknown N-EUREKA kind '{kind}' (known: {', '.join(KINDS)})")


def unpack_weights(packed: np.ndarray, kind: str, cin: int, cout: int) -> np.ndarray:
    """Inverse of pack_weights: pw (Cout, Cin), dense (Cout, Cin, 3, 3), dw (C, 3, 3) unsigned weights."""
    p = np.asarray(packed).astype(np.uint8)
    if tuple(p.shape) != weight_shape(kind, cin, cout):
        raise OpError(f"packed {kind} weights of shape {list(p.shape)}, expected "
                      f"{list(weight_shape(kind, cin, cout))} for Cin={cin}, Cout={cout}")
    weights = (1 << np.arange(WEIGHT_BITS, dtype=np.int64))
    if kind == "pw":
        planes = np.unpackbits(p, axis=-1, bitorder="little").reshape(cout, -1, 8, WEIGHT_BITS, 4)
        w = np.einsum("okgbc,b->okgc", planes.astype(np.int64), weights).reshape(cout, -1)
        return w[:, :cin]
    planes = np.unpackbits(p, axis=-1, bitorder="little")[..., :252].astype(np.int64)  # (.., kb, 8, 252)
    w = np.einsum("...bp,b->...p", planes, weights)  # (.., kb, 252), tap-major
    w = np.swapaxes(w.reshape(*w.shape[:-1], 9, 28), -1, -2)  # (.., kb, 28, 9)
    if kind == "dense":
        return w.reshape(cout, -1, 9)[:, :cin].reshape(cout, cin, 3, 3)
    return w.reshape(-1, 9)[:cin].reshape(cin, 3, 3)


def _geometry(attrs: dict[str, Any]) -> tuple[int, int, int, int]:
    pt, pl, pb, pr = attrs["pads"]
    return pt, pl, pb, pr


def out_bounds(attrs: dict[str, Any]) -> tuple[int, int]:
    return (-128, 127) if attrs["out_signed"] else (0, 255)


def infer(ctx: InferCtx) -> list[TensorType]:
    a = ctx.attrs
    kind, cin, cout = a["kind"], a["cin"], a["cout"]
    x = ctx.input(0)
    w = ctx.input(1)
    if x.is_float or x.dtype.name not in ("int8", "uint8"):
        raise ctx.fail(f"activations must be int8 or uint8, got {x.dtype}")
    if x.shape[-1] != cin:
        raise ctx.fail(f"input has {x.shape[-1]} channels (last dim), attribute cin={cin}")
    if kind == "dw" and cin != cout:
        raise ctx.fail(f"depthwise needs cin == cout, got {cin}, {cout}")
    if tuple(w.shape) != weight_shape(kind, cin, cout):
        raise ctx.fail(f"packed weights of shape {list(w.shape)}, expected {list(weight_shape(kind, cin, cout))}")
    pt, pl, pb, pr = _geometry(a)
    if kind == "pw":
        if any(a["pads"]):
            raise ctx.fail("a 1x1 job has no padding")
        shape = (*x.shape[:-1], cout)
    else:
        if x.rank != 4:
            raise ctx.fail(f"3x3 jobs take NHWC input, got shape {list(x.shape)}")
        if max(a["pads"]) > MAX_PAD:
            raise ctx.fail(f"padding {list(a['pads'])} exceeds {MAX_PAD}")
        oh, ow = x.shape[1] + pt + pb - 2, x.shape[2] + pl + pr - 2
        if oh < 0 or ow < 0:
            raise ctx.fail(f"input {list(x.shape)} with pads {list(a['pads'])} is smaller than the 3x3 kernel")
        shape = (x.shape[0], oh, ow, cout)
    if a["norm"]:
        for i, what in ((2, "scale"), (3, "bias")):
            if not ctx.has_input(i) or ctx.input(i).shape != (cout,):
                raise ctx.fail(f"normalization needs a {what} vector of {cout} values")
        lo, hi = out_bounds(a)
        return [TensorType.integer(shape, lo, hi)]
    from torch_deeploy.ir import dtypes

    r = 255 * 9 * cin * 255 + abs(a["weight_offset"]) * 9 * cin * 255  # a loose bound; the lowering keeps the
    return [TensorType(shape, dtypes.int32, (-r, r))]  # original tensor's exact range in the graph


def functional_model(x: np.ndarray, packed: np.ndarray, scale: np.ndarray | None, bias: np.ndarray | None,
                     attrs: dict[str, Any]) -> np.ndarray:
    """The engine's computation, step by step as documented (unsigned weights, offset, norm, ReLU)."""
    kind, cin, cout = attrs["kind"], attrs["cin"], attrs["cout"]
    wq = unpack_weights(packed, kind, cin, cout)
    woff = attrs["weight_offset"]
    x = as_int(x)
    if kind == "pw":
        flat = x.reshape(-1, cin)
        acc = flat @ wq.T + woff * flat.sum(axis=1, keepdims=True)
        acc = acc.reshape(*x.shape[:-1], cout)
    else:
        pt, pl, pb, pr = _geometry(attrs)
        xp = np.pad(x, [(0, 0), (pt, pb), (pl, pr), (0, 0)])
        n, hp, wp, _ = xp.shape
        oh, ow = hp - 2, wp - 2
        acc = np.zeros((n, oh, ow, cout), dtype=np.int64)
        xsum = np.zeros((n, oh, ow, cin), dtype=np.int64)
        for kh in range(3):
            for kw in range(3):
                win = xp[:, kh:kh + oh, kw:kw + ow, :]
                xsum += win
                if kind == "dense":
                    acc += np.einsum("nhwc,oc->nhwo", win, wq[:, :, kh, kw])
                else:
                    acc += win * wq[None, None, None, :, kh, kw]
        acc += woff * (xsum.sum(axis=-1, keepdims=True) if kind == "dense" else xsum)
    if not attrs["norm"]:
        return acc
    assert scale is not None and bias is not None
    t = acc * as_int(scale) + as_int(bias)
    y = t >> attrs["shift"]  # numpy's >> on int64 is arithmetic (floor)
    if attrs["relu"]:
        y = np.maximum(y, 0)
    lo, hi = out_bounds(attrs)
    return np.clip(y, lo, hi)


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, w = inputs[0], inputs[1]
    assert x is not None and w is not None
    scale = inputs[2] if len(inputs) > 2 else None
    bias = inputs[3] if len(inputs) > 3 else None
    return [functional_model(np.asarray(x), np.asarray(w), scale, bias, attrs)]


def pixels_hw(p: int) -> tuple[int, int]:
    """(H, W) with H*W = p needing the fewest 6x6 output subtiles (1x1 jobs only: pixel order is free)."""
    best = (1, p)
    cost = math.ceil(p / SUBTILE_HW)
    for h in range(1, int(math.isqrt(max(p, 1))) + 1):
        if p % h:
            continue
        for hh, ww in ((h, p // h), (p // h, h)):
            c = math.ceil(hh / SUBTILE_HW) * math.ceil(ww / SUBTILE_HW)
            if c < cost:
                best, cost = (hh, ww), c
    return best


def job_geometry(k: KernelNode) -> dict[str, Any]:
    """Per-job (one batch element) dimensions and the register-level fields derived from them."""
    a = k.attrs
    x, y = k.inputs[0], k.outputs[0]
    assert x is not None
    kind, cin, cout = a["kind"], a["cin"], a["cout"]
    if kind == "pw":
        pix = int(np.prod(x.shape[:-1], dtype=np.int64))
        jobs = 1
        hin, win = pixels_hw(pix) if pix else (0, 0)
        oh, ow = hin, win
    else:
        jobs = x.shape[0]
        hin, win = x.shape[1], x.shape[2]
        oh, ow = y.shape[1], y.shape[2]
    blk = CIN_BLOCK[kind]

    def split(n: int, step: int) -> tuple[int, int]:
        nb = max(math.ceil(n / step), 1)
        return nb, n - (nb - 1) * step

    nb_ko, rem_ko = split(cout, SUBTILE_KO if kind != "dw" else blk)  # depthwise: 28-channel blocks
    nb_ki, rem_ki = split(cin, blk)
    nb_ho, rem_ho = split(oh, SUBTILE_HW)
    nb_wo, rem_wo = split(ow, SUBTILE_HW)
    # input rows/cols of the last subtile, counted from the subtile's start in padded coordinates
    pt, pl = (a["pads"][0], a["pads"][1]) if kind != "pw" else (0, 0)
    rem_hi = hin + pt - (nb_ho - 1) * SUBTILE_HW
    rem_wi = win + pl - (nb_wo - 1) * SUBTILE_HW
    obytes = 1 if a["norm"] else 4
    wd0 = 32 if kind == "pw" else WEIGHT_BITS * 32
    return {"jobs": jobs, "hin": hin, "win": win, "oh": oh, "ow": ow, "cin": cin, "cout": cout,
            "nb_ko": nb_ko, "rem_ko": rem_ko, "nb_ki": nb_ki, "rem_ki": rem_ki, "nb_ho": nb_ho, "rem_ho": rem_ho,
            "nb_wo": nb_wo, "rem_wo": rem_wo, "rem_hi": rem_hi, "rem_wi": rem_wi,
            "in_d0": cin, "in_d1": cin * win, "in_job": cin * hin * win,
            "out_d0": cout * obytes, "out_d1": cout * obytes * ow, "out_job": cout * obytes * oh * ow,
            "w_d0": wd0, "w_d1": nb_ki * wd0 if kind != "dw" else 0, "obytes": obytes,
            "subtiles": nb_ko * nb_ki * nb_ho * nb_wo * jobs if kind != "dw" else nb_ki * nb_ho * nb_wo * jobs}


def kernel_args(k: KernelNode) -> dict[str, Any]:
    a = k.attrs
    x, scale = k.inputs[0], k.inputs[2] if len(k.inputs) > 2 else None
    assert x is not None
    pt, pl, pb, pr = _geometry(a)
    geo = job_geometry(k)
    kind_code = {"pw": 0, "dense": 1, "dw": 2}[a["kind"]]
    scale32 = scale is not None and scale.dtype.nbytes == 4
    conf = (kind_code | (WEIGHT_BITS - 1) << 2 | a["norm"] << 5 | (a["shift"] & 31) << 6 | a["relu"] << 11
            | (1 if a["norm"] else 0) << 12 | int(scale32) << 13 | int(x.dtype.signed) << 14
            | a["out_signed"] << 15)
    return {**geo, "pads": (pt, pr, pb, pl), "conf": conf, "kind_code": kind_code, "woff": a["weight_offset"]}


def engine_cycles(k: KernelNode, params: dict[str, Any]) -> float:
    """Modelled cycles of the job(s) of one tile (targets/siracusa.toml [engines.neureka], estimates)."""
    geo = job_geometry(k)
    per = float(params.get(f"subtile_cycles_{k.attrs['kind']}", 100.0))
    wbytes = k.inputs[1].nbytes if k.inputs[1] is not None else 0
    return geo["subtiles"] * per + geo["jobs"] * float(params.get("job_cycles", 200.0)) + wbytes / float(
        params.get("weight_bytes_per_cycle", 32.0))


def tiling(k: KernelNode) -> TilingRule:
    """Full input channels per tile (no partial sums); output channels split freely except depthwise
    (multiples of 28, the channels of one packed word); spatial dims split freely. The cost model counts
    6x6x32 subtiles, so tiles that are multiples of 6 pixels and 32 channels win where they fit."""
    a = k.attrs
    kind = a["kind"]
    y = k.outputs[0]
    rank = len(y.shape)
    # depthwise: packed weights hold 28 channels per word, so channel tiles are multiples of 28 (or all);
    # otherwise any channel tile is valid and the cost model's subtile count (ceil(cout/32)) prefers 32s
    cstep = 28 if kind == "dw" else 1
    pt, pl, _pb, _pr = _geometry(a)

    def inputs_for(k: KernelNode, box: Box) -> TileMap:
        x, w = k.inputs[0], k.inputs[1]
        assert x is not None and w is not None
        c0, cn = box.start[-1], box.size[-1]
        attrs = dict(k.attrs)
        attrs["cout"] = cn
        if kind == "pw":
            xb = Box((*box.start[:-1], 0), (*box.size[:-1], x.shape[-1]))
        else:
            h0, hn, p_t, p_b = window_span(box.start[1], box.size[1], x.shape[1], 3, 1, 1, pt)
            w0, wn, p_l, p_r = window_span(box.start[2], box.size[2], x.shape[2], 3, 1, 1, pl)
            xc0, xcn = (c0, cn) if kind == "dw" else (0, x.shape[3])
            xb = Box((box.start[0], h0, w0, xc0), (box.size[0], hn - h0, wn - w0, xcn))
            attrs["pads"] = (p_t, p_l, p_b, p_r)
            if kind == "dw":
                attrs["cin"] = cn
        if kind == "dw":
            if c0 % 28:
                raise OpError(f"depthwise channel tile starts at {c0}, not a multiple of 28")
            wb = Box((0, c0 // 28, 0, 0), (1, math.ceil(cn / 28), WEIGHT_BITS, 32))
        else:
            wb = Box((c0,) + (0,) * (len(w.shape) - 1), (cn, *w.shape[1:]))
        boxes: list[Box | None] = [xb, wb]
        for t in k.inputs[2:]:
            boxes.append(Box((c0,), (cn,)) if t is not None else None)
        return TileMap(tuple(boxes), attrs)

    split = {d: 1 for d in range(rank - 1)}
    split[rank - 1] = cstep
    return TilingRule(split, inputs_for)


def work(k: KernelNode) -> tuple[float, float]:
    """Cluster-equivalent work is not meaningful for an engine job: the midend uses engine_cycles."""
    return 0.0, 0.0


SPEC = register(OpSpec(
    name="NeurekaConv",
    attrs={
        "kind": Str(choices=KINDS),
        "cin": Int(min=1),
        "cout": Int(min=1),
        "pads": Ints((0, 0, 0, 0), min=0, length=4),  # top, left, bottom, right
        "weight_offset": Int(0),
        "norm": Int(0, choices=(0, 1)),
        "shift": Int(0, min=0),
        "relu": Int(0, choices=(0, 1)),
        "out_signed": Int(1, choices=(0, 1)),
        "wmem": Int(0, choices=(0, 1)),  # weights streamed from weight memory (set by the backend's plan)
    },
    inputs=(2, 4),
    infer=infer,
    reference=reference,
    domains=("deeploy",),
    kernel="neureka_conv",
    kernel_args=kernel_args,
    tiling=tiling,
    cost=work,
    doc="one N-EUREKA job: 1x1 / 3x3 / depthwise 3x3 conv, channels-last, packed weights, normalization",
    extras={"engine": "neureka", "engine_cycles": engine_cycles, "weight_operand": 1},
))
