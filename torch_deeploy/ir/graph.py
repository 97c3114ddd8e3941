"""Graph, Node and Tensor: the data every compiler stage reads and writes.

A tensor's type is its shape, element dtype and (for integers) the closed range of values it can hold;
the range, not the ONNX element type, decides its C storage type. Constants carry their data.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from torch_deeploy.ir import dtypes
from torch_deeploy.ir.dtypes import DType


class Role(enum.Enum):
    INPUT = "input"
    OUTPUT = "output"
    CONSTANT = "constant"
    ACTIVATION = "activation"


@dataclass(frozen=True)
class TensorType:
    shape: tuple[int, ...]
    dtype: DType
    range: tuple[int, int] | None = None  # inclusive; None for float tensors

    @staticmethod
    def integer(shape: tuple[int, ...], lo: int, hi: int) -> TensorType:
        lo, hi = int(lo), int(hi)
        return TensorType(tuple(int(s) for s in shape), dtypes.for_range(lo, hi), (lo, hi))

    @staticmethod
    def floating(shape: tuple[int, ...]) -> TensorType:
        return TensorType(tuple(int(s) for s in shape), dtypes.float32, None)

    @staticmethod
    def of_array(a: np.ndarray, as_float: bool = False) -> TensorType:
        if as_float:
            return TensorType.floating(a.shape)
        if a.size == 0:
            return TensorType.integer(a.shape, 0, 0)
        return TensorType.integer(a.shape, int(a.min()), int(a.max()))

    @property
    def is_float(self) -> bool:
        return self.dtype.is_float

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.nbytes

    @property
    def rank(self) -> int:
        return len(self.shape)

    def with_shape(self, shape: tuple[int, ...]) -> TensorType:
        return TensorType(tuple(shape), self.dtype, self.range)

    def __str__(self) -> str:
        dims = "x".join(str(s) for s in self.shape) or "scalar"
        rng = f" [{self.range[0]}, {self.range[1]}]" if self.range is not None else ""
        return f"{self.dtype}[{dims}]{rng}"


@dataclass
class Tensor:
    name: str
    type: TensorType
    role: Role
    data: np.ndarray | None = None  # constants only; integer constants are stored as int64

    @property
    def is_constant(self) -> bool:
        return self.role is Role.CONSTANT


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]  # "" marks an omitted optional input
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    engine: str | None = None


@dataclass
class Graph:
    name: str
    tensors: dict[str, Tensor] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def constants(self) -> Iterator[Tensor]:
        return (t for t in self.tensors.values() if t.is_constant)

    def producers(self) -> dict[str, Node]:
        return {o: n for n in self.nodes for o in n.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        out: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    out.setdefault(i, []).append(n)
        return out

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def copy(self) -> Graph:
        """A structural copy: nodes and tensor records are new, constant data is shared (read-only)."""
        return Graph(
            self.name,
            {k: replace(t) for k, t in self.tensors.items()},
            [replace(n, inputs=list(n.inputs), outputs=list(n.outputs), attrs=dict(n.attrs)) for n in self.nodes],
            list(self.inputs),
            list(self.outputs),
        )
