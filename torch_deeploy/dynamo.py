"""The torch.compile backend: ``torch.compile(model, backend="deeploy", options={...})``.

Thin: dynamo's graph (parameters lifted to inputs) is traced to aten ops with make_fx, imported by the
FX frontend with the current parameter values as constants, and compiled by :func:`torch_deeploy.compile`;
each call runs the generated C. Deployed programs are cached by the content of the weights, the input
shapes and the input types, so a training step that changes the weights gets a new program on the next
call, an unchanged model is not rebuilt, and restoring earlier weights finds their program again.

Options: ``target`` (default "siracusa"), ``runner`` (default "host"), and the options of
:func:`torch_deeploy.compile` (l1, l2, num_cores, sanitize, engines). Graph breaks are errors: the whole
forward must become one deployed program, never partly eager.
"""

from __future__ import annotations

import hashlib
import sys
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.fx

from torch_deeploy import torch_ops  # noqa: F401  (registers torch.ops.deeploy.*)
from torch_deeploy.errors import DeeployError

RESUME_PREFIX = "torch_dynamo_resume_in_"
_CONSTANT_SOURCES = ("NNModule", "ParamBuffer", "Global")


class GraphBreakError(DeeployError):
    """The model cannot be captured as one graph: part of it would run eagerly."""


@dataclass
class _Program:
    input_types: list[Any]  # TensorType per user input
    deployed: Any  # DeployedModel
    output_dtypes: list[torch.dtype]


@dataclass
class DeployedGraph:
    """What the backend returns to dynamo: a callable running the deployed C for one dynamo graph."""

    gm: torch.fx.GraphModule
    constant: list[bool]  # per placeholder: parameter/buffer (True) or user input (False)
    target: str
    runner: str
    options: dict[str, Any]
    traces: dict[tuple, torch.fx.GraphModule] = field(default_factory=dict)
    programs: dict[tuple, list[_Program]] = field(default_factory=dict)
    builds: int = 0  # number of compile() calls (for tests and the report)
    _weights_key: tuple[tuple, str] | None = None

    def __call__(self, *args: Any) -> tuple[torch.Tensor, ...]:
        with torch.no_grad():
            return self._call(args)

    def _call(self, args: Sequence[Any]) -> tuple[torch.Tensor, ...]:
        struct = tuple((tuple(a.shape), a.dtype) if isinstance(a, torch.Tensor) else ("v", a) for a in args)
        whash = self._weights_hash(args)
        user = [a.detach().cpu().numpy() for a, c in zip(args, self.constant, strict=True)
                if not c and isinstance(a, torch.Tensor)]  # sizes of dynamic shapes are part of `struct`
        prog = self._find(struct, whash, user)
        if prog is None:
            prog = self._compile(struct, whash, args, user)
        if prog.deployed.edges is not None:  # an integerized fake-quant model: float in / float out at its edges
            outs = prog.deployed(*[torch.from_numpy(a) for a in user])
            return outs if isinstance(outs, tuple) else (outs,)
        outs = prog.deployed.run(user)
        return tuple(torch.from_numpy(np.ascontiguousarray(o)).to(d) for o, d in
                     zip(outs, prog.output_dtypes, strict=True))

    def _weights_hash(self, args: Sequence[Any]) -> str:
        consts = [a for a, c in zip(args, self.constant, strict=True) if c and isinstance(a, torch.Tensor)]
        # In-place updates (optimizer steps, copy_) bump a tensor's version: hash contents only when it changed.
        stamp = tuple((id(t), t._version, t.data_ptr()) for t in consts)
        if self._weights_key is not None and self._weights_key[0] == stamp:
            return self._weights_key[1]
        h = hashlib.blake2b(digest_size=16)
        for t in consts:
            a = t.detach().cpu().contiguous().numpy()
            h.update(f"{a.dtype}{a.shape}".encode())
            h.update(a.tobytes())
        digest = h.hexdigest()
        self._weights_key = (stamp, digest)
        return digest

    def _find(self, struct: tuple, whash: str, user: list[np.ndarray]) -> _Program | None:
        for p in self.programs.get((struct, whash), []):
            if all(_holds(t, a) for t, a in zip(p.input_types, user, strict=True)):
                return p
        return None

    def _compile(self, struct: tuple, whash: str, args: Sequence[Any], user: list[np.ndarray]) -> _Program:
        from torch_deeploy.api import compile as deeploy_compile
        from torch_deeploy.frontend.fx import import_graph_module, input_type

        qmodel = _integerized(self.gm, args, self.constant)
        if qmodel is not None:  # fake-quant (QAT) model: deploy its integerized form
            from torch_deeploy.ir.graph import TensorType

            deployed = deeploy_compile(qmodel, [torch.from_numpy(a) for a in user], target=self.target,
                                       runner=self.runner, options=self.options)
            self.builds += 1
            prog = _Program([TensorType.floating(a.shape) for a in user], deployed, [torch.float32])
            self.programs.setdefault((struct, whash), []).insert(0, prog)
            return prog
        aten = self.traces.get(struct)
        if aten is None:
            aten = trace_aten(self.gm, args)
            self.traces[struct] = aten
        types = [input_type(a) for a in user]
        for p in self.programs.get((struct, whash), []):  # widen to what earlier calls needed
            types = [_union(t, q) for t, q in zip(types, p.input_types, strict=True)]
        placeholders = []
        k = 0
        for a, c in zip(args, self.constant, strict=True):
            if c or not isinstance(a, torch.Tensor):
                placeholders.append(("constant", a.detach() if isinstance(a, torch.Tensor) else np.asarray(a)))
            else:
                placeholders.append(("input", user[k]))
                k += 1
        imp = import_graph_module(aten, placeholders, name="torch_compiled", input_types=types)
        deployed = deeploy_compile(imp.graph, user, target=self.target, runner=self.runner, options=self.options)
        self.builds += 1
        prog = _Program(types, deployed, imp.output_dtypes)
        self.programs.setdefault((struct, whash), []).insert(0, prog)
        return prog


