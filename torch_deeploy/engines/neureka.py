"""The N-EUREKA engine: which Conv / MatMul / Gemm nodes it can run (and why not), its cost estimate,
and the lowering of a mapped node (+ a following RequantShift when bit-identical) to one NeurekaConv.

Legality follows SIRACUSA.md section 2 (what the driver supports): 8-bit activations, weights constant
and within 8 bits after the layer-wise offset, kernels 1x1 / dense 3x3 / depthwise 3x3, stride 1,
dilation 1, padding <= 2, 32-bit accumulators. A RequantShift is folded into the normalization unit
(per-output-channel scale and bias, one shift, ReLU, int8/uint8 output) when it gives the same bits:
    RQ(alpha*conv + b) = clip((conv * alpha*mul + (b*mul + add + div/2)) >> log2(div))
with scale = alpha*mul >= 0, every intermediate inside int32 and mul/add constant per output channel.
Otherwise the engine outputs raw int32 accumulators and the RequantShift stays on the cluster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from torch_deeploy.engines.cluster import estimate_cycles as cluster_cycles
from torch_deeploy.ir import dtypes
from torch_deeploy.ir.graph import Graph, Node, Role, Tensor, TensorType
from torch_deeploy.ops import registry
from torch_deeploy.ops.common import INT32, channel_vector
from torch_deeploy.ops.neureka_conv import CIN_BLOCK, MAX_PAD, SUBTILE_HW, SUBTILE_KO, pack_weights, pixels_hw
from torch_deeploy.passes.fold_bias import column_bias
from torch_deeploy.passes.fold_requant import cluster_folds

NAME = "neureka"
LINEAR_OPS = ("Conv", "MatMul", "Gemm")

class NotLegal(Exception):
    pass


@dataclass
class Lowering:
    """Everything needed to replace `node` (and `rq`) by one NeurekaConv."""

    node: Node
    kind: str  # pw | dense | dw
    layout: str  # "nchw" (Conv: transposes around the job) or "last" (linear: already channels-last)
    wq: np.ndarray  # unsigned weights in the canonical form of pack_weights
    woff: int
    cin: int
    cout: int
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    rq: Node | None = None  # the RequantShift folded into the normalization unit
    rq_next: Node | None = None  # the RequantShift that follows (folded or not)
    bias_add: Node | None = None  # a constant per-column Add after a linear layer, folded into the bias with rq
    scale: np.ndarray | None = None
    bias: np.ndarray | None = None
    shift: int = 0
    relu: int = 0
    out_signed: int = 1
    rq_note: str = ""  # why a following RequantShift was not folded
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def norm(self) -> int:
        return int(self.scale is not None)


def _const(g: Graph, name: str) -> np.ndarray | None:
    t = g.tensors[name] if name else None
    return t.data if t is not None and t.is_constant else None


def _fits(lo: float, hi: float) -> bool:
    return INT32[0] <= lo and hi <= INT32[1]


def analyse(g: Graph, node: Node, consumers: dict[str, list[Node]] | None = None) -> Lowering:
    """The lowering of node for N-EUREKA, or NotLegal(reason)."""
    if node.op not in LINEAR_OPS:
        raise NotLegal(f"N-EUREKA runs convolutions and linear layers ({', '.join(LINEAR_OPS)}), not {node.op}")
    consumers = consumers if consumers is not None else g.consumers()
    x = g.tensors[node.inputs[0]].type
    wt = g.tensors[node.inputs[1]]
    y = g.tensors[node.outputs[0]].type
    if x.is_float or wt.type.is_float or y.is_float:
        raise NotLegal("float tensors: N-EUREKA is an integer engine")
    if not wt.is_constant:
        raise NotLegal("weights are computed at run time (N-EUREKA needs constant, pre-packed weights)")
    if x.dtype.name not in ("int8", "uint8"):
        raise NotLegal(f"activations are {x.dtype}; N-EUREKA reads 8-bit activations")
    w = np.asarray(wt.data).astype(np.int64)
    alpha, bias_vec = 1, None
    pads = (0, 0, 0, 0)
    if node.op == "Conv":
        if x.rank != 4:
            raise NotLegal("1-D convolution: N-EUREKA jobs are 2-D (not lowered)")
        from torch_deeploy.ops.conv import window_params

        kernel = tuple(w.shape[2:])
        strides, dil, pb, pe = window_params(node.attrs, kernel, "Conv")
        group = node.attrs["group"]
        c, m = x.shape[1], w.shape[0]
        if any(d != 1 for d in dil):
            raise NotLegal(f"dilation {list(dil)}: N-EUREKA has no dilation")
        if any(s != 1 for s in strides):
            raise NotLegal(f"stride {list(strides)}: N-EUREKA runs stride 1 (strided mode is experimental "
                           "in the driver)")
        if kernel not in ((1, 1), (3, 3)):
            raise NotLegal(f"kernel {kernel[0]}x{kernel[1]}: N-EUREKA runs 1x1, 3x3 and depthwise 3x3 kernels")
        if group == 1:
            kind = "pw" if kernel == (1, 1) else "dense"
        elif group == c == m and kernel == (3, 3):
            kind = "dw"
        elif group == c == m:
            raise NotLegal("depthwise 1x1: N-EUREKA's depthwise mode is 3x3 only")
        else:
            raise NotLegal(f"grouped convolution (group={group}, neither 1 nor depthwise)")
        pads = (pb[0], pb[1], pe[0], pe[1])
        if kind == "pw" and any(pads):
            raise NotLegal(f"padding {list(pads)} on a 1x1 kernel")
        if max(pads) > MAX_PAD:
            raise NotLegal(f"padding {list(pads)}: N-EUREKA pads at most {MAX_PAD}")
        wq_signed = w[:, :, 0, 0] if kind == "pw" else (w if kind == "dense" else w[:, 0])
        cin, cout = c, m
        layout = "nchw"
        if len(node.inputs) > 2 and node.inputs[2]:
            b = _const(g, node.inputs[2])
            if b is None:
                raise NotLegal("bias is computed at run time")
            bias_vec = b.astype(np.int64).reshape(-1)
    else:
        if x.rank < 2:
            raise NotLegal("1-D activations: a linear layer on N-EUREKA needs (pixels, channels)")
        if node.op == "MatMul":
            if w.ndim != 2:
                raise NotLegal(f"weights of rank {w.ndim}: N-EUREKA runs one (K, N) weight matrix per layer")
            wmat = w  # (K, N)
        else:
            if node.attrs["transA"]:
                raise NotLegal("Gemm with transA=1: activations are not channels-last")
            wmat = w.T if node.attrs["transB"] else w
            a_f, b_f = float(node.attrs["alpha"]), float(node.attrs["beta"])
            if not a_f.is_integer() or not b_f.is_integer():
                raise NotLegal("fractional alpha/beta")
            alpha = int(a_f)
            if len(node.inputs) > 2 and node.inputs[2] and int(b_f) != 0:
                cdata = _const(g, node.inputs[2])
                if cdata is None:
                    raise NotLegal("C is computed at run time")
                n = wmat.shape[1]
                cb = np.broadcast_to(cdata.astype(np.int64), y.shape)
                vec = cb.reshape(-1, n)[0] if cb.size else np.zeros(n, dtype=np.int64)
                if not np.array_equal(cb, np.broadcast_to(vec, y.shape)):
                    raise NotLegal("C varies along rows: N-EUREKA's bias is per output channel")
                bias_vec = vec * int(b_f)
        kind, layout = "pw", "last"
        wq_signed = wmat.T  # (N, K)
        cin, cout = wmat.shape
    if wq_signed.size == 0 or x.size == 0 or y.size == 0:
        raise NotLegal("empty tensor")
    woff = int(wq_signed.min())
    if int(wq_signed.max()) - woff > 255:
        raise NotLegal(f"weights span [{woff}, {int(wq_signed.max())}]: more than 8 bits")
    wq = wq_signed - woff
    taps = 1 if kind == "pw" else 9
    k_terms = taps * (cin if kind != "dw" else 1)
    xr = x.range or (0, 0)
    xmax = max(abs(xr[0]), abs(xr[1]))
    if not _fits(-(255 + abs(woff)) * k_terms * xmax, (255 + abs(woff)) * k_terms * xmax):
        raise NotLegal("accumulators may exceed 32 bits")
    low = Lowering(node, kind, layout, wq, woff, cin, cout, pads)
    # exact per-output-channel bounds of the engine's accumulator (conv without alpha/bias)
    from torch_deeploy.ops._linear import dot_bounds

    wsig = wq_signed.reshape(cout, -1) if kind != "dw" else wq_signed.reshape(cout, 9)
    xr0 = (min(xr[0], 0), max(xr[1], 0)) if any(pads) else xr
    e_lo, e_hi = (b.reshape(-1) for b in dot_bounds(xr0, wsig.T, 0))
    add = _bias_add(g, node, consumers, y) if bias_vec is None and layout == "last" else None
    if add is not None:
        # QuantLib's linear layer: MatMul -> Add(bias) -> RequantShift; the bias joins the normalization unit
        # when the requantization folds too, else the MatMul alone goes to N-EUREKA (raw accumulators)
        try:
            _fold(g, node, low, consumers, alpha, add[1], e_lo, e_hi, g.tensors[add[0].outputs[0]].type,
                  out=add[0].outputs[0])
            if low.rq is not None:
                low.bias_add = add[0]
                return low
        except NotLegal:
            pass
        low.rq, low.rq_next, low.rq_note = None, None, ""
    _fold(g, node, low, consumers, alpha, bias_vec, e_lo, e_hi, y)
    return low


def _bias_add(g: Graph, node: Node, consumers: dict[str, list[Node]], y: TensorType
              ) -> tuple[Node, np.ndarray] | None:
    """The Add of a constant per-column bias that alone reads the linear node's output (same shape), with the
    bias as a vector over the output channels; else None."""
    out = node.outputs[0]
    users = consumers.get(out, [])
    if len(users) != 1 or users[0].op != "Add" or out in g.outputs:
        return None
    add = users[0]
    other = add.inputs[1] if add.inputs[0] == out else add.inputs[0]
    if other == out or g.tensors[add.outputs[0]].type.shape != y.shape:
        return None
    vec = column_bias(g.tensors[other], y.shape, y.shape[-1])
    return None if vec is None else (add, vec.astype(np.int64))


def _fold(g: Graph, node: Node, low: Lowering, consumers: dict[str, list[Node]], alpha: int,
          bias_vec: np.ndarray | None, e_lo: np.ndarray, e_hi: np.ndarray, y: TensorType, out: str = "") -> None:
    out = out or node.outputs[0]
    users = consumers.get(out, [])
    note = ""
    rq = users[0] if len(users) == 1 and users[0].op == "RequantShift" and out not in g.outputs else None
    low.rq_next = rq
    if rq is None:
        note = "no RequantShift follows" if not users or users[0].op != "RequantShift" else \
            "the accumulator has other users"
    else:
        try:
            _fold_rq(g, rq, low, alpha, bias_vec, e_lo, e_hi, y)
            low.rq = rq
            return
        except NotLegal as e:
            note = f"requantization stays on the cluster: {e}"
    low.rq_note = note
    if alpha != 1 or bias_vec is not None:
        what = "alpha" if alpha != 1 else "bias"
        raise NotLegal(f"the {what} needs the normalization unit, but the requantization cannot be folded "
                       f"({note})")


def _channel_vector(p: np.ndarray, yshape: tuple[int, ...], axis: int, what: str) -> np.ndarray:
    try:
        return channel_vector(p, yshape, axis, what)
    except ValueError as e:
        raise NotLegal(str(e)) from None


def _fold_rq(g: Graph, rq: Node, low: Lowering, alpha: int, bias_vec: np.ndarray | None, e_lo: np.ndarray,
             e_hi: np.ndarray, y: TensorType) -> None:
    mul, add = _const(g, rq.inputs[1]), _const(g, rq.inputs[2])
    if mul is None or add is None:
        raise NotLegal("its mul/add are computed at run time")
    if rq.attrs["n_levels_out"] != 256:
        raise NotLegal(f"n_levels {rq.attrs['n_levels_out']}: the normalization outputs 8 bits")
    axis = 1 if low.layout == "nchw" else len(y.shape) - 1
    mv = _channel_vector(mul, y.shape, axis, "mul")
    av = _channel_vector(add, y.shape, axis, "add")
    div = int(rq.attrs["div"])
    shift = div.bit_length() - 1
    if shift > 31:
        raise NotLegal(f"div 2^{shift}: the shift field has 5 bits")
    scale = mv * alpha
    if scale.min() < 0:
        raise NotLegal("negative multiplier: N-EUREKA's scale is unsigned")
    if scale.max() > INT32[1]:
        raise NotLegal("multiplier needs more than 31 bits")
    b = np.zeros(low.cout, dtype=np.int64) if bias_vec is None else bias_vec
    bias = b * mv + av + div // 2
    if not _fits(bias.min(), bias.max()):
        raise NotLegal("folded bias (bias*mul + add + div/2) exceeds 32 bits")
    t_lo = np.minimum(e_lo * scale, e_hi * scale) + bias
    t_hi = np.maximum(e_lo * scale, e_hi * scale) + bias
    if not _fits(t_lo.min(), t_hi.max()) or not _fits((e_lo * scale).min(), (e_hi * scale).max()):
        raise NotLegal("acc*scale + bias may exceed the 32-bit normalization datapath")
    low.scale, low.bias, low.shift = scale, bias, shift
    low.relu, low.out_signed = (0, 1) if rq.attrs["signed"] else (1, 0)


def can_run(g: Graph, node: Node) -> tuple[bool, str]:
    try:
        analyse(g, node)
    except NotLegal as e:
        return False, str(e)
    return True, ""


# ---- cost ----------------------------------------------------------------------------------------

def _weight_dma(nbytes: int, dma: dict[str, float]) -> float:
    return nbytes / float(dma.get("bytes_per_cycle", 4.0)) + float(dma.get("setup_cycles", 30))


def estimate_cycles(g: Graph, low: Lowering, params: dict[str, Any], cost: dict[str, float], cores: int,
                    dma: dict[str, float] | None = None, weight_memory: bool = True) -> float:
    """Modelled cycles on N-EUREKA (targets/siracusa.toml [engines.neureka]; estimates, not measurements),
    including the channels-last transposes an NCHW convolution needs on the cluster and, without weight
    memory, the DMA of the packed weights into L1."""
    y = g.tensors[low.node.outputs[0]].type
    x = g.tensors[low.node.inputs[0]].type
    if low.kind == "pw":
        pix = int(np.prod(y.shape[:-1] if low.layout == "last" else (y.shape[0], *y.shape[2:]), dtype=np.int64))
        h, w = pixels_hw(pix)
        jobs = 1
    else:
        h, w, jobs = y.shape[2], y.shape[3], y.shape[0]
    nb = math.ceil(h / SUBTILE_HW) * math.ceil(w / SUBTILE_HW) * jobs
    ki = math.ceil(low.cin / CIN_BLOCK[low.kind])
    subtiles = nb * ki * (math.ceil(low.cout / SUBTILE_KO) if low.kind != "dw" else 1)
    cyc = subtiles * float(params.get(f"subtile_cycles_{low.kind}", 100.0)) + jobs * float(
        params.get("job_cycles", 200.0)) + low.wq.size / float(params.get("weight_bytes_per_cycle", 32.0))
    if not weight_memory:
        cyc += _weight_dma(pack_weights_bytes(low), dma or {})
    if low.layout == "nchw":
        elem = float(cost.get("elem_ops_per_cycle_per_core", 0.5)) * cores
        cyc += (x.size + y.size) / elem + 2 * float(cost.get("layer_overhead_cycles", 300))
    if low.rq is None and low.rq_next is not None:  # the requantization stays a cluster layer of its own
        cyc += _requant_cycles(g, low.rq_next, cost, cores, separate_layer=True)
    return cyc + float(cost.get("layer_overhead_cycles", 300))


def _requant_cycles(g: Graph, rq: Node, cost: dict[str, float], cores: int, *, separate_layer: bool) -> float:
    n = g.tensors[rq.outputs[0]].type.size
    cyc = n / (cores * float(cost.get("elem_ops_per_cycle_per_core", 0.5)))
    return cyc + (float(cost.get("layer_overhead_cycles", 300)) if separate_layer else 0.0)


def pack_weights_bytes(low: Lowering) -> int:
    from torch_deeploy.ops.neureka_conv import weight_shape

    return int(np.prod(weight_shape(low.kind, low.cin, low.cout), dtype=np.int64))


def cluster_estimate(g: Graph, low: Lowering, cost: dict[str, float], cores: int,
                     dma: dict[str, float] | None = None) -> float:
    """Modelled cluster cycles of the node (with the DMA of its weights into L1) and of the RequantShift after
    it: in the kernel's output stage when the cluster lowering folds it (passes/fold_requant.py), else a layer
    of its own."""
    cyc = cluster_cycles(g, low.node, cost, cores) + _weight_dma(g.tensors[low.node.inputs[1]].type.nbytes, dma or {})
    if low.rq_next is not None:
        cyc += _requant_cycles(g, low.rq_next, cost, cores,
                               separate_layer=not cluster_folds(g, low.node, low.rq_next))
    return cyc


# ---- lowering ------------------------------------------------------------------------------------

def _add_const(g: Graph, name: str, data: np.ndarray, dtype: dtypes.DType) -> str:
    data = np.asarray(data).astype(np.int64)
    lo, hi = (int(data.min()), int(data.max())) if data.size else (0, 0)
    g.tensors[name] = Tensor(name, TensorType(tuple(data.shape), dtype, (lo, hi)), Role.CONSTANT, data)
    return name


def lower(g: Graph, low: Lowering) -> list[Node]:
    """New nodes replacing low.node (and low.rq); adds their tensors to g. The caller splices them in."""
    node = low.node
    name = node.name
    wname = _add_const(g, f"{name}/w_packed", pack_weights(low.wq, low.kind), dtypes.uint8)
    ins = [node.inputs[0], wname]
    if low.scale is not None and low.bias is not None:
        sdt = dtypes.uint8 if low.scale.max() <= 255 else dtypes.int32
        ins.append(_add_const(g, f"{name}/scale", low.scale, sdt))
        ins.append(_add_const(g, f"{name}/bias", low.bias, dtypes.int32))
    out = low.rq.outputs[0] if low.rq is not None else node.outputs[0]
    ot = g.tensors[out].type
    if low.rq is None:  # raw accumulators: the engine writes 32-bit words
        ot = TensorType(ot.shape, dtypes.int32, ot.range)
        g.tensors[out].type = ot
    attrs = {"kind": low.kind, "cin": low.cin, "cout": low.cout, "pads": low.pads, "weight_offset": low.woff,
             "norm": low.norm, "shift": low.shift, "relu": low.relu, "out_signed": low.out_signed}
    attrs = registry.get("NeurekaConv").validate_attrs(attrs)
    if low.layout == "last":
        return [Node(name, "NeurekaConv", ins, [out], attrs, engine=NAME)]
    xt = g.tensors[node.inputs[0]].type
    x_nhwc = f"{name}/nhwc_in"
    y_nhwc = f"{name}/nhwc_out"
    g.tensors[x_nhwc] = Tensor(x_nhwc, xt.with_shape((xt.shape[0], xt.shape[2], xt.shape[3], xt.shape[1])),
                               Role.ACTIVATION)
    g.tensors[y_nhwc] = Tensor(y_nhwc, ot.with_shape((ot.shape[0], ot.shape[2], ot.shape[3], ot.shape[1])),
                               Role.ACTIVATION)
    ins[0] = x_nhwc
    return [Node(f"{name}/to_nhwc", "Transpose", [node.inputs[0]], [x_nhwc], {"perm": (0, 2, 3, 1)}, engine="cluster"),
            Node(name, "NeurekaConv", ins, [y_nhwc], attrs, engine=NAME),
            Node(f"{name}/to_nchw", "Transpose", [y_nhwc], [out], {"perm": (0, 3, 1, 2)}, engine="cluster")]


def cancel_transposes(g: Graph) -> int:
    """Drop Transpose pairs that undo each other (NCHW between two N-EUREKA convolutions). Returns pairs."""
    removed = 0
    while True:
        prod = g.producers()
        cons = g.consumers()
        hit = None
        for n in g.nodes:
            if n.op != "Transpose" or n.outputs[0] in g.outputs:
                continue
            p = prod.get(n.inputs[0])
            if p is None or p.op != "Transpose":
                continue
            pa, pb = p.attrs.get("perm"), n.attrs.get("perm")
            if pa is None or pb is None or len(pa) != len(pb):
                continue
            if tuple(pa[i] for i in pb) == tuple(range(len(pa))) and \
                    g.tensors[p.inputs[0]].type.dtype == g.tensors[n.outputs[0]].type.dtype:
                hit = (p, n)
                break
        if hit is None:
            return removed
        p, n = hit
        src, dst = p.inputs[0], n.outputs[0]
        for c in cons.get(dst, []):
            c.inputs = [src if i == dst else i for i in c.inputs]
        g.nodes.remove(n)
        del g.tensors[dst]
        if not g.consumers().get(p.outputs[0]) and p.outputs[0] not in g.outputs:
            g.nodes.remove(p)
            del g.tensors[p.outputs[0]]
        removed += 1
