"""What an operator file declares: :class:`OpSpec` with attribute schema, type rule and numpy reference.

One file per operator in this package builds one ``SPEC`` and registers it; everything the compiler
knows about an op (attributes, shape/dtype/range rule, exact semantics, C kernel, tiling, cost) is there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Attr:
    """Schema of one attribute: its kind, default and an optional value check returning a complaint."""

    kind: str  # "int" | "ints" | "float" | "floats" | "str" | "tensor"
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None
    aliases: tuple[str, ...] = ()

    def coerce(self, name: str, raw: Any) -> Any:
        value = _coerce(self.kind, name, raw)
        if self.check is not None:
            complaint = self.check(value)
            if complaint:
                raise OpError(f"attribute '{name}' = {_short(value)}: {complaint}")
        return value


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{list(v.shape)}" if v.size > 6 else repr(v.tolist())
    return repr(v)


def _as_int(name: str, v: Any) -> int:
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise OpError(f"attribute '{name}' must be a single integer, got a tensor of shape {list(v.shape)}")
        v = v.reshape(()).item()
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return int(v)
    raise OpError(f"attribute '{name}' must be an integer, got {v!r}")


def _coerce(kind: str, name: str, raw: Any) -> Any:
    if kind == "int":
        return _as_int(name, raw)
    if kind == "ints":
        if isinstance(raw, np.ndarray):
            raw = raw.reshape(-1).tolist()
        if isinstance(raw, int | np.integer):
            return (int(raw),)
        return tuple(_as_int(name, v) for v in raw)
    if kind == "float":
        if isinstance(raw, np.ndarray):
            if raw.size != 1:
                raise OpError(f"attribute '{name}' must be a single number")
            raw = raw.reshape(()).item()
        return float(raw)
    if kind == "floats":
        return tuple(float(v) for v in np.asarray(raw).reshape(-1))
    if kind == "str":
        return raw.decode() if isinstance(raw, bytes) else str(raw)
    if kind == "tensor":
        return np.asarray(raw)
    raise ValueError(f"unknown attribute kind {kind}")


def Int(default: Any = REQUIRED, *, choices: Sequence[int] | None = None, min: int | None = None,
        power_of_two: bool = False, aliases: tuple[str, ...] = ()) -> Attr:
    def check(v: int) -> str | None:
        if choices is not None and v not in choices:
            return f"must be one of {list(choices)}"
        if min is not None and v < min:
            return f"must be >= {min}"
        if power_of_two and (v <= 0 or v & (v - 1)):
            return "must be a positive power of two"
        return None

    return Attr("int", default, check, aliases)


def Ints(default: Any = REQUIRED, *, min: int | None = None, length: int | None = None) -> Attr:
    def check(v: tuple[int, ...]) -> str | None:
        if length is not None and len(v) != length:
            return f"must have {length} values"
        if min is not None and any(x < min for x in v):
            return f"every value must be >= {min}"
        return None

    return Attr("ints", default, check)


def Float(default: Any = REQUIRED) -> Attr:
    return Attr("float", default)


def Str(default: Any = REQUIRED, *, choices: Sequence[str] | None = None) -> Attr:
    def check(v: str) -> str | None:
        return f"must be one of {list(choices)}" if choices is not None and v not in choices else None

    return Attr("str", default, check)


def Tensor(default: Any = REQUIRED) -> Attr:
    return Attr("tensor", default)


@dataclass
class InferCtx:
    """What a type rule sees: validated attributes, input types and the data of constant inputs."""

    node: str
    op: str
    attrs: dict[str, Any]
    inputs: list[TensorType | None]
    consts: list[np.ndarray | None]

    def input(self, i: int) -> TensorType:
        t = self.inputs[i] if i < len(self.inputs) else None
        if t is None:
            raise OpError(f"input {i} is required")
        return t

    def has_input(self, i: int) -> bool:
        return i < len(self.inputs) and self.inputs[i] is not None

    def const(self, i: int, what: str) -> np.ndarray:
        c = self.consts[i] if i < len(self.consts) else None
        if c is None:
            raise OpError(f"input {i} ({what}) must be a constant; it is computed at run time here")
        return c

    def fail(self, message: str) -> OpError:
        return OpError(message)


@dataclass
class KernelNode:
    """What a kernel binding sees: the node's attributes and the types (and constant data) of its tensors."""

    name: str
    op: str
    attrs: dict[str, Any]
    inputs: list[TensorType | None]
    outputs: list[TensorType]
    consts: list[np.ndarray | None]


Reference = Callable[[list[np.ndarray | None], dict[str, Any]], list[np.ndarray]]
Infer = Callable[[InferCtx], list[TensorType]]


@dataclass(frozen=True)
class OpSpec:
    """Everything the compiler knows about one operator."""

    name: str
    infer: Infer
    reference: Reference
    attrs: dict[str, Attr] = field(default_factory=dict)
    inputs: tuple[int, int] = (1, 1)  # (min, max) number of inputs
    outputs: tuple[int, int] = (1, 1)
    domains: tuple[str, ...] = ("",)
    kernel: str | None = None  # csrc_templates/kernels/<kernel>.c.j2
    # Extra values the C template needs, computed in Python from the node (e.g. broadcast strides).
    kernel_args: Callable[[KernelNode], dict[str, Any]] | None = None
    # Midend hooks. tiling: which output dims split and what input boxes a tile reads (midend/regions.py
    # builders); None means the op runs on whole tensors. cost: work of one (tile) node as
    # (int8 MACs, other element operations); None means one operation per output element.
    tiling: Callable[[KernelNode], Any] | None = None
    cost: Callable[[KernelNode], tuple[float, float]] | None = None
    doc: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    def validate_attrs(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Map raw attributes (ONNX or Python values) to checked values with defaults filled in."""
        names = {alias: key for key, a in self.attrs.items() for alias in (key, *a.aliases)}
        unknown = [k for k in raw if k not in names]
        if unknown:
            known = ", ".join(self.attrs) or "none"
            raise OpError(f"unknown attribute(s) {', '.join(unknown)} (known: {known})")
        out: dict[str, Any] = {}
        for k, v in raw.items():
            key = names[k]
            out[key] = self.attrs[key].coerce(k, v)
        for key, a in self.attrs.items():
            if key not in out:
                if a.default is REQUIRED:
                    raise OpError(f"attribute '{key}' is required")
                out[key] = a.default
        return out
