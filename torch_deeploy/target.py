"""Targets as data: targets/*.toml loaded into validated dataclasses. No hardware number lives in code."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from torch_deeploy.errors import DeeployError

TARGET_DIR = Path(__file__).resolve().parent.parent / "targets"
if not TARGET_DIR.is_dir():  # installed (non-editable): shipped as package data
    import torch_deeploy.targets as _pkg

    TARGET_DIR = Path(_pkg.__file__).resolve().parent


@dataclass(frozen=True)
class MemoryLevel:
    name: str
    size: int
    reserved: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> int:
        return self.size - self.reserved


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    cores: int
    memories: dict[str, MemoryLevel]
    dma: dict[str, float]
    raw: dict[str, Any]

    def memory(self, level: str) -> MemoryLevel:
        try:
            return self.memories[level]
        except KeyError:
            raise DeeployError(f"target {self.name} has no memory level {level}") from None

    def with_memory_size(self, level: str, size: int) -> Target:
        mem = dict(self.memories)
        mem[level] = replace(self.memory(level), size=size, reserved=0)
        return replace(self, memories=mem)


def _require(d: dict[str, Any], key: str, where: str, kind: type) -> Any:
    if key not in d:
        raise DeeployError(f"{where}: missing '{key}'")
    v = d[key]
    if kind is int and (not isinstance(v, int) or v < 0):
        raise DeeployError(f"{where}: '{key}' must be a non-negative integer, got {v!r}")
    return v


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read(name: str) -> dict[str, Any]:
    path = TARGET_DIR / f"{name}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in TARGET_DIR.glob("*.toml")))
        raise DeeployError(f"unknown target '{name}' (known: {known})")
    data = tomllib.loads(path.read_text())
    if "inherit" in data:
        data = _merge(_read(data.pop("inherit")), data)
    return data


@cache
def load_target(name: str) -> Target:
    data = _read(name)
    where = f"targets/{name}.toml"
    cores = _require(_require(data, "cluster", where, dict), "cores", where + " [cluster]", int)
    if cores < 1 or cores & (cores - 1):
        raise DeeployError(f"{where}: cluster.cores must be a power of two, got {cores}")
    mems = {}
    for level, spec in _require(data, "memory", where, dict).items():
        w = f"{where} [memory.{level}]"
        size = _require(spec, "size", w, int)
        reserved = int(spec.get("reserved", 0))
        if reserved >= size:
            raise DeeployError(f"{w}: reserved ({reserved}) must be smaller than size ({size})")
        extra = {k: v for k, v in spec.items() if k not in ("size", "reserved")}
        mems[level] = MemoryLevel(level, size, reserved, extra)
    return Target(data.get("name", name), data.get("description", ""), cores, mems, dict(data.get("dma", {})), data)


def resolve(target: str | Target, options: dict[str, Any]) -> Target:
    """The target with the user's overrides (options l1/l2 in bytes) applied."""
    t = load_target(target) if isinstance(target, str) else target
    for level, key in (("L1", "l1"), ("L2", "l2")):
        if options.get(key) is not None:
            t = t.with_memory_size(level, int(options[key]))
    return t
