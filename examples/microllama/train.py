"""Train MicroLlama on the Python standard library's sources (next-token prediction, fixed seed).

    python examples/microllama/train.py --preset tiny --steps 600 -o build/microllama/tiny.pt
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import PRESETS, Config, MicroLlama, Tokenizer, load_corpus, n_params  # noqa: E402

CORPUS_BYTES = {"tiny": 400_000, "micro": 4_000_000}


@dataclass
class Data:
    tokenizer: Tokenizer
    train: torch.Tensor
    val: torch.Tensor


def load_data(c: Config, corpus_bytes: int) -> Data:
    text = load_corpus(corpus_bytes)
    tok = Tokenizer.train(text, c.vocab)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    cut = int(len(ids) * 0.9)
    return Data(tok, ids[:cut], ids[cut:])


def batches(ids: torch.Tensor, batch: int, seq: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    start = torch.randint(0, len(ids) - seq - 1, (batch,), generator=gen)
    x = torch.stack([ids[s:s + seq] for s in start.tolist()])
    y = torch.stack([ids[s + 1:s + seq + 1] for s in start.tolist()])
    return x, y


def val_windows(ids: torch.Tensor, seq: int, count: int) -> list[torch.Tensor]:
    """Fixed, non-overlapping validation windows (seq + 1 tokens each)."""
    n = min(count, (len(ids) - 1) // seq)
    return [ids[i * seq:i * seq + seq + 1] for i in range(n)]


def perplexity(logits_fn, windows: list[torch.Tensor]) -> float:  # type: ignore[no-untyped-def]
    """exp(mean next-token cross entropy) over the windows; logits_fn(ids (1, S)) -> logits (1, S, V)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for w in windows:
            logits = logits_fn(w[None, :-1]).float()
            total += float(F.cross_entropy(logits[0], w[1:], reduction="sum"))
            count += len(w) - 1
    return math.exp(total / count)


def train(preset: str, steps: int, *, seed: int = 0, batch: int = 16, lr: float = 3e-3,
          corpus_bytes: int | None = None, log_every: int = 100) -> tuple[MicroLlama, Data, dict[str, float]]:
    c = PRESETS[preset]
    torch.manual_seed(seed)
    data = load_data(c, corpus_bytes or CORPUS_BYTES[preset])
    model = MicroLlama(c)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    model.train()
    for step in range(steps):
        frac = step / max(1, steps)
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * frac))
        x, y = batches(data.train, batch, c.context, gen)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if log_every and (step % log_every == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {loss.item():.3f}  {time.perf_counter() - t0:6.1f} s", flush=True)
    model.eval()
    ppl = perplexity(model, val_windows(data.val, c.context, 16))
    return model, data, {"train_seconds": time.perf_counter() - t0, "val_ppl": ppl, "params": n_params(model)}


def save_checkpoint(path: Path, model: MicroLlama, tok: Tokenizer, preset: str, stats: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"preset": preset, "config": model.c.to_dict(), "state": model.state_dict(),
                "pieces": tok.pieces, "stats": stats}, path)


def load_checkpoint(path: Path) -> tuple[MicroLlama, Tokenizer, dict]:  # type: ignore[type-arg]
    ck = torch.load(path, weights_only=False)
    model = MicroLlama(Config(**ck["config"]))
    model.load_state_dict(ck["state"])
    model.eval()
    return model, Tokenizer(ck["pieces"]), ck


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("-o", "--output", type=Path, default=None)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, data, stats = train(a.preset, a.steps, seed=a.seed, batch=a.batch, lr=a.lr, log_every=a.log_every)
    out = a.output or Path("build/microllama") / f"{a.preset}.pt"
    save_checkpoint(out, model, data.tokenizer, a.preset, stats)
    print(f"{a.preset}: {stats['params']:,} parameters, val perplexity {stats['val_ppl']:.2f} "
          f"({stats['train_seconds']:.0f} s) -> {out}")


if __name__ == "__main__":
    main()
