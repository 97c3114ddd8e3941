"""Fold a RequantShift with scalar constant mul and add into the Gemm, MatMul, Add, Sub, Mul, iHardswish,
TrueIntegerDiv or iSoftmax that produces its input (and one with per-column constants into a Gemm:
ChannelRequantizedGemm):
Gemm -> [Reshape] -> RequantShift becomes RequantizedGemm -> [Reshape], MatMul -> [Reshape] -> RequantShift
becomes RequantizedMatMul -> [Reshape]. And one with constant per-channel (or scalar) mul and add into the
Conv before it: Conv -> RequantShift becomes RequantizedConv (fold_requant_into_conv).

With scalar parameters the requantization is elementwise and commutes with the Reshape view, so the linear
kernel can requantize each result as it stores it: one layer less per linear, no int32 intermediate in
memory, and no DMA of the two one-element constants. Per-column parameters after a Gemm with constant weights
become ChannelRequantizedGemm (bias folded into the offsets); other per-channel parameters are left to RequantShift.
Runs after fold_bias_into_gemm, so the bias is already inside the Gemm.
"""

from __future__ import annotations

import numpy as np

from torch_deeploy.ir import dtypes
from torch_deeploy.ir.graph import Graph, Node, Role, Tensor, TensorType
from torch_deeploy.ops import conv, requant_shift
from torch_deeploy.ops._linear import dot_bounds, fits_int32
from torch_deeploy.ops.common import INT32, channel_vector
from torch_deeploy.passes._epilogue import absorb, chains, drop, fresh, scalar_constant
from torch_deeploy.passes.fold_bias import column_bias

# producer op -> (fused op, producer attributes it keeps)
FUSED = {"Gemm": ("RequantizedGemm", ("alpha", "beta", "transA", "transB")), "MatMul": ("RequantizedMatMul", ()),
         "Add": ("RequantizedAdd", ()), "Sub": ("RequantizedSub", ()), "Mul": ("RequantizedMul", ()),
         "iHardswish": ("RequantizedHardswish", ("three", "six", "one_over_six")),
         "TrueIntegerDiv": ("RequantizedTrueIntegerDiv", ("Delta", "eps", "eta", "y")),
         "iSoftmax": ("RequantizedSoftmax", ("coeffA", "coeffB", "coeffC", "log2", "n_levels"))}


def cluster_folds(g: Graph, producer: Node, rq: Node) -> bool:
    """Whether the cluster lowering folds RequantShift `rq` into the linear node `producer` that it directly follows
    (the engine mapping compares N-EUREKA with the cluster counting that layer or not)."""
    if producer.op in ("Gemm", "MatMul"):
        if scalar_constant(g, rq.inputs[1]) is not None and scalar_constant(g, rq.inputs[2]) is not None:
            return True
        # per-column constants after constant weights: ChannelRequantizedGemm (when its 32-bit stage suffices)
        return producer.inputs[1] in g.tensors and g.tensors[producer.inputs[1]].is_constant and \
            _const(g, rq.inputs[1]) is not None and _const(g, rq.inputs[2]) is not None
    return producer.op == "Conv" and _conv_params(g, producer, rq) is not None


def _conv_params(g: Graph, cv: Node, rq: Node) -> tuple[np.ndarray, np.ndarray] | None:
    """The RequantShift's mul and add as int64 vectors over the Conv's output channels, or None when the cluster
    kernel cannot apply them in its output stage (run-time or per-pixel parameters, a chunked reduction)."""
    mul, add = _const(g, rq.inputs[1]), _const(g, rq.inputs[2])
    if mul is None or add is None:
        return None
    w = g.tensors[cv.inputs[1]].type.shape
    y = g.tensors[cv.outputs[0]].type.shape
    if conv.reduction_chunks(w[1], int(np.prod(w[2:], dtype=np.int64))) > 1:
        return None
    try:
        return channel_vector(mul, y, 1, "mul"), channel_vector(add, y, 1, "add")
    except ValueError:
        return None


