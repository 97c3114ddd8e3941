"""Element types of IR tensors and how a value range picks the narrowest storage type."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DType:
    name: str
    bits: int
    signed: bool
    is_float: bool
    np_dtype: np.dtype
    c_type: str

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def nbytes(self) -> int:
        return self.bits // 8

    def holds(self, lo: int, hi: int) -> bool:
        return self.is_float or (self.min <= lo and hi <= self.max)

    def __str__(self) -> str:
        return self.name


def _int(name: str, bits: int, signed: bool) -> DType:
    return DType(name, bits, signed, False, np.dtype(name), f"{name}_t")


int8 = _int("int8", 8, True)
uint8 = _int("uint8", 8, False)
int16 = _int("int16", 16, True)
uint16 = _int("uint16", 16, False)
int32 = _int("int32", 32, True)
int64 = _int("int64", 64, True)
float32 = DType("float32", 32, True, True, np.dtype("float32"), "float")

ALL = {d.name: d for d in (int8, uint8, int16, uint16, int32, int64, float32)}
# Order in which storage types are tried for an integer range: narrowest first, signed before unsigned
# at equal width so that symmetric int8 data stays int8.
_INT_LADDER = (int8, uint8, int16, uint16, int32, int64)


def by_name(name: str) -> DType:
    try:
        return ALL[name]
    except KeyError:
        raise ValueError(f"unknown dtype '{name}' (known: {', '.join(ALL)})") from None


def for_range(lo: int, hi: int) -> DType:
    """Narrowest integer type that holds every value in [lo, hi]."""
    for d in _INT_LADDER:
        if d.holds(lo, hi):
            return d
    raise ValueError(f"value range [{lo}, {hi}] does not fit in 64 bits")


def from_numpy(dt: np.dtype) -> DType:
    dt = np.dtype(dt)
    if dt.kind == "f":
        return float32
    if dt.kind == "b":
        return uint8
    if dt.name in ALL:
        return ALL[dt.name]
    if dt.name == "uint32":
        return int64
    raise ValueError(f"unsupported numpy dtype {dt}")
