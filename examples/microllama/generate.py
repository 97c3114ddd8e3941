"""Generate text with MicroLlama where every token is computed by the deployed C programs.

    python examples/microllama/generate.py build/microllama/tiny.int.pt --prompt "def " --tokens 32

The prompt goes through the prefill program, each further token through the decode program (host runner by
default; ``--runner gvsoc`` when GVSoC is installed). The torch integer model runs beside it as a check:
every step's outputs must be identical, so the tokens are identical. Embedding lookup (+ position) and the
output head run on the host side in integer arithmetic shared by both paths (the head's int8 weights times the
deployed program's int8 hidden state, exact int64 logits, argmax / top-k). Figures go to a JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export import (  # noqa: E402
    SEED_TOKENS_PER_S,
    SEED_UJ_PER_TOKEN,
    Programs,
    compile_programs,
    format_memory,
    memory_rows,
)
from quantize import IntLlama  # noqa: E402

FIRST_CLOCK_HZ = 50e6  # GVSoC models SoC and cluster at 50 MHz (SIRACUSA.md 7b); silicon clock: not established


@dataclass
class Generation:
    tokens: list[int]
    reference_tokens: list[int]
    identical: bool
    decode_seconds: list[float] = field(default_factory=list)
    decode_cycles: list[int] = field(default_factory=list)
    prefill_seconds: float = 0.0


def pick(logits: np.ndarray, top_k: int, rng: np.random.Generator, step: float) -> int:
    """Greedy (top_k <= 1: first maximum) or top-k sampling on exact integer logits."""
    if top_k <= 1:
        return int(np.argmax(logits))
    idx = np.argsort(-logits, kind="stable")[:top_k]
    z = (logits[idx] - logits[idx[0]]).astype(np.float64) * step
    p = np.exp(z) / np.exp(z).sum()
    return int(idx[rng.choice(len(idx), p=p)])


def generate(im: IntLlama, progs: Programs, prompt: list[int], n_new: int, *, top_k: int = 1, seed: int = 0,
             check: bool = True) -> Generation:
    c = im.c
    S = progs.prompt_len
    if len(prompt) != S:
        raise ValueError(f"the prefill program was compiled for {S} prompt tokens, got {len(prompt)}")
    n_new = min(n_new, c.context - S)
    T = c.context
    caches = np.zeros((2 * c.layers, 1, c.heads, T, c.head_dim), dtype=np.int8)
    rng = np.random.default_rng(seed)
    ref_rng = np.random.default_rng(seed)
    identical = True

    x = im.embed_int(prompt, 0)
    t0 = time.perf_counter()
    outs = progs.prefill.run([x])
    pre_s = time.perf_counter() - t0
    if check:
        with torch.no_grad():
            ref = [o.numpy() for o in im.prefill(x, im.causal_mask(S))]
        identical &= all(np.array_equal(a.astype(np.int64), b.astype(np.int64)) for a, b in zip(outs, ref, strict=True))
    for i, rows in enumerate(outs[1:]):
        caches[i, :, :, :S, :] = rows
    ref_caches = caches.copy()
    tok = pick(im.logits_int(outs[0][0, -1]), top_k, rng, im.head_step)
    ref_tok = pick(im.logits_int(ref[0][0, -1]), top_k, ref_rng, im.head_step) if check else tok
    gen = Generation([tok], [ref_tok], identical, prefill_seconds=pre_s)
    ref_caches_t = [torch.from_numpy(a).float() for a in ref_caches]
    # One persistent run of the decode program: its KV caches live in the program's own memory and each
    # step writes its K/V rows there in place; after the first step only x, mask and pos are sent.
    session = progs.decode.session() if progs.decode.runner == "host" else None
    try:
        for step, pos in enumerate(range(S, S + n_new - 1)):
            mask = np.where(np.arange(T) <= pos, 0, -1).astype(np.int8).reshape(1, 1, 1, T)
            x = im.embed_int([tok], pos)
            p = np.array([pos])
            t0 = time.perf_counter()
            if session is not None:
                outs = session.step([x, mask, p, *(caches if step == 0 else [None] * len(caches))])
                gen.decode_seconds.append(time.perf_counter() - t0)
            else:  # GVSoC: one simulation per step, the caches travel as inputs
                outs = progs.decode.run([x, mask, p, *caches])
                gen.decode_seconds.append(time.perf_counter() - t0)
                perf = progs.decode.last_perf or {}
                if "total" in perf:
                    gen.decode_cycles.append(int(perf["total"]))
            tok = pick(im.logits_int(outs[0][0, -1]), top_k, rng, im.head_step)
            if check or session is None:
                rx = im.embed_int([ref_tok], pos)
                with torch.no_grad():
                    ref = im.decode(rx, torch.from_numpy(mask).float(), torch.tensor([float(pos)]), *ref_caches_t)
                ref_caches_t = list(ref[1:])
                if session is None:  # the simulated program returned no caches: keep the host copy in step
                    caches = np.stack([t.numpy().astype(np.int8) for t in ref_caches_t])
                ref_tok = pick(im.logits_int(ref[0].numpy()[0, -1]), top_k, ref_rng, im.head_step)
                gen.identical &= np.array_equal(outs[0].astype(np.int64), ref[0].numpy().astype(np.int64))
            else:
                ref_tok = tok
            gen.tokens.append(tok)
            gen.reference_tokens.append(ref_tok)
    finally:
        if session is not None:
            session.close()
    gen.identical &= gen.tokens == gen.reference_tokens
    return gen


def figures(im: IntLlama, progs: Programs, gen: Generation, n_params: int | None) -> dict[str, Any]:
    c = im.c
    deployed = sum(int(np.prod(b.shape)) for n, b in im.named_buffers() if n.endswith("_w"))
    rep: dict[str, Any] = {
        "config": c.to_dict(), "parameters_total": n_params, "parameters_deployed_int8": deployed,
        "parameters_host_side": {"embedding": int(im.tok.numel()), "positions": int(im.pos.numel()),
                                 "head": int(im.head_int.numel())},
        "kv_cache_bytes": 2 * c.layers * c.heads * c.context * c.head_dim,
        "memory": memory_rows(progs), "runner": progs.decode.runner,
        "tokens": len(gen.tokens), "identical_to_torch_integer_model": gen.identical,
        "prefill_seconds": gen.prefill_seconds,
        "seed_silicon": {"tokens_per_s": SEED_TOKENS_PER_S, "uJ_per_token": SEED_UJ_PER_TOKEN},
    }
    if gen.decode_seconds:
        s = float(np.median(gen.decode_seconds))
        rep["decode_seconds_per_token_median"] = s
        rep["host_tokens_per_s"] = 1.0 / s
    if progs.decode.runner == "gvsoc" and gen.decode_cycles:
        cyc = float(np.median(gen.decode_cycles))
        rep["gvsoc_cycles_per_token"] = cyc
        rep["gvsoc_tokens_per_s_at_50MHz"] = FIRST_CLOCK_HZ / cyc
    return rep


def print_figures(rep: dict[str, Any]) -> None:
    print(f"parameters: {rep['parameters_total']:,} total, {rep['parameters_deployed_int8']:,} int8 in the deployed "
          f"programs, host side {rep['parameters_host_side']}")
    print(f"KV cache: {rep['kv_cache_bytes']:,} B (int8, context {rep['config']['context']})")
    print(format_memory(rep["memory"]))
    if "host_tokens_per_s" in rep:
        print(f"{rep['runner']} runner: {rep['host_tokens_per_s']:.1f} tokens/s "
              f"({rep['decode_seconds_per_token_median'] * 1e3:.2f} ms per decode step, wall clock"
              + (", one persistent session)" if rep["runner"] == "host" else ", incl. simulator start)"))
    if "gvsoc_cycles_per_token" in rep:
        print(f"GVSoC: {rep['gvsoc_cycles_per_token']:,.0f} cycles/token = "
              f"{rep['gvsoc_tokens_per_s_at_50MHz']:.1f} tokens/s at 50 MHz")
    else:
        print("GVSoC: not run (not installed); cycles/token unavailable")
    print(f"seed (silicon, N-EUREKA + cluster): {SEED_TOKENS_PER_S} tokens/s, {SEED_UJ_PER_TOKEN} uJ/token")
    print(f"tokens identical to the torch integer model: {rep['identical_to_torch_integer_model']}")


def main() -> None:
    from torch_deeploy.runners import gvsoc

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("int_model", type=Path)
    ap.add_argument("--checkpoint", type=Path, default=None, help="float checkpoint (tokenizer); default: from name")
    ap.add_argument("--prompt", default="def ")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--top-k", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runner", choices=("host", "gvsoc"), default=None,
                    help="default: gvsoc when installed, else host")
    ap.add_argument("--neureka", action="store_true", help="pin every linear layer to N-EUREKA (weights in its "
                    "weight memory), as in the seed; default: the compiler's cost model decides")
    ap.add_argument("--report", type=Path, default=None)
    a = ap.parse_args()
    from train import load_checkpoint

    im: IntLlama = torch.load(a.int_model, weights_only=False)
    ck_path = a.checkpoint or a.int_model.with_suffix("").with_suffix(".pt")
    model, tok, _ = load_checkpoint(ck_path)
    prompt = tok.encode(a.prompt.encode())
    runner = a.runner or ("gvsoc" if gvsoc.missing() is None else "host")
    options = {"engines": {"*": "neureka"}} if a.neureka else None
    t0 = time.perf_counter()
    progs = compile_programs(im, len(prompt), runner=runner, options=options)
    print(f"compiled prefill ({len(prompt)} tokens) and decode for siracusa in {time.perf_counter() - t0:.1f} s")
    gen = generate(im, progs, prompt, a.tokens, top_k=a.top_k, seed=a.seed)
    text = tok.decode(prompt + gen.tokens).decode("utf-8", errors="replace")
    print("-" * 60)
    print(text)
    print("-" * 60)
    rep = figures(im, progs, gen, sum(p.numel() for p in model.parameters()))
    rep["text"] = text
    print_figures(rep)
    out = a.report or a.int_model.with_suffix("").with_suffix(".report.json")
    out.write_text(json.dumps(rep, indent=1))
    print(f"report: {out}")
    if not gen.identical:
        sys.exit("MISMATCH: the deployed program differs from the torch integer model")


if __name__ == "__main__":
    main()
