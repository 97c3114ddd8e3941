"""FX frontend: an ExportedProgram or an aten-level FX graph (aten integer ops + torch.ops.deeploy.*) to the IR.

Integerized torch models (QuantLib style) hold integers in float32 tensors; like the ONNX frontend, every
constant (parameter, buffer, lifted constant, scalar) holding only integers becomes an integer constant,
and an input gets the narrowest integer type of its example's range (its dtype's range for integer
tensors). Shapes, dtypes and value ranges are then inferred node by node by the op specs (typing.py).

Exactness of float32 integer arithmetic: float32 represents every integer with |v| <= 2^24 exactly, and
a conv/matmul/add in float32 whose partial sums all stay within 2^24 is exact, so the deployed integer C
equals the eager torch model bit for bit. When the inferred range of an integer result held in a float
tensor exceeds 2^24 the eager model may round where the C is exact; the import warns, naming the nodes.
"""

from __future__ import annotations

import operator
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.fx

from torch_deeploy import torch_ops
from torch_deeploy.errors import DeeployError, OpError
from torch_deeploy.frontend.onnx import _drop_dead_nodes, _mark_output
from torch_deeploy.frontend.typing import constant_tensor, type_node
from torch_deeploy.ir import dtypes
from torch_deeploy.ir.graph import Graph, Node, Role, Tensor, TensorType

FLOAT32_EXACT = 1 << 24  # every integer of magnitude <= 2^24 is exact in float32
INT64_MAX = (1 << 63) - 1
QUANT_HINT = ("quantize it first with torch_deeploy.quant (torch_deeploy.quant.quantize(model, calib_inputs)), "
              "which gives an integerized model built from torch.ops.deeploy integer ops")


@dataclass(frozen=True)
class T:
    """Reference to an IR tensor in the frontend's environment (distinguishes it from plain Python values)."""

    name: str


@dataclass
class FxImport:
    """The imported graph and the torch dtypes of the model's outputs (a deployed model returns the same)."""

    graph: Graph
    output_dtypes: list[torch.dtype]
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Ctx:
    g: Graph
    env: dict[torch.fx.Node, Any]
    node: torch.fx.Node
    count: int = 0
    wide: list[str] = field(default_factory=list)

    def fresh(self, tag: str) -> str:
        self.count += 1
        return f"{self.node.name}__{tag}{self.count}"

    def const(self, value: Any, tag: str = "c") -> str:
        name = self.fresh(tag)
        self.g.tensors[name] = constant_tensor(name, np.asarray(value))
        return name

    def tensor(self, v: Any) -> str:
        """IR tensor name of an argument; Python numbers become constants."""
        if isinstance(v, T):
            return v.name
        if isinstance(v, bool | int | float):
            return self.const(np.asarray(v))
        raise OpError(f"expected a tensor or a number, got {type(v).__name__}")

    def type_of(self, v: Any) -> TensorType:
        return self.g.tensors[self.tensor(v)].type

    def emit(self, op: str, inputs: Sequence[str], attrs: dict[str, Any] | None = None, *,
             final: bool = True) -> T:
        out = self.node.name if final and self.node.name not in self.g.tensors else self.fresh(op.lower())
        type_node(self.g, Node(out, op, list(inputs), [out]), dict(attrs or {}))
        return T(out)


Handler = Callable[[_Ctx, dict[str, Any]], Any]


def user_line(node: torch.fx.Node) -> str | None:
    """'file:line: code' of the innermost frame of node's stack trace that is user code (not torch)."""
    trace = node.meta.get("stack_trace")
    if not trace:
        return None
    torch_dir = os.path.dirname(torch.__file__)
    ours = os.path.dirname(os.path.dirname(__file__))
    lines = trace.strip().splitlines()
    best = None
    for i, line in enumerate(lines):
        s = line.strip()
        if not s.startswith("File "):
            continue
        parts = s.split('"')
        if len(parts) < 3:
            continue
        path = parts[1]
        if path.startswith(torch_dir) or path.startswith(ours):
            continue
        lineno = s.split(", line ")[1].split(",")[0] if ", line " in s else "?"
        code = lines[i + 1].strip() if i + 1 < len(lines) and not lines[i + 1].strip().startswith("File ") else ""
        best = f"{path}:{lineno}: {code}".rstrip(": ")
    return best