def _integerized(gm: torch.fx.GraphModule, args: Sequence[Any], constant: Sequence[bool]) -> Any:
    """torch_deeploy.quant's integerized model when the graph has fake quantization (QAT), else None."""
    if not any(n.op == "call_function" and "fake_quant" in str(n.target) for n in gm.graph.nodes):
        return None
    from torch_deeploy.quant.capture import integerize_captured

    return integerize_captured(gm, args, constant)


def _holds(t: Any, a: np.ndarray) -> bool:
    if t.is_float:
        return True
    if a.size == 0:
        return True
    if a.dtype.kind == "f" and not (np.all(np.isfinite(a)) and np.array_equal(np.rint(a), a)):
        return False
    return t.range[0] <= a.min() and a.max() <= t.range[1]


def _union(a: Any, b: Any) -> Any:
    from torch_deeploy.ir import dtypes
    from torch_deeploy.ir.graph import TensorType

    if a.is_float or b.is_float:
        return TensorType.floating(a.shape)
    d = dtypes.for_range(min(a.range[0], b.range[0]), max(a.range[1], b.range[1]))
    return TensorType(a.shape, d, (d.min, d.max))


def trace_aten(gm: torch.fx.GraphModule, args: Sequence[Any]) -> torch.fx.GraphModule:
    """dynamo's torch-level graph as aten ops (the FX frontend's input), keeping the user's stack traces."""
    from torch.fx.experimental.proxy_tensor import make_fx
    from torch.fx.traceback import preserve_node_meta

    with torch.no_grad(), preserve_node_meta():
        return make_fx(torch.fx.Interpreter(gm).run)(*args)


def _frame_name() -> str | None:
    """Name of the code object dynamo is compiling (read from its frames; None if not found)."""
    f = sys._getframe(1)
    while f is not None:
        code = f.f_locals.get("code")
        if hasattr(code, "co_name") and "_dynamo" in f.f_code.co_filename:
            return code.co_name
        f = f.f_back
    return None


def _is_constant(node: torch.fx.Node, example: Any) -> bool:
    if isinstance(example, torch.nn.Parameter):
        return True
    src = getattr(node.meta.get("grapharg"), "source", None)
    while src is not None:
        if any(k in type(src).__name__ for k in _CONSTANT_SOURCES):
            return True
        src = getattr(src, "base", None)
    return False


def check_single_graph(gm: torch.fx.GraphModule) -> None:
    """Raise GraphBreakError when dynamo split the function: this graph ends at a break or resumes after one."""
    reason = getattr(gm, "compile_subgraph_reason", None)
    name = _frame_name()
    if reason is not None and getattr(reason, "graph_break", False):
        where = ""
        stack = getattr(reason, "user_stack", None) or []
        if stack:
            fr = stack[-1]
            where = f" at {fr.filename}:{fr.lineno}: {(fr.line or '').strip()}"
        why = str(reason.reason).strip().splitlines()[0]
        raise GraphBreakError(f"graph break{where} ({why}): torch.compile(backend='deeploy') deploys the whole "
                              "forward as one program and never falls back to eager; remove the break (make the "
                              "code traceable, e.g. no print/.item()/data-dependent Python control flow)")
    if name is not None and name.startswith(RESUME_PREFIX):
        fn = name[len(RESUME_PREFIX):]
        raise GraphBreakError(f"graph break in {fn.rsplit('_at_', 1)[0]} before line {fn.rsplit('_at_', 1)[-1]}: "
                              "torch.compile(backend='deeploy') deploys the whole forward as one program and never "
                              "falls back to eager; remove the break (e.g. no print/.item()/data-dependent "
                              "Python control flow)")


def deeploy_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any],
                    options: dict[str, Any] | None = None, **_: Any) -> Callable[..., Any]:
    """torch.compile backend entry point (registered as 'deeploy' through torch_dynamo_backends)."""
    check_single_graph(gm)
    opts = dict(options or {})
    target = opts.pop("target", "siracusa")
    runner = opts.pop("runner", "host")
    phs = [n for n in gm.graph.nodes if n.op == "placeholder"]
    constant = [_is_constant(n, e) for n, e in zip(phs, example_inputs, strict=True)]
    graph = DeployedGraph(gm, constant, target, runner, opts)
    _CREATED.append(weakref.ref(graph))
    return graph


_CREATED: list[weakref.ref[DeployedGraph]] = []


def created_graphs() -> list[DeployedGraph]:
    """The DeployedGraphs this process created that are still alive, oldest first (build counts, tests)."""
    return [g for g in (r() for r in _CREATED) if g is not None]
