"""Parsing of human-written sizes such as 64KiB, 2MiB, 65536 or 64000B."""

from __future__ import annotations

import re

from torch_deeploy.errors import DeeployError

_UNITS = {"": 1, "b": 1, "kib": 1024, "kb": 1000, "k": 1024, "mib": 1 << 20, "mb": 1000_000, "m": 1 << 20}


def parse_size(text: str | int) -> int:
    if isinstance(text, int):
        if text <= 0:
            raise DeeployError(f"size must be positive, got {text}")
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise DeeployError(f"cannot read size '{text}': use e.g. 65536, 64KiB, 64kB or 2MiB")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if value <= 0 or not value.is_integer():
        raise DeeployError(f"size '{text}' must be a positive whole number of bytes")
    return int(value)


def format_size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 10) == 0:
        return f"{n / (1 << 20):.2f} MiB"
    if n >= 1 << 10:
        return f"{n / 1024:.1f} KiB"
    return f"{n} B"