def _bind(target: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Arguments by schema name, defaults filled in."""
    schema = target._schema
    out: dict[str, Any] = {}
    for i, a in enumerate(schema.arguments):
        if i < len(args) and not a.kwarg_only:
            out[a.name] = args[i]
        elif a.name in kwargs:
            out[a.name] = kwargs[a.name]
        elif a.has_default_value():
            out[a.name] = a.default_value
        else:
            out[a.name] = None
    return out


def _nd_list(v: Any, nd: int, default: int) -> list[int]:
    if v is None or (isinstance(v, list | tuple) and len(v) == 0):
        return [default] * nd
    if isinstance(v, int):
        return [v] * nd
    v = [int(x) for x in v]
    return v * nd if len(v) == 1 else v


def _out_shape(ctx: _Ctx) -> tuple[int, ...]:
    val = ctx.node.meta.get("val")
    if val is None or not hasattr(val, "shape"):
        raise OpError("the FX node has no shape metadata (node.meta['val']); export the model with torch.export")
    return tuple(int(s) for s in val.shape)


# ---------------------------------------------------------------- handlers (aten op -> IR)

def _conv(ctx: _Ctx, a: dict[str, Any]) -> T:
    if a.get("transposed"):
        raise OpError("transposed convolution is not supported")
    w = ctx.type_of(a["weight"])
    nd = w.rank - 2
    k = w.shape[2:]
    stride = _nd_list(a.get("stride"), nd, 1)
    dil = _nd_list(a.get("dilation"), nd, 1)
    pad = a.get("padding")
    if isinstance(pad, str):
        if pad == "valid":
            pb = pe = [0] * nd
        else:  # 'same' (stride 1): torch puts the odd extra element at the end
            tot = [d * (kk - 1) for d, kk in zip(dil, k, strict=True)]
            pb = [t // 2 for t in tot]
            pe = [t - b for t, b in zip(tot, pb, strict=True)]
    else:
        pb = pe = _nd_list(pad, nd, 0)
    ins = [ctx.tensor(a["input"]), ctx.tensor(a["weight"])]
    if a.get("bias") is not None:
        ins.append(ctx.tensor(a["bias"]))
    return ctx.emit("Conv", ins, {"group": int(a.get("groups") or 1), "strides": stride, "dilations": dil,
                                  "pads": [*pb, *pe]})


def _linear(ctx: _Ctx, a: dict[str, Any]) -> T:
    x, w, b = a["input"], a["weight"], a.get("bias")
    if ctx.type_of(x).rank == 2:
        ins = [ctx.tensor(x), ctx.tensor(w)] + ([ctx.tensor(b)] if b is not None else [])
        return ctx.emit("Gemm", ins, {"transB": 1})
    wt = ctx.emit("Transpose", [ctx.tensor(w)], {"perm": [1, 0]}, final=False)
    y = ctx.emit("MatMul", [ctx.tensor(x), wt.name], final=b is None)
    return y if b is None else ctx.emit("Add", [y.name, ctx.tensor(b)])


def _addmm(ctx: _Ctx, a: dict[str, Any]) -> T:
    return ctx.emit("Gemm", [ctx.tensor(a["mat1"]), ctx.tensor(a["mat2"]), ctx.tensor(a["self"])],
                    {"alpha": float(a.get("alpha", 1)), "beta": float(a.get("beta", 1))})


def _matmul(ctx: _Ctx, a: dict[str, Any]) -> T:
    other = a.get("other", a.get("mat2"))
    return ctx.emit("MatMul", [ctx.tensor(a["self"]), ctx.tensor(other)])


def _scaled(ctx: _Ctx, v: Any, alpha: Any) -> str:
    if alpha is None or alpha == 1:
        return ctx.tensor(v)
    return ctx.emit("Mul", [ctx.tensor(v), ctx.tensor(alpha)], final=False).name


def _add(ctx: _Ctx, a: dict[str, Any]) -> T:
    return ctx.emit("Add", [ctx.tensor(a["self"]), _scaled(ctx, a["other"], a.get("alpha"))])


def _sub(ctx: _Ctx, a: dict[str, Any]) -> T:
    return ctx.emit("Sub", [ctx.tensor(a["self"]), _scaled(ctx, a["other"], a.get("alpha"))])


def _rsub(ctx: _Ctx, a: dict[str, Any]) -> T:
    return ctx.emit("Sub", [ctx.tensor(a["other"]), _scaled(ctx, a["self"], a.get("alpha"))])


def _mul(ctx: _Ctx, a: dict[str, Any]) -> T:
    return ctx.emit("Mul", [ctx.tensor(a["self"]), ctx.tensor(a["other"])])


def _div(ctx: _Ctx, a: dict[str, Any]) -> T:
    if a.get("rounding_mode") is not None:
        raise OpError(f"division with rounding_mode='{a['rounding_mode']}' is not supported; use "
                      "torch.ops.deeploy.requant_shift or integer_div for integer division")
    return ctx.emit("Div", [ctx.tensor(a["self"]), ctx.tensor(a["other"])])


def _max_pool(ctx: _Ctx, a: dict[str, Any]) -> T:
    k = [int(v) for v in a["kernel_size"]]
    nd = ctx.type_of(a["self"]).rank - 2
    k = k * nd if len(k) == 1 else k
    stride = a.get("stride")
    stride = k if not stride else _nd_list(stride, nd, 1)
    p = _nd_list(a.get("padding"), nd, 0)
    return ctx.emit("MaxPool", [ctx.tensor(a["self"])],
                    {"kernel_shape": k, "strides": stride, "pads": [*p, *p],
                     "dilations": _nd_list(a.get("dilation"), nd, 1), "ceil_mode": int(bool(a.get("ceil_mode")))})


def _max_pool_with_indices(ctx: _Ctx, a: dict[str, Any]) -> list[Any]:
    return [_max_pool(ctx, a), None]  # the indices output is not supported (an unused getitem is skipped)


def _reshape(ctx: _Ctx, a: dict[str, Any]) -> T:
    shape = ctx.const(np.asarray(_out_shape(ctx), dtype=np.int64), "shape")
    return ctx.emit("Reshape", [ctx.tensor(a["self"]), shape])


def _permute(ctx: _Ctx, a: dict[str, Any]) -> T:
    rank = ctx.type_of(a["self"]).rank
    return ctx.emit("Transpose", [ctx.tensor(a["self"])], {"perm": [int(d) % rank for d in a["dims"]]})


def _transpose(ctx: _Ctx, a: dict[str, Any]) -> Any:
    rank = ctx.type_of(a["self"]).rank
    if rank < 2:
        return a["self"]
    d0, d1 = (int(a.get("dim0", 0)) % rank, int(a.get("dim1", 1)) % rank) if "dim0" in a else (0, 1)
    perm = list(range(rank))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return ctx.emit("Transpose", [ctx.tensor(a["self"])], {"perm": perm})


def _cat(ctx: _Ctx, a: dict[str, Any]) -> T:
    return ctx.emit("Concat", [ctx.tensor(t) for t in a["tensors"]], {"axis": int(a.get("dim", 0))})


def _slice(ctx: _Ctx, a: dict[str, Any]) -> T:
    start = 0 if a.get("start") is None else int(a["start"])
    end = INT64_MAX if a.get("end") is None else min(int(a["end"]), INT64_MAX)
    ins = [ctx.tensor(a["self"])] + [ctx.const(np.asarray([v], dtype=np.int64), "s")
                                     for v in (start, end, int(a.get("dim", 0)), int(a.get("step", 1)))]
    return ctx.emit("Slice", ins)


def _select(ctx: _Ctx, a: dict[str, Any]) -> T:
    i = int(a["index"])
    end = INT64_MAX if i == -1 else i + 1
    ins = [ctx.tensor(a["self"])] + [ctx.const(np.asarray([v], dtype=np.int64), "s") for v in (i, end, int(a["dim"]))]
    s = ctx.emit("Slice", ins, final=False)
    return ctx.emit("Reshape", [s.name, ctx.const(np.asarray(_out_shape(ctx), dtype=np.int64), "shape")])


def _relu(ctx: _Ctx, a: dict[str, Any]) -> T:
    return ctx.emit("Relu", [ctx.tensor(a["self"])])


def _clamp(ctx: _Ctx, a: dict[str, Any]) -> T:
    # bounds as inputs (the opset-11+ form, which the ONNX writer emits); an absent bound is an omitted input
    ins = [ctx.tensor(a["self"])] + [ctx.tensor(v) if v is not None else "" for v in (a.get("min"), a.get("max"))]
    while ins[-1] == "":
        ins.pop()
    return ctx.emit("Clip", ins)


def _clamp_min(ctx: _Ctx, a: dict[str, Any]) -> T:
    return _clamp(ctx, {"self": a["self"], "min": a["min"], "max": None})


def _clamp_max(ctx: _Ctx, a: dict[str, Any]) -> T:
    return _clamp(ctx, {"self": a["self"], "min": None, "max": a["max"]})


def _round(ctx: _Ctx, a: dict[str, Any]) -> Any:
    if a.get("decimals"):
        raise OpError("round(decimals=...) is not supported")
    if not ctx.type_of(a["self"]).is_float:
        return a["self"]  # rounding an integer is the identity
    return ctx.emit("Round", [ctx.tensor(a["self"])])


def _axes(ctx: _Ctx, a: dict[str, Any]) -> list[int]:
    rank = ctx.type_of(a["self"]).rank
    dims = a.get("dim")
    if dims is None or (isinstance(dims, list | tuple) and len(dims) == 0):
        return list(range(rank))
    dims = [dims] if isinstance(dims, int) else dims
    return sorted(int(d) % rank for d in dims)


def _sum(ctx: _Ctx, a: dict[str, Any]) -> T:
    axes = _axes(ctx, a)
    return ctx.emit("ReduceSum", [ctx.tensor(a["self"])], {"axes": axes, "keepdims": int(bool(a.get("keepdim")))})


def _mean(ctx: _Ctx, a: dict[str, Any]) -> T:
    x = ctx.type_of(a["self"])
    axes = _axes(ctx, a)
    keep = int(bool(a.get("keepdim")))
    if x.is_float:
        return ctx.emit("ReduceMean", [ctx.tensor(a["self"])], {"axes": axes, "keepdims": keep})
    # torch's mean of integers held in float32 is the float quotient sum/cnt (not a rounded integer):
    # an exact integer sum followed by one correctly rounded float32 division gives the same bits.
    cnt = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
    s = ctx.emit("ReduceSum", [ctx.tensor(a["self"])], {"axes": axes, "keepdims": keep}, final=False)
    return ctx.emit("Div", [s.name, ctx.const(np.asarray(cnt))])


def _alias(ctx: _Ctx, a: dict[str, Any]) -> Any:
    return a["self"]


def _to_copy(ctx: _Ctx, a: dict[str, Any]) -> Any:
    dt = a.get("dtype")
    if dt is None or dt.is_floating_point or not ctx.type_of(a["self"]).is_float:
        return a["self"]  # integer values are kept; the deployed model restores the output dtype
    raise OpError(f"conversion of a float tensor to {dt} is not supported (integer values are expected)")


def _dropout(ctx: _Ctx, a: dict[str, Any]) -> Any:
    if a.get("train"):
        raise OpError("dropout in training mode: call model.eval() before compiling")
    return a["input"]


def _deeploy(ctx: _Ctx, a: dict[str, Any]) -> T:
    target = ctx.node.target
    op = torch_ops.ir_op_of(target)
    tensors, attrs = [], {}
    for arg in target._schema.arguments:  # type: ignore[union-attr]
        v = a[arg.name]
        if isinstance(arg.type, torch.TensorType):
            tensors.append(ctx.tensor(v))
        elif v is not None:
            attrs[arg.name] = int(v) if isinstance(v, bool) else (tuple(v) if isinstance(v, list) else v)
    return ctx.emit(op, tensors, attrs)


HANDLERS: dict[str, Handler] = {
    "aten::conv1d": _conv, "aten::conv2d": _conv, "aten::convolution": _conv, "aten::_convolution": _conv,
    "aten::linear": _linear, "aten::addmm": _addmm, "aten::mm": _matmul, "aten::matmul": _matmul,
    "aten::bmm": _matmul,
    "aten::add": _add, "aten::sub": _sub, "aten::rsub": _rsub, "aten::mul": _mul, "aten::div": _div,
    "aten::max_pool1d": _max_pool, "aten::max_pool2d": _max_pool,
    "aten::max_pool1d_with_indices": _max_pool_with_indices, "aten::max_pool2d_with_indices": _max_pool_with_indices,
    "aten::view": _reshape, "aten::reshape": _reshape, "aten::_unsafe_view": _reshape, "aten::flatten": _reshape,
    "aten::unsqueeze": _reshape, "aten::squeeze": _reshape, "aten::unflatten": _reshape,
    "aten::permute": _permute, "aten::transpose": _transpose, "aten::t": _transpose,
    "aten::cat": _cat, "aten::concat": _cat, "aten::slice": _slice, "aten::select": _select,
    "aten::relu": _relu, "aten::clamp": _clamp, "aten::clip": _clamp, "aten::clamp_min": _clamp_min,
    "aten::clamp_max": _clamp_max, "aten::round": _round,
    "aten::mean": _mean, "aten::sum": _sum,
    "aten::clone": _alias, "aten::contiguous": _alias, "aten::alias": _alias, "aten::detach": _alias,
    "aten::detach_": _alias,
    "aten::lift_fresh_copy": _alias, "aten::_to_copy": _to_copy, "aten::to": _to_copy,
    "aten::dropout": _dropout,
}


def supported_ops() -> list[str]:
    return sorted({k.replace("::", ".") for k in HANDLERS} | {f"deeploy.{n}" for n in torch_ops.IR_OPS})


def _op_name(target: Any) -> str:
    schema = getattr(target, "_schema", None)
    if schema is not None:
        return schema.name
    return getattr(target, "__name__", str(target))


def _unsupported(node: torch.fx.Node, why: str | None = None) -> OpError:
    where = user_line(node)
    at = f" at {where}" if where else ""
    reason = why or "is not supported"
    return OpError(f"{reason}{at}. Supported ops: {', '.join(supported_ops())}",
                   node=node.name, op=_op_name(node.target).replace("::", "."))


# ---------------------------------------------------------------- graph import

def input_type(example: np.ndarray) -> TensorType:
    """Type of a graph input from its example: integer dtypes and integer-valued floats become the narrowest
    integer type of the example's range (the whole type range, so later inputs of the same kind fit)."""
    a = np.asarray(example)
    if a.dtype.kind in "iub":
        d = dtypes.int8 if a.size == 0 else dtypes.for_range(int(a.min()), int(a.max()))
        declared = dtypes.from_numpy(a.dtype)
        if not declared.is_float and declared.bits < d.bits:
            d = declared
        return TensorType(a.shape, d, (d.min, d.max))
    if a.size and not (np.all(np.isfinite(a)) and np.array_equal(np.rint(a), a)):
        return TensorType.floating(a.shape)
    d = dtypes.int8 if a.size == 0 else dtypes.for_range(int(a.min()), int(a.max()))
    return TensorType(tuple(int(s) for s in a.shape), d, (d.min, d.max))


def _np(v: Any) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        return v.detach().cpu().numpy()
    return np.asarray(v)


def import_graph_module(gm: torch.fx.GraphModule, placeholders: Sequence[tuple[str, Any]], *,
                        name: str = "network", input_types: Sequence[TensorType | None] | None = None,
                        require_integer: bool = True) -> FxImport:
    """Import an aten-level FX graph.

    placeholders: per placeholder in graph order, ("input", example) or ("constant", value); constants are
    parameters, buffers and lifted tensors. input_types optionally fixes the type of each "input".
    """
    g = Graph(name)
    env: dict[torch.fx.Node, Any] = {}
    phs = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(phs) != len(placeholders):
        raise DeeployError(f"the graph has {len(phs)} inputs (parameters included), {len(placeholders)} were given")
    k_in = 0
    for n, (kind, value) in zip(phs, placeholders, strict=True):
        if kind == "constant":
            g.tensors[n.name] = constant_tensor(n.name, _np(value))
        else:
            ty = input_types[k_in] if input_types is not None and input_types[k_in] is not None else None
            g.tensors[n.name] = Tensor(n.name, ty or input_type(_np(value)), Role.INPUT)
            g.inputs.append(n.name)
            k_in += 1
        env[n] = T(n.name)

    has_deeploy = False
    wide: list[str] = []
    out_dtypes: list[torch.dtype] = []
    for n in gm.graph.nodes:
        if n.op == "placeholder":
            continue
        if n.op == "get_attr":
            value = operator.attrgetter(n.target)(gm)
            g.tensors[n.name] = constant_tensor(n.name, _np(value))
            env[n] = T(n.name)
            continue
        if n.op == "output":
            outs = n.args[0]
            outs = list(outs) if isinstance(outs, list | tuple) else [outs]
            for o in outs:
                v = env.get(o) if isinstance(o, torch.fx.Node) else None
                if not isinstance(v, T):
                    raise DeeployError(f"model output {o} is not a tensor computed by the model; return tensors only")
                _mark_output(g, v.name)
                val = o.meta.get("val")
                out_dtypes.append(val.dtype if isinstance(val, torch.Tensor) else torch.float32)
            continue
        if n.op != "call_function":
            raise _unsupported(n, f"FX node kind '{n.op}' is not supported (export the model to aten ops)")
        if n.target is operator.getitem:
            v = env[n.args[0]][n.args[1]]
            if v is None and n.users:
                raise _unsupported(n, "the indices output of max pooling is not supported")
            env[n] = v
            continue
        if not n.users:
            continue  # dead (asserts, unused results)
        ctx = _Ctx(g, env, n)
        args = torch.fx.node.map_arg(n.args, lambda x: env[x])
        kwargs = torch.fx.node.map_arg(n.kwargs, lambda x: env[x])
        if torch_ops.is_deeploy_op(n.target):
            handler: Handler | None = _deeploy
            has_deeploy = True
        else:
            handler = HANDLERS.get(_op_name(n.target))
        if handler is None or not hasattr(n.target, "_schema"):
            raise _unsupported(n)
        try:
            env[n] = handler(ctx, _bind(n.target, args, kwargs))
        except OpError as e:
            where = user_line(n)
            at = f" (at {where})" if where else ""
            raise OpError(f"{e.reason}{at}", node=e.node or n.name, op=e.op or _op_name(n.target)) from None
        _check_float_exact(g, n, env[n], wide)
    if not g.outputs:
        raise DeeployError("the model has no tensor outputs")
    _drop_dead_nodes(g)
    if require_integer:
        floats = [t.name for t in g.tensors.values() if t.type.is_float]
        if floats and not has_deeploy:
            raise DeeployError(f"this is a float model (no torch.ops.deeploy integer ops; float tensors: "
                               f"{', '.join(floats[:5])}{', ...' if len(floats) > 5 else ''}): {QUANT_HINT}")
    if wide:
        warnings.warn("float32 holds integers exactly only up to 2^24; these results may exceed it, so eager torch "
                      "may round where the deployed C is exact: " + "; ".join(wide), stacklevel=3)
    return FxImport(g, out_dtypes, wide)


def _check_float_exact(g: Graph, n: torch.fx.Node, v: Any, wide: list[str]) -> None:
    val = n.meta.get("val")
    if not isinstance(v, T) or not isinstance(val, torch.Tensor) or not val.dtype.is_floating_point:
        return
    t = g.tensors.get(v.name)
    if t is None or t.type.range is None:
        return
    limit = FLOAT32_EXACT if val.dtype in (torch.float32, torch.float64) else 1 << 8
    if val.dtype == torch.float64:
        limit = 1 << 53
    m = max(abs(t.type.range[0]), abs(t.type.range[1]))
    if m > limit:
        where = user_line(n)
        wide.append(f"{n.name} (up to {m}{', ' + where if where else ''})")


def import_exported(ep: Any, example_inputs: Sequence[Any] | None = None, *, name: str | None = None,
                    require_integer: bool = True,
                    input_types: Sequence[TensorType | None] | None = None) -> FxImport:
    """Import a torch.export ExportedProgram; example inputs default to the program's own."""
    from torch.export.graph_signature import InputKind

    sig = ep.graph_signature
    if any(s.kind.name not in ("USER_OUTPUT",) for s in sig.output_specs):
        raise DeeployError("the exported program mutates buffers or has non-user outputs; export an "
                           "inference model (model.eval(), no in-place buffer updates)")
    if example_inputs is None:
        ex_args = ep.example_inputs[0] if ep.example_inputs else ()
        examples = list(ex_args)
    else:
        examples = list(example_inputs)
    placeholders: list[tuple[str, Any]] = []
    k = 0
    for spec in sig.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            if k >= len(examples):
                raise DeeployError(f"the model takes more inputs than the {len(examples)} examples given")
            placeholders.append(("input", examples[k]))
            k += 1
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
            value = ep.state_dict[spec.target] if spec.target in ep.state_dict else ep.constants[spec.target]
            placeholders.append(("constant", value))
        elif spec.kind == InputKind.CONSTANT_TENSOR:
            placeholders.append(("constant", ep.constants[spec.target]))
        else:
            raise DeeployError(f"exported program input of kind {spec.kind.name} is not supported")
    return import_graph_module(ep.graph_module, placeholders, name=name or "network",
                               require_integer=require_integer, input_types=input_types)


def export(model: torch.nn.Module, example_inputs: Sequence[Any]) -> Any:
    """torch.export of a module, with export failures (graph breaks, data-dependent control flow) as DeeployError."""
    args = tuple(a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a)) for a in example_inputs)
    try:
        with torch.no_grad():
            return torch.export.export(model, args)
    except Exception as e:  # torch raises many error types here
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DeeployError(f"torch.export could not capture the model as one graph ({type(e).__name__}: "
                           f"{first[:300]}); the whole forward must be traceable without graph breaks") from e
