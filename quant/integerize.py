"""Integerization: a quantized aten graph (PT2E q/dq or fake-quant form) -> an integer FX graph.

The input is an aten-level FX graph as produced by ``torch.export`` + torchao's ``convert_pt2e`` (q/dq
pairs, int8 weights behind ``dequantize_per_channel``) or by ``prepare_qat_pt2e`` (fake-quant nodes, conv-bn
QAT pattern). Each float value is interpreted abstractly as one of

* a constant (folded eagerly: weight preprocessing, BN statistics, ...),
* an integer tensor ``q`` of the new graph with a real step ``scale`` (scalar or broadcastable per channel),
  i.e. the float value ~ ``q * scale`` (:class:`QInt`),
* a not yet quantized model input.

Float ops become integer ops: conv/linear/matmul multiply the steps, BN / bias / constant mul/div fold into
the accumulator's step and offset, every ``quantize`` becomes a RequantShift (constants from
:mod:`.rules`), softmax / layer norm / RMS norm / GELU / hardswish become the deeploy integer operators.
Zero points must be 0 (the deeploy operators work on zero-offset integers): DeeployQuantizer uses
symmetric int8 and zero-based uint8 (after ReLU, softmax) only.

The result (:class:`IntegerProgram`) is an ``fx.GraphModule`` of float32 tensors holding integers (QuantLib
style) plus the input and output steps; :class:`~torch_deeploy.quant.model.QuantizedModel` wraps it.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.fx

from torch_deeploy import torch_ops  # noqa: F401  (registers torch.ops.deeploy.*)
from torch_deeploy.errors import DeeployError
from torch_deeploy.quant import rules

aten = torch.ops.aten
INF = float("inf")


class IntegerizeError(DeeployError):
    """The quantized graph cannot be turned into integer operators."""


@dataclass(frozen=True)
class QInt:
    """A float value represented as integers: value ~ node * scale. lo/hi: integer range (inf if unknown)."""

    node: torch.fx.Node
    scale: torch.Tensor  # float64, scalar or broadcastable to the value (per channel)
    lo: float = -INF
    hi: float = INF
    clip_hi: float | None = None  # a float upper bound still to apply (ReLU6) at the next requantization
    offset: torch.Tensor | None = None  # a real-valued bias not yet added (folded biases / BN, rounded once)

    @property
    def per_tensor(self) -> bool:
        return self.scale.numel() == 1

    def s(self) -> float:
        if not self.per_tensor:
            raise IntegerizeError("a per-channel scaled accumulator reaches an op that needs one scale; quantize "
                                  "it first (annotate the producing op's output)")
        return float(self.scale.reshape(()))


@dataclass(frozen=True)
class QConst:
    """A quantized constant (weights): value ~ ints * scale, scale broadcastable to ints."""

    ints: torch.Tensor
    scale: torch.Tensor


@dataclass(frozen=True)
class FloatInput:
    """A model input before its quantize node."""

    index: int
    ops: tuple[tuple[Any, tuple[Any, ...], dict[str, Any]], ...] = ()  # shape ops applied before quantization


@dataclass
class EdgeSpec:
    """How a float tensor maps to the integer program at an edge: q = clip(round_half_even(x/scale), lo, hi)."""

    scale: torch.Tensor  # float64, scalar or broadcastable
    lo: int
    hi: int


@dataclass
class IntegerProgram:
    core: torch.fx.GraphModule
    inputs: list[EdgeSpec]
    outputs: list[EdgeSpec]


@dataclass
class Options:
    softmax: str = "isoftmax"  # or "itamax"
    mul_bits: int = 16


@dataclass
class _Builder:
    graph: torch.fx.Graph = field(default_factory=torch.fx.Graph)
    root: torch.nn.Module = field(default_factory=torch.nn.Module)
    count: int = 0

    def const(self, value: Any, name: str = "c") -> torch.fx.Node:
        t = torch.as_tensor(np.asarray(value), dtype=torch.float32).detach().clone()
        self.count += 1
        attr = f"{name}_{self.count}"
        self.root.register_buffer(attr, t)
        return self.graph.get_attr(attr)

    def call(self, target: Any, *args: Any, **kwargs: Any) -> torch.fx.Node:
        return self.graph.call_function(target, args, kwargs)


def _f64(v: Any) -> torch.Tensor:
    return torch.as_tensor(v).detach().to(torch.float64)


def _int_tensor(v: torch.Tensor) -> np.ndarray:
    return rules.round_half_up(v.detach().cpu().numpy())


class Integerizer:
    """Walks the quantized graph in order and builds the integer graph (one instance per conversion)."""

    QDQ = {"quantize_per_tensor", "quantize_per_channel", "dequantize_per_tensor", "dequantize_per_channel",
           "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine", "fake_quant"}
    SHAPE_OPS = {"view", "reshape", "_unsafe_view", "flatten", "unsqueeze", "squeeze", "permute", "transpose", "t",
                 "contiguous", "clone", "alias", "unflatten", "expand", "slice", "select"}
    IDENTITY = {"dropout", "detach", "lift_fresh_copy", "_assert_tensor_metadata"}

    def __init__(self, gm: torch.fx.GraphModule, constants: dict[str, torch.Tensor] | None = None,
                 options: Options | None = None):
        self.gm = gm
        self.constants = dict(constants or {})
        self.opt = options or Options()
        self.b = _Builder()
        self.env: dict[torch.fx.Node, Any] = {}
        self.inputs: list[EdgeSpec | None] = []
        self.input_nodes: list[torch.fx.Node | None] = []

    # ------------------------------------------------------------------ driver
    def run(self) -> IntegerProgram:
        for n in self.gm.graph.nodes:
            try:
                self._visit(n)
            except IntegerizeError as e:
                raise IntegerizeError(f"{n.name} ({n.target}): {e}") from None
        missing = [i for i, s in enumerate(self.inputs) if s is None]
        if missing:
            raise IntegerizeError(f"model input(s) {missing} are not quantized (annotate their first consumer)")
        core = torch.fx.GraphModule(self.b.root, self.b.graph)
        return IntegerProgram(core, list(self.inputs), self.outputs)  # type: ignore[arg-type]

    def _visit(self, n: torch.fx.Node) -> None:
        if n.op == "placeholder":
            if n.target in self.constants or n.name in self.constants:
                self.env[n] = self.constants.get(n.target, self.constants.get(n.name))
            else:
                idx = len(self.inputs)
                self.inputs.append(None)
                self.input_nodes.append(None)
                self.env[n] = FloatInput(idx)
            return
        if n.op == "get_attr":
            self.env[n] = operator.attrgetter(n.target)(self.gm)
            return
        if n.op == "call_module":
            if str(n.target).startswith("_guards"):
                return
            raise IntegerizeError(f"module call {n.target} in the graph: convert the prepared model first")
        if n.op == "output":
            self._output(n)
            return
        if n.target is operator.getitem:
            self.env[n] = self.env[n.args[0]][n.args[1]]
            return
        args = torch.fx.node.map_arg(n.args, lambda x: self.env.get(x))
        kwargs = torch.fx.node.map_arg(n.kwargs, lambda x: self.env.get(x))
        if not n.users and "_assert" in str(n.target):
            return
        name = _short(n.target)
        if self._all_const(args, kwargs) and name not in self.QDQ:
            self.env[n] = n.target(*args, **kwargs)  # constant folding (weight / BN preprocessing)
            return
        handler = getattr(self, f"_op_{name}", None)
        if handler is None:
            if name in self.SHAPE_OPS:
                handler = self._shape
            elif name in self.IDENTITY:
                handler = self._identity
            else:
                raise IntegerizeError(f"no integer rule for {name}")
        self.env[n] = handler(n, *args, **kwargs)

    @staticmethod
    def _all_const(args: Any, kwargs: Any) -> bool:
        leaves = [*torch.utils._pytree.tree_leaves(args), *torch.utils._pytree.tree_leaves(kwargs)]
        return not any(isinstance(v, QInt | QConst | FloatInput) for v in leaves)

    def _output(self, n: torch.fx.Node) -> None:
        outs = n.args[0] if isinstance(n.args[0], list | tuple) else [n.args[0]]
        nodes, specs = [], []
        for o in outs:
            v = self.env.get(o)
            if not isinstance(v, QInt):
                raise IntegerizeError(f"output {o} is not a quantized tensor computed by the model")
            nodes.append(v.node)
            specs.append(EdgeSpec(v.scale, int(max(v.lo, -(2**31))), int(min(v.hi, 2**31 - 1))))
        self.b.graph.output(tuple(nodes) if len(nodes) > 1 else nodes[0])
        self.outputs = specs

    # ------------------------------------------------------------------ helpers
    def _q(self, v: Any) -> QInt:
        """v as integers of the new graph, pending offsets added."""
        return self._materialize(self._raw(v))

    def _raw(self, v: Any) -> QInt:
        if isinstance(v, QConst):
            return QInt(self.b.const(v.ints), v.scale)
        if not isinstance(v, QInt):
            raise IntegerizeError(f"expected a quantized tensor, got {type(v).__name__} (the float value is not "
                                  "quantized: annotate it with DeeployQuantizer)")
        return v

    def _materialize(self, v: QInt) -> QInt:
        """Add the pending offset, rounded to the step: into a bias-less conv/linear's bias, else by an Add."""
        if v.offset is None:
            return v
        off = torch.broadcast_to(v.offset, torch.broadcast_shapes(v.offset.shape, v.scale.shape))
        ints = _int_tensor(off / v.scale)
        n = v.node
        if n.target in (aten.conv1d.default, aten.conv2d.default, aten.linear.default) and n.args[2] is None \
                and not n.users and ints.size == n.args[1].meta.get("cout", -1):
            args = list(n.args)
            with self.b.graph.inserting_before(n):
                args[2] = self.b.const(ints.reshape(-1), "bias")
            n.args = tuple(args)
            return replace(v, offset=None)
        return replace(v, node=self.b.call(aten.add.Tensor, n, self.b.const(ints, "offset")), offset=None)

    def requant(self, v: QInt, scale: float, lo: int, hi: int) -> QInt:
        """RequantShift of v to step `scale` and range lo..hi (elided when v already is exactly that)."""
        v = self._materialize(v)
        if v.clip_hi is None and v.per_tensor and v.s() == scale and lo <= v.lo and v.hi <= hi:
            return v
        rq = rules.requant_params((v.scale / scale).numpy(), mul_bits=self.opt.mul_bits)
        n_levels = hi - lo + 1
        signed = lo < 0
        if (signed and (lo, hi) != (-(n_levels // 2), n_levels // 2 - 1)) or (not signed and lo != 0):
            raise IntegerizeError(f"quantization range {lo}..{hi} is not a symmetric int or zero-based uint range")
        out = self.b.call(torch.ops.deeploy.requant_shift.default, v.node, self.b.const(rq.mul, "mul"),
                          self.b.const(np.zeros(()), "add"), rq.div, n_levels, signed)
        if v.clip_hi is not None:
            top = int(rules.round_half_up(v.clip_hi / scale))
            if top < hi:
                out = self.b.call(aten.clamp.default, out, None, float(top))
                hi = top
        return QInt(out, _f64(scale), lo, hi)

    def _rescale_input(self, v: QInt, scale: float) -> QInt:
        """v requantized to an int8 step `scale` (when an integer op needs a particular input step)."""
        return self.requant(replace(v, lo=-INF), scale, -128, 127)

    # ------------------------------------------------------------------ quantize / dequantize
    def _quantize(self, n: torch.fx.Node, x: Any, scale: Any, zp: Any, qmin: int, qmax: int, axis: int | None) -> Any:
        if np.any(np.asarray(torch.as_tensor(zp)) != 0):
            raise IntegerizeError("zero point must be 0 (use DeeployQuantizer: symmetric int8 / zero-based uint8)")
        if isinstance(x, torch.Tensor):  # constant (weights)
            s = _axis_scale(_f64(scale), x.dim(), axis)
            ints = torch.clamp(torch.round(x.to(torch.float64) / s), qmin, qmax)
            return QConst(ints.to(torch.float32), s)
        if isinstance(x, QConst):
            return x
        if axis is not None:
            raise IntegerizeError("per-channel quantization of activations is not supported")
        s = float(torch.as_tensor(scale).reshape(()))
        if isinstance(x, FloatInput):
            node = self.b.graph.placeholder(f"x{x.index}")
            self.inputs[x.index] = EdgeSpec(_f64(s), int(qmin), int(qmax))
            for target, rest, kw in x.ops:  # reshapes of the float input commute with quantization
                node = self.b.call(target, node, *rest, **kw)
            return QInt(node, _f64(s), qmin, qmax)
        return self.requant(self._q(x), s, int(qmin), int(qmax))

    def _op_quantize_per_tensor(self, n: torch.fx.Node, x: Any, scale: Any, zp: Any, qmin: int, qmax: int,
                                *_: Any) -> Any:
        return self._quantize(n, x, scale, zp, qmin, qmax, None)

    def _op_quantize_per_channel(self, n: torch.fx.Node, x: Any, scale: Any, zp: Any, axis: int, qmin: int,
                                 qmax: int, *_: Any) -> Any:
        return self._quantize(n, x, scale, zp, qmin, qmax, axis)

    def _dequantize(self, x: Any, scale: Any, zp: Any, axis: int | None) -> Any:
        if isinstance(x, torch.Tensor):  # folded int8 weights
            if np.any(np.asarray(torch.as_tensor(zp)) != 0):
                raise IntegerizeError("zero point must be 0")
            return QConst(x.to(torch.float32), _axis_scale(_f64(scale), x.dim(), axis))
        return x  # QInt / QConst: the integers keep their step

    def _op_dequantize_per_tensor(self, n: torch.fx.Node, x: Any, scale: Any, zp: Any, *_: Any, **__: Any) -> Any:
        return self._dequantize(x, scale, zp, None)

    def _op_dequantize_per_channel(self, n: torch.fx.Node, x: Any, scale: Any, zp: Any, axis: int, *_: Any,
                                   **__: Any) -> Any:
        return self._dequantize(x, scale, zp, axis)

    def _op_fake_quantize_per_tensor_affine(self, n: torch.fx.Node, x: Any, scale: Any, zp: Any, qmin: int,
                                            qmax: int) -> Any:
        return self._quantize(n, x, scale, zp, qmin, qmax, None)

    def _op_fake_quantize_per_channel_affine(self, n: torch.fx.Node, x: Any, scale: Any, zp: Any, axis: int,
                                             qmin: int, qmax: int) -> Any:
        return self._quantize(n, x, scale, zp, qmin, qmax, axis)

    def _op_fake_quant(self, n: torch.fx.Node, x: Any, scale: Any, zp: Any, qmin: int, qmax: int,
                       axis: int) -> Any:  # torch.ops.deeploy_quant.fake_quant (DeeployFakeQuantize under compile)
        return self._quantize(n, x, scale, zp, qmin, qmax, None if axis < 0 else axis)

    # ------------------------------------------------------------------ linear ops
    def _op_conv2d(self, n: torch.fx.Node, x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
                   dilation: Any = 1, groups: int = 1) -> QInt:
        xq, wq = self._q(x), _qconst(w)
        cout = wq.ints.shape[0]
        acc_scale = (xq.s() * wq.scale.reshape(-1)).reshape(1, cout, *([1] * (wq.ints.dim() - 2)))
        nd = wq.ints.dim() - 2
        target = aten.conv1d.default if nd == 1 else aten.conv2d.default
        out = self.b.call(target, xq.node, self._weight(wq), None, _ints(stride, nd), _ints(padding, nd),
                          _ints(dilation, nd), groups)
        return QInt(out, acc_scale, offset=None if b is None else _f64(b).reshape(acc_scale.shape))

    _op_conv1d = _op_conv2d

    def _op_linear(self, n: torch.fx.Node, x: Any, w: Any, b: Any = None) -> QInt:
        xq, wq = self._q(x), _qconst(w)
        acc_scale = xq.s() * wq.scale.reshape(-1)
        out = self.b.call(aten.linear.default, xq.node, self._weight(wq), None)
        return QInt(out, acc_scale, offset=None if b is None else _f64(b))

    def _weight(self, w: QConst) -> torch.fx.Node:
        node = self.b.const(w.ints, "w")
        node.meta["cout"] = int(w.ints.shape[0])
        return node

    def _op_matmul(self, n: torch.fx.Node, a: Any, b: Any) -> QInt:
        aq, bq = self._q(a), self._q(b)
        return QInt(self.b.call(aten.matmul.default, aq.node, bq.node), _f64(aq.s() * bq.s()))

    _op_mm = _op_matmul
    _op_bmm = _op_matmul

    # ------------------------------------------------------------------ elementwise
    def _op_add(self, n: torch.fx.Node, a: Any, b: Any, alpha: Any = 1) -> QInt:
        if alpha != 1:
            raise IntegerizeError("add with alpha != 1")
        if not isinstance(b, QInt | QConst | FloatInput):
            return self._add_const(self._raw(a), b)
        if not isinstance(a, QInt | QConst | FloatInput):
            return self._add_const(self._raw(b), a)
        aq, bq = self._q(a), self._q(b)
        sa, sb = aq.s(), bq.s()
        common = min(sa, sb) / 256.0  # each operand's multiplier >= 256: relative error <= 1/512
        ma, mb = int(rules.round_half_up(sa / common)), int(rules.round_half_up(sb / common))
        common = sa / ma if ma >= mb else sb / mb  # exact for the larger step
        ta = self.b.call(aten.mul.Tensor, aq.node, float(ma))
        tb = self.b.call(aten.mul.Tensor, bq.node, float(mb))
        return QInt(self.b.call(aten.add.Tensor, ta, tb), _f64(common))

    def _add_const(self, v: QInt, c: Any) -> QInt:
        return replace(v, offset=_f64(c) if v.offset is None else v.offset + _f64(c))

    def _op_sub(self, n: torch.fx.Node, a: Any, b: Any, alpha: Any = 1) -> QInt:
        if isinstance(b, QInt | QConst | FloatInput):
            raise IntegerizeError("subtraction of two tensors is not supported")
        return self._add_const(self._raw(a), -_f64(b))

    def _op_mul(self, n: torch.fx.Node, a: Any, b: Any) -> QInt:
        if isinstance(a, QInt | QConst) and isinstance(b, QInt | QConst):
            aq, bq = self._q(a), self._q(b)
            return QInt(self.b.call(aten.mul.Tensor, aq.node, bq.node), aq.scale * bq.scale)
        v, c = (a, b) if isinstance(a, QInt | QConst) else (b, a)
        return self._scale_by(self._raw(v), _f64(c))

    def _op_div(self, n: torch.fx.Node, a: Any, b: Any, **kw: Any) -> QInt:
        if kw.get("rounding_mode") is not None or isinstance(b, QInt | QConst):
            raise IntegerizeError("only division by a float constant is supported")
        return self._scale_by(self._raw(a), 1.0 / _f64(b))

    def _scale_by(self, v: QInt, c: torch.Tensor) -> QInt:
        if torch.any(c <= 0):
            raise IntegerizeError("multiplication by a non-positive constant is not supported")
        return QInt(v.node, v.scale * c, v.lo, v.hi, None if v.clip_hi is None else v.clip_hi * float(c.max()),
                    None if v.offset is None else v.offset * c)

    def _op_batch_norm(self, n: torch.fx.Node, x: Any, w: Any, b: Any, mean: Any, var: Any, training: bool,
                       momentum: float, eps: float, *_: Any) -> QInt:
        if training:
            raise IntegerizeError("batch norm in training mode: call model.eval() / move_exported_model_to_eval")
        v = self._raw(x)
        a = 1.0 / torch.sqrt(_f64(var) + eps)
        a = a * (_f64(w) if w is not None else 1.0)
        shift = (_f64(b) if b is not None else 0.0) - _f64(mean) * a
        shape = (1, -1, *([1] * (n.meta["val"].dim() - 2)))
        return self._add_const(self._scale_by(v, a.reshape(shape)), shift.reshape(shape))

    def _op__native_batch_norm_legit_no_training(self, n: torch.fx.Node, x: Any, w: Any, b: Any, mean: Any,
                                                 var: Any, momentum: float, eps: float) -> tuple[QInt, None, None]:
        return self._op_batch_norm(n, x, w, b, mean, var, False, momentum, eps), None, None

    def _op_relu(self, n: torch.fx.Node, x: Any) -> QInt:
        v = self._q(x)
        if torch.any(v.scale <= 0):
            raise IntegerizeError("ReLU of a tensor with a negative step")
        return QInt(self.b.call(aten.relu.default, v.node), v.scale, max(v.lo, 0), max(v.hi, 0), v.clip_hi)

    def _op_hardtanh(self, n: torch.fx.Node, x: Any, lo: float = -1.0, hi: float = 1.0) -> QInt:
        if lo != 0.0:
            raise IntegerizeError("hardtanh with a lower bound other than 0 is not supported")
        v = self._op_relu(n, x)
        return replace(v, clip_hi=hi if v.clip_hi is None else min(v.clip_hi, hi))

    def _op_relu6(self, n: torch.fx.Node, x: Any) -> QInt:
        return self._op_hardtanh(n, x, 0.0, 6.0)

    def _op_clamp(self, n: torch.fx.Node, x: Any, lo: Any = None, hi: Any = None) -> QInt:
        if lo not in (None, 0, 0.0):
            raise IntegerizeError("clamp with a lower bound other than 0 is not supported")
        return self._op_hardtanh(n, x, 0.0, INF if hi is None else float(hi))

    # ------------------------------------------------------------------ pooling / shapes
    def _op_max_pool2d(self, n: torch.fx.Node, x: Any, *rest: Any) -> QInt:
        v = self._q(x)
        if torch.any(v.scale <= 0):
            raise IntegerizeError("max pooling of a tensor with a negative step")
        return replace(v, node=self.b.call(n.target, v.node, *rest))

    _op_max_pool1d = _op_max_pool2d

    def _op_max_pool2d_with_indices(self, n: torch.fx.Node, x: Any, *rest: Any) -> tuple[QInt, None]:
        return self._op_max_pool2d(n, x, *rest), None

    def _mean(self, v: QInt, dims: list[int], keepdim: bool, cnt: int) -> QInt:
        out = self.b.call(aten.sum.dim_IntList, v.node, dims, keepdim)
        return QInt(out, _f64(v.s() / cnt))

    def _op_mean(self, n: torch.fx.Node, x: Any, dims: Any = None, keepdim: bool = False, **_: Any) -> QInt:
        v = self._q(x)
        shape = _shape_of(n.args[0])
        dims = list(range(len(shape))) if not dims else [int(d) % len(shape) for d in dims]
        return self._mean(v, dims, keepdim, int(np.prod([shape[d] for d in dims])))

    def _op_adaptive_avg_pool2d(self, n: torch.fx.Node, x: Any, size: Any) -> QInt:
        if list(size) != [1, 1]:
            raise IntegerizeError("adaptive average pooling is supported to output size 1 only")
        shape = _shape_of(n.args[0])
        return self._mean(self._q(x), [-2, -1], True, int(shape[-1] * shape[-2]))

    def _shape(self, n: torch.fx.Node, x: Any, *rest: Any, **kw: Any) -> QInt | FloatInput:
        if isinstance(x, FloatInput):
            return replace(x, ops=(*x.ops, (n.target, rest, kw)))
        v = self._q(x)
        v.s()  # raises for a per-channel step: it cannot follow the data through reshapes
        return replace(v, node=self.b.call(n.target, v.node, *rest, **kw))

    def _identity(self, n: torch.fx.Node, x: Any, *_: Any, **__: Any) -> Any:
        return x

    # ------------------------------------------------------------------ integer operators
    def _next_quant(self, n: torch.fx.Node) -> tuple[float, int, int]:
        """Step and range of the quantize node that consumes n (the integer op writes that step directly)."""
        users = list(n.users)
        if len(users) == 1 and _short(users[0].target) in ("quantize_per_tensor", "fake_quantize_per_tensor_affine",
                                                          "fake_quant"):
            a = torch.fx.node.map_arg(users[0].args, lambda x: self.env.get(x, x))
            if isinstance(a[1], torch.fx.Node):
                raise IntegerizeError("the scale of the norm's output quantizer is not a constant")
            return float(torch.as_tensor(a[1]).reshape(())), int(a[3]), int(a[4])
        raise IntegerizeError("the output of a norm must be quantized (DeeployQuantizer annotates it)")

    def _op_softmax(self, n: torch.fx.Node, x: Any, dim: int, *_: Any) -> QInt:
        v = self._q(x)
        if dim not in (-1, n.meta["val"].dim() - 1):
            raise IntegerizeError("softmax over an axis other than the last one")
        if self.opt.softmax == "itamax":
            v = self._rescale_input(v, rules.ITA_SCALE)
            out = self.b.call(torch.ops.deeploy.ita_max.default, v.node, 256)
        else:
            v = self._rescale_input(v, v.s()) if v.lo < -128 or v.hi > 127 else v
            p = rules.i_softmax_params(v.s())
            out = self.b.call(torch.ops.deeploy.i_softmax.default, v.node, p.coeffA, p.coeffB, p.coeffC, p.log2, 256)
        return QInt(out, _f64(1.0 / 255.0), 0, 255)

    _op__softmax = _op_softmax

    def _op_layer_norm(self, n: torch.fx.Node, x: Any, shape: Any, w: Any = None, b: Any = None,
                       eps: float = 1e-5, *_: Any) -> QInt:
        v = self._int8(x)
        size = int(shape[-1]) if isinstance(shape, list | tuple) else int(shape)
        if isinstance(shape, list | tuple) and len(shape) != 1:
            raise IntegerizeError("layer norm over more than the last axis")
        s_out, lo, hi = self._next_quant(n)
        gamma = _f64(w) if w is not None else torch.ones(size, dtype=torch.float64)
        beta = _f64(b) if b is not None else torch.zeros(size, dtype=torch.float64)
        p = rules.norm_params(gamma.numpy(), beta.numpy(), s_out)
        out = self.b.call(torch.ops.deeploy.i_layer_norm.default, v.node, self.b.const(p.weight, "ln_w"),
                          self.b.const(p.bias, "ln_b"), p.D, 256)
        return QInt(out, _f64(s_out), -128, 127)

    def _op_rms_norm(self, n: torch.fx.Node, x: Any, shape: Any, w: Any = None, eps: Any = None) -> QInt:
        v = self._int8(x)
        size = int(shape[-1])
        s_out, lo, hi = self._next_quant(n)
        gamma = _f64(w) if w is not None else torch.ones(size, dtype=torch.float64)
        p = rules.norm_params(gamma.numpy(), None, s_out)
        out = self.b.call(torch.ops.deeploy.i_rms_norm.default, v.node, self.b.const(p.weight, "rms_w"), p.D, 256)
        return QInt(out, _f64(s_out), -128, 127)

    def _int8(self, x: Any) -> QInt:
        v = self._q(x)
        if v.lo < -128 or v.hi > 127 or not v.per_tensor:  # e.g. an accumulator: int8 at its largest step
            v = self._rescale_input(v, float(v.scale.max()))
        return v

    def _op_gelu(self, n: torch.fx.Node, x: Any, approximate: str = "none") -> QInt:
        v = self._int8(x)
        if v.s() < rules.gelu_min_scale():
            v = self._rescale_input(v, rules.gelu_min_scale())
        p = rules.i_gelu_params(v.s())
        out = self.b.call(torch.ops.deeploy.i_gelu.default, v.node, p.b, p.one)
        return QInt(out, _f64(p.out_scale(v.s())))

    def _op_hardswish(self, n: torch.fx.Node, x: Any) -> QInt:
        v = self._int8(x)
        p = rules.i_hardswish_params(v.s())
        out = self.b.call(torch.ops.deeploy.i_hardswish.default, v.node, p.three, p.six, p.one_over_six)
        return QInt(out, _f64(p.out_scale(v.s())))


def _shape_of(n: torch.fx.Node) -> tuple[int, ...]:
    """Static shape of n's value (q/dq nodes added by convert_pt2e have no metadata: look through them)."""
    while "val" not in n.meta and n.args and isinstance(n.args[0], torch.fx.Node):
        n = n.args[0]
    return tuple(int(d) for d in n.meta["val"].shape)


def _ints(v: Any, nd: int) -> Any:
    if isinstance(v, str):
        return v
    return [int(v)] * nd if isinstance(v, int) else [int(a) for a in v]


def _short(target: Any) -> str:
    name = getattr(target, "_name", None) or getattr(target, "__name__", None) or str(target)
    return name.split("::")[-1].split(".")[0]


def _axis_scale(scale: torch.Tensor, rank: int, axis: int | None) -> torch.Tensor:
    if axis is None or scale.numel() == 1:
        return scale.reshape(())
    shape = [1] * rank
    shape[axis] = -1
    return scale.reshape(shape)


def _qconst(w: Any) -> QConst:
    if not isinstance(w, QConst):
        raise IntegerizeError("weights must be quantized (per tensor or per output channel)")
    if w.scale.numel() == 1:
        return QConst(w.ints, w.scale.reshape(1).expand(w.ints.shape[0]).reshape(-1, *([1] * (w.ints.dim() - 1))))
    return w


def integerize(gm: torch.fx.GraphModule, constants: dict[str, torch.Tensor] | None = None, *,
               softmax: str = "isoftmax") -> IntegerProgram:
    """Integer program of a quantized aten graph; `constants` gives values for placeholders that are not inputs."""
    if softmax not in ("isoftmax", "itamax"):
        raise DeeployError(f"softmax must be 'isoftmax' or 'itamax', got {softmax!r}")
    with torch.no_grad():
        return Integerizer(gm, constants, Options(softmax=softmax)).run()


def edge_quantize(x: torch.Tensor, spec: EdgeSpec) -> torch.Tensor:
    """Float input -> integers (float32) as the PT2E quantize node does: round half to even, then clip."""
    return torch.clamp(torch.round(x.to(torch.float64) / spec.scale), spec.lo, spec.hi).to(torch.float32)


def edge_dequantize(q: torch.Tensor, spec: EdgeSpec) -> torch.Tensor:
    return (q.to(torch.float64) * spec.scale).to(torch.float32)
