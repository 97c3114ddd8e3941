"""The reference runner: executes the IR with each op's numpy reference. It defines correct output."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from torch_deeploy.errors import OpError, RunError
from torch_deeploy.ir.graph import Graph, Tensor, TensorType
from torch_deeploy.ops import registry


def coerce_input(name: str, ty: TensorType, value: np.ndarray) -> np.ndarray:
    """Check one runtime input against the compiled contract (shape, integrality, range)."""
    a = np.asarray(value)
    if tuple(a.shape) != ty.shape:
        if [d for d in a.shape if d != 1] == [d for d in ty.shape if d != 1]:  # only unit dims differ
            a = a.reshape(ty.shape)
        else:
            raise RunError(f"input '{name}': expected shape {list(ty.shape)}, got {list(a.shape)}")
    if ty.is_float:
        return a.astype(np.float32)
    if a.dtype.kind == "f":
        if not (np.all(np.isfinite(a)) and np.array_equal(np.rint(a), a)):
            raise RunError(f"input '{name}' was compiled as {ty.dtype} but holds non-integer values")
        a = np.rint(a)
    a = a.astype(np.int64)
    lo, hi = ty.range  # type: ignore[misc]
    if a.size and (a.min() < lo or a.max() > hi):
        raise RunError(f"input '{name}' was compiled as {ty.dtype} (range [{lo}, {hi}]) but holds values "
                       f"in [{a.min()}, {a.max()}]; compile with example inputs that cover the real range")
    return a


def to_storage(t: Tensor, value: np.ndarray) -> np.ndarray:
    return np.asarray(value, dtype=t.type.dtype.np_dtype)


def run_reference(
    g: Graph, inputs: Sequence[np.ndarray], *, keep_all: bool = False, check_ranges: bool = True
) -> list[np.ndarray] | dict[str, np.ndarray]:
    """Run g on inputs (graph-input order). Returns outputs, or every tensor value with keep_all."""
    if len(inputs) < len(g.inputs):
        raise RunError(f"the network takes {len(g.inputs)} inputs, {len(inputs)} were given")
    env: dict[str, np.ndarray] = {}
    for name, value in zip(g.inputs, inputs, strict=False):
        env[name] = coerce_input(name, g.tensors[name].type, value)
    for t in g.constants():
        env[t.name] = t.data  # type: ignore[assignment]
    for node in g.nodes:
        spec = registry.get(node.op, node=node.name)
        args = [env[i] if i else None for i in node.inputs]
        try:
            results = spec.reference(args, node.attrs)
        except OpError as e:
            raise e.located(node.name, node.op) from None
        for name, value in zip(node.outputs, results, strict=False):
            t = g.tensors[name]
            value = np.asarray(value)
            if tuple(value.shape) != t.type.shape:
                raise AssertionError(f"{node.name} ({node.op}): reference gave shape {value.shape}, "
                                     f"type rule says {t.type.shape}")
            if t.type.is_float:
                value = value.astype(np.float32)
            else:
                value = value.astype(np.int64)
                if check_ranges and value.size:
                    lo, hi = t.type.range  # type: ignore[misc]
                    if value.min() < lo or value.max() > hi:
                        raise AssertionError(f"{node.name} ({node.op}): values [{value.min()}, {value.max()}] "
                                             f"outside the inferred range [{lo}, {hi}] of '{name}'")
            env[name] = value
    if keep_all:
        return env
    return [to_storage(g.tensors[o], env[o]) for o in g.outputs]
