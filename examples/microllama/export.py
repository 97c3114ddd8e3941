"""Compile MicroLlama's two integer programs for Siracusa: prefill (a prompt of S tokens) and one decode step.

    python examples/microllama/export.py build/microllama/tiny.int.pt --prompt-len 8 -o build/microllama/tiny

Writes two self-contained C projects (prefill/, decode/) and prints the memory table. The decode step takes
the K and V caches of the full context (int8, (1, heads, context, head_dim) per layer), a slot mask and the
token's embedding, and returns the final hidden state and the token's new K/V rows; the caller writes the
rows into its cache slot (see generate.py).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import torch_deeploy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quantize import DecodeProgram, IntLlama, PrefillProgram  # noqa: E402

SEED_TOKENS_PER_S = 340  # the seed's silicon figure (MicroLlama on Siracusa, N-EUREKA + cluster)
SEED_UJ_PER_TOKEN = 490


@dataclass
class Programs:
    prefill: torch_deeploy.DeployedModel
    decode: torch_deeploy.DeployedModel
    prompt_len: int


def example_prefill(im: IntLlama, S: int) -> tuple[torch.Tensor]:
    x = im.embed_int(list(range(S)), 0)
    x[0, 0, :2] = torch.tensor([-128.0, 127.0])  # the example fixes the input type: cover the int8 range
    return (x,)


def example_decode(im: IntLlama) -> tuple[torch.Tensor, ...]:
    c = im.c
    x = im.embed_int([0], 0)
    x[0, 0, :2] = torch.tensor([-128.0, 127.0])
    mask = torch.zeros(1, 1, 1, c.context)
    mask[..., c.context // 2:] = -1
    g = torch.Generator().manual_seed(0)
    caches = [torch.randint(-128, 128, (1, c.heads, c.context, c.head_dim), generator=g).float()
              for _ in range(2 * c.layers)]
    for t in caches:
        t.view(-1)[:2] = torch.tensor([-128.0, 127.0])
    pos = torch.tensor([float(c.context - 1)])  # the largest position fixes the input's integer type
    return (x, mask, pos, *caches)


def compile_programs(im: IntLlama, prompt_len: int, *, runner: str = "host",
                     options: dict[str, Any] | None = None) -> Programs:
    """Both programs compiled for Siracusa (C built for the runner)."""
    if not 1 <= prompt_len < im.c.context:
        raise ValueError(f"prompt length must be 1..{im.c.context - 1}, got {prompt_len}")
    pre = torch_deeploy.compile(PrefillProgram(im, prompt_len), example_prefill(im, prompt_len), target="siracusa",
                                runner=runner, options=options)
    dec = torch_deeploy.compile(DecodeProgram(im), example_decode(im), target="siracusa", runner=runner,
                                options=options)
    return Programs(pre, dec, prompt_len)


def memory_rows(p: Programs) -> list[dict[str, Any]]:
    """Bytes per memory level of each program (from the compile reports)."""
    rows = []
    for name, d in (("prefill", p.prefill), ("decode", p.decode)):
        m = d.report["memory"]
        l2 = m["L2"]
        wm = m.get("weight_memory", {})
        rows.append({"program": name, "L2 constants": l2["constants"], "L2 activations": l2["activations"],
                     "L2 tiling tables": l2.get("tiling_tables", 0), "L2 used": l2["used"], "L2 budget": l2["budget"],
                     "L1 peak": m["L1"]["peak"], "L1 budget": m["L1"]["budget"],
                     "weight memory": wm.get("used", 0)})
    return rows


def format_memory(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    lines = ["  ".join(f"{k:>16}" for k in keys)]
    for r in rows:
        lines.append("  ".join(f"{r[k]:>16}" if isinstance(r[k], str) else f"{r[k]:>16,}" for k in keys))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("int_model", type=Path, help="integer model written by quantize.py (*.int.pt)")
    ap.add_argument("--prompt-len", type=int, default=8)
    ap.add_argument("-o", "--output", type=Path, default=None)
    a = ap.parse_args()
    im: IntLlama = torch.load(a.int_model, weights_only=False)
    p = compile_programs(im, a.prompt_len)
    out = a.output or a.int_model.with_suffix("").with_suffix("")
    p.prefill.save(out / "prefill")
    p.decode.save(out / "decode")
    print(format_memory(memory_rows(p)))
    print(f"C projects: {out / 'prefill'}, {out / 'decode'}")


if __name__ == "__main__":
    main()