def _gemm_column_params(g: Graph, gm: Node, rq: Node, x: str
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """The RequantShift's mul and add (bias folded in: bias*mul + add) as int64 vectors over the Gemm's output columns,
    and per column the (v_lo, v_hi) clamp that keeps v * mul + add + div/2 inside int32 without changing an output
    (None when no clamp is needed), when ChannelRequantizedGemm can apply them exactly in 32 bits: alpha 1, constant
    B, C absent or a constant column bias with beta 1, parameters constant per column. Else None."""
    mul, add = _const(g, rq.inputs[1]), _const(g, rq.inputs[2])
    b = g.tensors[gm.inputs[1]]
    if mul is None or add is None or not b.is_constant or b.data is None or float(gm.attrs["alpha"]) != 1.0:
        return None
    y = g.tensors[gm.outputs[0]].type.shape
    xs = g.tensors[x].type.shape
    if len(y) != 2 or not xs or xs[-1] != y[1]:
        return None
    try:
        mv, av = channel_vector(mul, xs, len(xs) - 1, "mul"), channel_vector(add, xs, len(xs) - 1, "add")
    except ValueError:
        return None
    bias = np.zeros(y[1], dtype=np.int64)
    if len(gm.inputs) > 2 and gm.inputs[2] and float(gm.attrs["beta"]) != 0.0:
        c = column_bias(g.tensors[gm.inputs[2]], y, y[1])
        if c is None or float(gm.attrs["beta"]) != 1.0:
            return None
        bias = c.astype(np.int64)
    av = av + bias * mv
    a_rng = g.tensors[gm.inputs[0]].type.range
    if a_rng is None or gm.attrs["transA"]:
        return None
    w = np.asarray(b.data).astype(np.int64)
    lo, hi = (v.reshape(-1) for v in dot_bounds(a_rng, w.T if gm.attrs["transB"] else w, 0))
    half = rq.attrs["div"] // 2
    t = np.stack([lo * mv, hi * mv])
    if not fits_int32((int(mv.min()), int(mv.max())), (int(av.min()), int(av.max()))):
        return None
    if fits_int32((int(t.min() + min(av.min(), 0)), int(t.max() + max(av.max(), 0) + half))):
        return mv, av, None
    # v * mul beyond 32 bits: per column the clamp to where its output saturates (requant_shift.preclip_bounds)
    out_lo, out_hi = requant_shift.out_bounds(rq.attrs)
    pre = [requant_shift.preclip_bounds((int(lo[j]), int(hi[j])), int(mv[j]), int(av[j]) + half, rq.attrs["div"],
                                        out_lo, out_hi) for j in range(len(mv))]
    if any(p is None for p in pre):
        return None
    return mv, av, np.array(pre, dtype=np.int64).T


def fold_requant_into_linear(g: Graph) -> Graph:
    removed: set[str] = set()
    params: set[str] = set()
    for ch in chains(g, tuple(FUSED), "RequantShift"):
        lin, rq = ch.producer, ch.consumer
        if rq.inputs[0] != ch.x:
            continue
        mul, add = scalar_constant(g, rq.inputs[1]), scalar_constant(g, rq.inputs[2])
        if (mul is None or add is None) and lin.op == "Gemm":
            vectors = _gemm_column_params(g, lin, rq, ch.x)
            if vectors is None:
                continue
            old_c = lin.inputs[2] if len(lin.inputs) > 2 and lin.inputs[2] else None
            lin.op = "ChannelRequantizedGemm"
            lin.inputs = [lin.inputs[0], lin.inputs[1], _int32_const(g, f"{lin.name}/rq_mul", vectors[0]),
                          _int32_const(g, f"{lin.name}/rq_add", vectors[1])]
            if vectors[2] is not None:
                lin.inputs += [_int32_const(g, f"{lin.name}/rq_vlo", vectors[2][0]),
                               _int32_const(g, f"{lin.name}/rq_vhi", vectors[2][1])]
            lin.attrs = {"transA": lin.attrs["transA"], "transB": lin.attrs["transB"],
                         **{k: rq.attrs[k] for k in ("div", "n_levels_out", "signed")}}
            absorb(g, ch)
            removed.add(rq.name)
            params.update(rq.inputs[1:3])
            if old_c:
                params.add(old_c)
            continue
        if mul is None or add is None:
            continue
        fused, keep = FUSED[lin.op]
        lin.op = fused
        lin.attrs = {**{k: lin.attrs[k] for k in keep}, "mul": mul, "add": add,
                     **{k: rq.attrs[k] for k in ("div", "n_levels_out", "signed")}}
        absorb(g, ch)  # the output now has the RequantShift's narrow type
        removed.add(rq.name)
        params.update(rq.inputs[1:3])
    return drop(g, removed, params) if removed else g



def _const(g: Graph, name: str) -> np.ndarray | None:
    t = g.tensors[name]
    return None if not t.is_constant or t.data is None or t.type.is_float else np.asarray(t.data)


def _int32_const(g: Graph, base: str, data: np.ndarray) -> str:
    name = fresh(g, base)
    g.tensors[name] = Tensor(name, TensorType(tuple(data.shape), dtypes.by_name("int32"),
                                              (int(data.min()), int(data.max()))), Role.CONSTANT, data)
    return name


def fold_requant_into_conv(g: Graph) -> Graph:
    """Conv -> RequantShift (mul, add constant, one value per output channel or scalar; a bias constant) becomes
    RequantizedConv(x, w, mul[M], add[M]) with add = add + bias * mul (exact in integers). The conv kernel then
    requantizes each result as it stores it: no int32 intermediate and no second layer.

    Left alone: run-time mul/add/bias, parameters that vary along pixels, values beyond 32 bits, and reductions
    longer than the cluster kernel's gather buffer (conv.reduction_chunks > 1: the kernel then accumulates
    partial sums in an int32 output, so the RequantShift stays a layer of its own)."""
    removed: set[str] = set()
    params: set[str] = set()
    for ch in chains(g, ("Conv",), "RequantShift"):
        cv, rq = ch.producer, ch.consumer
        if ch.reshape is not None or rq.inputs[0] != ch.x:
            continue
        bias_name = cv.inputs[2] if len(cv.inputs) > 2 and cv.inputs[2] else None
        bias = _const(g, bias_name) if bias_name else np.zeros(1, dtype=np.int64)
        vectors = _conv_params(g, cv, rq)
        if vectors is None or bias is None:
            continue
        mv, av = vectors
        av = av + bias.astype(np.int64).reshape(-1) * mv
        if min(mv.min(), av.min()) < INT32[0] or max(mv.max(), av.max()) > INT32[1]:
            continue
        cv.op = "RequantizedConv"
        cv.inputs = [cv.inputs[0], cv.inputs[1], _int32_const(g, f"{cv.name}/rq_mul", mv),
                     _int32_const(g, f"{cv.name}/rq_add", av)]
        cv.attrs = {**cv.attrs, **{k: rq.attrs[k] for k in ("div", "n_levels_out", "signed")}}
        absorb(g, ch)
        removed.add(rq.name)
        params.update(rq.inputs[1:3])
        if bias_name:
            params.add(bias_name)
    return drop(g, removed, params) if removed else g
