"""MicroLlama in PyTorch: configuration presets, corpus, tokenizer and the float model.

The model is a decoder-only Llama-style transformer shaped like the integer MicroLlama graphs of the
conformance suite: RMSNorm before attention and MLP, multi-head attention without biases, a gated MLP
``w2(hardswish(w1 x) * w3 x)`` (hardswish instead of SiLU: it has an exact integer form, iHardswish), and a
final RMSNorm. Positions are learned absolute embeddings added on the host side with the token embedding
(no RoPE: the deployed graph then needs no per-position rotation input).
"""

from __future__ import annotations

import math
import re
import sysconfig
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Config:
    vocab: int = 256  # 256 byte tokens + (vocab - 256) frequent word pieces of the corpus
    dim: int = 64
    layers: int = 8
    heads: int = 16
    ffn: int = 256
    context: int = 128  # maximum context = KV-cache slots

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


PRESETS: dict[str, Config] = {
    # tests / CI: byte-level, 2 blocks of width 32
    "tiny": Config(vocab=256, dim=32, layers=2, heads=4, ffn=64, context=64),
    # the seed's size: the dims of the conformance MicroLlama graphs (8 blocks, width 64, 16 heads of 4, FFN 256);
    # a 28,544-entry vocabulary brings the total to ~4.2 M parameters (0.53 M of them in the decoder blocks)
    "micro": Config(vocab=28544, dim=64, layers=8, heads=16, ffn=256, context=256),
}


# ---------------------------------------------------------------------------------------------- corpus
def corpus_files(limit: int | None = None) -> list[Path]:
    """The Python standard library's own .py sources (PSF licence), sorted; `limit` keeps the first files."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.is_file())
    return files[:limit] if limit else files


def load_corpus(max_bytes: int, limit_files: int | None = None) -> bytes:
    """Concatenated stdlib sources, at most max_bytes (deterministic for a given Python installation)."""
    out = bytearray()
    for p in corpus_files(limit_files):
        out += p.read_bytes()
        if len(out) >= max_bytes:
            break
    return bytes(out[:max_bytes])


# ---------------------------------------------------------------------------------------------- tokenizer
PIECE = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*|[0-9]+| +|\n|[^A-Za-z0-9_ \n]")


class Tokenizer:
    """Bytes are tokens 0..255; tokens 256.. are the corpus' most frequent identifiers / space runs (longest
    piece first). Decoding concatenates bytes, so every byte string round-trips."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.index = {p: 256 + i for i, p in enumerate(pieces)}

    @property
    def vocab(self) -> int:
        return 256 + len(self.pieces)

    @staticmethod
    def train(text: bytes, vocab: int) -> Tokenizer:
        if vocab <= 256:
            return Tokenizer([])
        counts = Counter(p for p in PIECE.findall(text) if len(p) > 1)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1] * (len(kv[0]) - 1), kv[0]))
        return Tokenizer([p for p, _ in ranked[: vocab - 256]])

    def encode(self, text: bytes) -> list[int]:
        ids: list[int] = []
        for p in PIECE.findall(text):
            t = self.index.get(p)
            if t is None:
                ids.extend(p)
            else:
                ids.append(t)
        return ids

    def decode(self, ids: list[int]) -> bytes:
        # ids past the learned pieces (a vocabulary larger than the corpus offers) never occur in the data
        return b"".join(bytes([t]) if t < 256 else self.pieces[t - 256] if t - 256 < len(self.pieces) else b"?"
                        for t in ids)


# ---------------------------------------------------------------------------------------------- model
Observer = Callable[[str, torch.Tensor], None]


class Block(nn.Module):
    def __init__(self, c: Config) -> None:
        super().__init__()
        self.c = c
        self.attn_norm = nn.Parameter(torch.ones(c.dim))
        self.wq = nn.Linear(c.dim, c.dim, bias=False)
        self.wk = nn.Linear(c.dim, c.dim, bias=False)
        self.wv = nn.Linear(c.dim, c.dim, bias=False)
        self.wo = nn.Linear(c.dim, c.dim, bias=False)
        self.mlp_norm = nn.Parameter(torch.ones(c.dim))
        self.w1 = nn.Linear(c.dim, c.ffn, bias=False)
        self.w3 = nn.Linear(c.dim, c.ffn, bias=False)
        self.w2 = nn.Linear(c.ffn, c.dim, bias=False)

    def forward(self, h: torch.Tensor, obs: Observer | None = None, prefix: str = "") -> torch.Tensor:
        c = self.c
        B, S, _ = h.shape
        o = obs or (lambda _n, _t: None)
        o(prefix + "in", h)
        a = F.rms_norm(h, (c.dim,), self.attn_norm, eps=1e-5)
        o(prefix + "a", a)
        q, k, v = (w(a).view(B, S, c.heads, c.head_dim).transpose(1, 2) for w in (self.wq, self.wk, self.wv))
        o(prefix + "q", q)
        o(prefix + "k", k)
        o(prefix + "v", v)
        scores = q @ k.transpose(-1, -2) / math.sqrt(c.head_dim)
        causal = torch.ones(S, S, dtype=torch.bool, device=h.device).tril()
        o(prefix + "s", scores.masked_fill(~causal, 0.0))
        p = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
        att = (p @ v).transpose(1, 2).reshape(B, S, c.dim)
        o(prefix + "att", att)
        h = h + self.wo(att)
        o(prefix + "mid", h)
        b = F.rms_norm(h, (c.dim,), self.mlp_norm, eps=1e-5)
        o(prefix + "b", b)
        g, u = self.w1(b), self.w3(b)
        o(prefix + "g", g)
        o(prefix + "u", u)
        hs = F.hardswish(g)
        o(prefix + "hs", hs)
        m = hs * u
        o(prefix + "m", m)
        return h + self.w2(m)


class MicroLlama(nn.Module):
    def __init__(self, c: Config) -> None:
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(c.vocab, c.dim)
        self.pos = nn.Embedding(c.context, c.dim)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = nn.Parameter(torch.ones(c.dim))
        self.head = nn.Linear(c.dim, c.vocab, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02 if isinstance(m, nn.Linear) else 0.1)

    def embed(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        pos = torch.arange(start, start + ids.shape[-1], device=ids.device)
        return self.tok(ids) + self.pos(pos)

    def hidden(self, ids: torch.Tensor, obs: Observer | None = None) -> torch.Tensor:
        """Final-norm hidden states (B, S, dim) of token ids (B, S)."""
        h = self.embed(ids)
        for i, blk in enumerate(self.blocks):
            h = blk(h, obs, f"{i}.")
        if obs is not None:
            obs("out", h)
        f = F.rms_norm(h, (self.c.dim,), self.norm, eps=1e-5)
        if obs is not None:
            obs("f", f)
        return f

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(ids))


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
