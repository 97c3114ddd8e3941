"""The Jinja2 environment over csrc_templates/ (StrictUndefined: a missing value is an error, not '')."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2
import numpy as np

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "csrc_templates"
if not TEMPLATE_DIR.is_dir():  # installed (non-editable): shipped as package data
    import torch_deeploy.csrc_templates as _pkg

    TEMPLATE_DIR = Path(_pkg.__file__).resolve().parent


def c_literal(v: float | int, ctype: str) -> str:
    if ctype == "float":
        f = float(np.float32(v))
        if np.isnan(f):
            return "NAN"
        if np.isinf(f):
            return "INFINITY" if f > 0 else "-INFINITY"
        return f"{f:.9g}f" if ("e" in f"{f:.9g}" or "." in f"{f:.9g}") else f"{f:.9g}.0f"
    i = int(v)
    if ctype in ("int64_t",) or not -(2**31) <= i < 2**31:
        return f"INT64_C({i})"
    if i == -(2**31):
        return "(-2147483647 - 1)"
    return str(i)


def c_array(data: np.ndarray, ctype: str, per_line: int = 24) -> str:
    """Body of a C array initializer, wrapped; exact for integers and float32."""
    flat = np.asarray(data).reshape(-1)
    if ctype == "float":
        items = [c_literal(v, ctype) for v in flat.astype(np.float32).tolist()]
    elif flat.size and (flat.min() < -(2**31) or flat.max() >= 2**31):
        items = [c_literal(v, "int64_t") for v in flat.tolist()]
    else:
        items = [str(v) for v in flat.astype(np.int64).tolist()]
    if not items:
        return "0"
    return ",\n  ".join(", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line))


def prod(xs) -> int:
    return int(np.prod(list(xs), dtype=np.int64))


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["c_array"] = c_array
    env.filters["c_literal"] = c_literal
    env.globals["prod"] = prod
    return env


def render(name: str, **ctx: object) -> str:
    return environment().get_template(name).render(**ctx)
