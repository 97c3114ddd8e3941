"""The op registry: op name -> OpSpec. Op files call :func:`register`; nothing is discovered by magic."""

from __future__ import annotations

from torch_deeploy.errors import OpError
from torch_deeploy.ops.base import OpSpec

OPS: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in OPS:
        raise ValueError(f"op {spec.name} registered twice")
    OPS[spec.name] = spec
    return spec


def get(op: str, *, node: str | None = None) -> OpSpec:
    try:
        return OPS[op]
    except KeyError:
        known = ", ".join(sorted(OPS))
        raise OpError(f"unsupported op '{op}'. Supported ops: {known}", node=node, op=op) from None
