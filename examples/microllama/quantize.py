"""Post-training quantization of MicroLlama to an integer model of deeploy operators.

torch_deeploy.quant's PT2E flow integerizes feed-forward graphs; a KV-cache decoder needs two programs
(prefill and one decode step) that must agree on the integer steps of the cached K and V, and masks fed
from the host. So the integer model is built here, block by block, from the same rules
(``torch_deeploy.quant.rules``: RequantShift multipliers, iRMSNorm weights, iSoftmax and iHardswish constants)
and the integer operators ``torch.ops.deeploy.*``; the steps come from min/max calibration of the float
model. Integers are held in float32 tensors (QuantLib style); every accumulator stays below 2^24.

Integer block (int8 activations, symmetric; softmax uint8 with step 1/255):
    a  = iRMSNorm(h)                         q,k,v = RQ(a @ W^T)   (per-output-channel int8 weights)
    s  = clip(RQ(q @ k^T) + mask, -128)      p = iSoftmax(s)       att = RQ(p @ v)
    h' = RQ(h + RQ(att @ Wo^T))              b = iRMSNorm(h')
    m  = RQ(RQ(iHardswish(RQ(b @ W1^T))) * RQ(b @ W3^T))           h'' = RQ(h' + RQ(m @ W2^T))

    python examples/microllama/quantize.py build/microllama/tiny.pt
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import torch_deeploy.torch_ops  # noqa: F401  (registers torch.ops.deeploy.*)
from torch_deeploy.quant import rules

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Config, MicroLlama  # noqa: E402

dq = torch.ops.deeploy
MASKED = -256  # added to masked int8 scores before clipping at -128


# ---------------------------------------------------------------------------------------------- calibration
def calibrate(model: MicroLlama, windows: list[torch.Tensor]) -> dict[str, float]:
    """Maximum |value| per activation site of the float model over calibration token windows."""
    amax: dict[str, float] = {}

    def obs(name: str, t: torch.Tensor) -> None:
        amax[name] = max(amax.get(name, 0.0), float(t.detach().abs().max()))

    with torch.no_grad():
        for w in windows:
            model.hidden(w[None, : model.c.context], obs)
    return amax


def _int8_weights(w: torch.Tensor, per_channel: bool = True) -> tuple[torch.Tensor, np.ndarray]:
    """Symmetric int8 weights (-127..127), per output channel (rows) or per tensor; returns (ints, scales)."""
    w = w.detach().double()
    top = w.abs().amax(dim=1) if per_channel else w.abs().max().expand(w.shape[0])
    scale = torch.clamp(top, min=1e-12) / 127.0
    ints = torch.clamp(torch.round(w / scale[:, None]), -127, 127)
    return ints.float(), scale.numpy()


# ---------------------------------------------------------------------------------------------- integer model
class IntLlama(nn.Module):
    """The integer MicroLlama: prefill(x) and decode(x, mask, caches) on float32-held integers."""

    def __init__(self, model: MicroLlama, amax: dict[str, float]) -> None:
        super().__init__()
        c = self.c = model.c
        self.steps = {k: max(v, 1e-6) / 127.0 for k, v in amax.items()}
        st = self.steps
        self.register_buffer("zero", torch.zeros(()))
        self.register_buffer("one", torch.ones(()))
        self.rq_div: dict[str, int] = {}
        self.attrs: dict[str, tuple[int, ...]] = {}
        for i, blk in enumerate(model.blocks):
            p = f"{i}."
            nxt = f"{i + 1}.in" if i + 1 < c.layers else "out"
            self._norm(p + "attn_norm", blk.attn_norm, st[p + "a"])
            for name, lin in (("q", blk.wq), ("k", blk.wk), ("v", blk.wv)):
                self._linear(p + "w" + name, lin.weight, st[p + "a"], st[p + name])
            # scores: q.k / sqrt(hd) with step s_q s_k / sqrt(hd)
            self._requant(p + "s", st[p + "q"] * st[p + "k"] / math.sqrt(c.head_dim), st[p + "s"])
            sm = rules.i_softmax_params(st[p + "s"])
            self.attrs[p + "softmax"] = (sm.coeffA, sm.coeffB, sm.coeffC, sm.log2)
            self._requant(p + "att", st[p + "v"] / 255.0, st[p + "att"])
            self._linear(p + "wo", blk.wo.weight, st[p + "att"], st[p + "in"])
            self._requant(p + "mid", st[p + "in"], st[p + "mid"])
            self._norm(p + "mlp_norm", blk.mlp_norm, st[p + "b"])
            self._linear(p + "w1", blk.w1.weight, st[p + "b"], st[p + "g"])
            self._linear(p + "w3", blk.w3.weight, st[p + "b"], st[p + "u"])
            hw = rules.i_hardswish_params(st[p + "g"])
            self.attrs[p + "hardswish"] = (hw.three, hw.six, hw.one_over_six)
            self._requant(p + "hs", hw.out_scale(st[p + "g"]), st[p + "hs"])
            self._requant(p + "m", st[p + "hs"] * st[p + "u"], st[p + "m"])
            self._linear(p + "w2", blk.w2.weight, st[p + "m"], st[p + "mid"])
            self._requant(p + "out", st[p + "mid"], st[nxt])
        self._norm("final_norm", model.norm, st["f"])
        head, hs = _int8_weights(model.head.weight, per_channel=False)  # one step: argmax of integers = argmax
        self.head_int = head  # host side (see generate.py); not part of the deployed programs
        self.head_step = float(hs[0]) * st["f"]
        self.in_step = st["0.in"]
        self.tok = model.tok.weight.detach().clone()
        self.pos = model.pos.weight.detach().clone()

    # ---- constants
    def _buf(self, name: str, value: np.ndarray | torch.Tensor) -> None:
        self.register_buffer(name.replace(".", "_"), torch.as_tensor(np.asarray(value), dtype=torch.float32))

    def _get(self, name: str) -> torch.Tensor:
        return getattr(self, name.replace(".", "_"))

    def _requant(self, name: str, in_step: float | np.ndarray, out_step: float) -> None:
        r = rules.requant_params(np.asarray(in_step, dtype=np.float64) / out_step)
        self._buf(name + ".mul", r.mul)
        self.rq_div[name] = r.div

    def _linear(self, name: str, w: torch.Tensor, in_step: float, out_step: float) -> None:
        ints, scale = _int8_weights(w)
        self._buf(name + ".w", ints)
        self._requant(name, in_step * scale, out_step)

    def _norm(self, name: str, gamma: torch.Tensor, out_step: float) -> None:
        p = rules.norm_params(gamma.detach().double().numpy(), None, out_step)
        self._buf(name + ".w", p.weight)
        self.rq_div[name] = p.D

    # ---- integer ops
    def rq(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return dq.requant_shift(x, self._get(name + ".mul"), self.zero, self.rq_div[name], 256, True)

    def norm(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return dq.i_rms_norm(x, self._get(name + ".w"), self.rq_div[name], 256)

    def lin(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return self.rq(name, F.linear(x, self._get(name + ".w")))

    def _qkv(self, p: str, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.c
        S = h.shape[1]
        a = self.norm(p + "attn_norm", h)
        return tuple(self.lin(p + "w" + n, a).reshape(1, S, c.heads, c.head_dim).transpose(1, 2)
                     for n in "qkv")  # type: ignore[return-value]

    def _tail(self, p: str, h: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
        """Output projection, residual, MLP, residual: att (1, H, S, hd) int8 -> next block input."""
        c = self.c
        S = h.shape[1]
        att = self.rq(p + "att", att).transpose(1, 2).reshape(1, S, c.dim)
        h = self.rq(p + "mid", h + self.lin(p + "wo", att))
        b = self.norm(p + "mlp_norm", h)
        three, six, oos = self.attrs[p + "hardswish"]
        g = self.lin(p + "w1", b)
        u = self.lin(p + "w3", b)
        hs = self.rq(p + "hs", dq.i_hardswish(g, three, six, oos))
        m = self.rq(p + "m", hs * u)
        return self.rq(p + "out", h + self.lin(p + "w2", m))

    def _softmax(self, p: str, s: torch.Tensor) -> torch.Tensor:
        a, b, c_, log2 = self.attrs[p + "softmax"]
        return dq.i_softmax(s, a, b, c_, log2, 256)

    def prefill(self, x: torch.Tensor, causal: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """x (1, S, dim) int8, causal (1, 1, S, S) 0 / MASKED -> (final hidden (1, S, dim), k0, v0, k1, v1, ...)
        with k, v (1, H, S, hd) int8, the rows of the KV caches."""
        caches: list[torch.Tensor] = []
        h = x
        for i in range(self.c.layers):
            p = f"{i}."
            q, k, v = self._qkv(p, h)
            s = torch.clamp(self.rq(p + "s", q @ k.transpose(-1, -2)) + causal, min=-128.0)
            h = self._tail(p, h, self._softmax(p, s) @ v)
            caches += [k, v]
        return (self.norm("final_norm", h), *caches)

    def decode(self, x: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, *caches: torch.Tensor
               ) -> tuple[torch.Tensor, ...]:
        """One token at position pos: x (1, 1, dim) int8, mask (1, 1, 1, T) int8 (0 = valid slot, including pos;
        -1 = empty), pos (1,), caches k0, v0, ... (1, H, T, hd) int8 -> (final hidden (1, 1, dim), caches after).
        The step's K/V rows go into the caches with KVCacheWrite: the compiled program writes them in place
        into its own statically allocated cache buffers, so nothing is copied per token."""
        c = self.c
        T = caches[0].shape[2]
        after: list[torch.Tensor] = []
        h = x
        big = mask * float(-MASKED)
        for i in range(c.layers):
            p = f"{i}."
            q, k, v = self._qkv(p, h)
            kc = dq.kv_cache_write(caches[2 * i], k, pos)
            vc = dq.kv_cache_write(caches[2 * i + 1], v, pos)
            s = (kc @ q.transpose(-1, -2)).reshape(1, c.heads, 1, T)  # (1, H, T, 1) -> (1, H, 1, T)
            s = torch.clamp(self.rq(p + "s", s) + big, min=-128.0)
            h = self._tail(p, h, self._softmax(p, s) @ vc)
            after += [kc, vc]
        return (self.norm("final_norm", h), *after)

    # ---- host-side edges (identical for the torch integer model and the deployed C)
    def embed_int(self, ids: list[int], start: int) -> torch.Tensor:
        """Token + position embedding of ids at positions start.., quantized to the first block's int8 step."""
        e = self.tok[torch.tensor(ids)] + self.pos[torch.arange(start, start + len(ids))]
        return torch.clamp(torch.round(e.double() / self.in_step), -128, 127).float()[None]

    def logits_int(self, f: torch.Tensor | np.ndarray) -> np.ndarray:
        """Integer logits (exact, int64) of final hidden states (..., dim) int8."""
        a = np.asarray(f.detach().numpy() if isinstance(f, torch.Tensor) else f).astype(np.int64)
        return a @ self.head_int.numpy().astype(np.int64).T

    def causal_mask(self, S: int) -> torch.Tensor:
        return torch.triu(torch.full((S, S), float(MASKED)), diagonal=1)[None, None]


class PrefillProgram(nn.Module):
    """The prefill program for prompts of exactly S tokens (what gets compiled)."""

    def __init__(self, im: IntLlama, S: int) -> None:
        super().__init__()
        self.im = im
        self.register_buffer("causal", im.causal_mask(S))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.im.prefill(x, self.causal)


class DecodeProgram(nn.Module):
    """One decode step against caches of the model's maximum context (what gets compiled)."""

    def __init__(self, im: IntLlama) -> None:
        super().__init__()
        self.im = im

    def forward(self, x: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, *caches: torch.Tensor) -> torch.Tensor:
        return self.im.decode(x, mask, pos, *caches)[0]  # the caches are updated in place, not returned


def int_perplexity(im: IntLlama, windows: list[torch.Tensor]) -> float:
    """Perplexity of the integer model (prefill program on each window, dequantized integer logits)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for w in windows:
            ids = w[:-1].tolist()
            f = im.prefill(im.embed_int(ids, 0), im.causal_mask(len(ids)))[0][0]
            logits = torch.from_numpy(im.logits_int(f).astype(np.float64)) * im.head_step
            total += float(F.cross_entropy(logits, w[1:], reduction="sum"))
            count += len(ids)
    return math.exp(total / count)


def quantize(model: MicroLlama, calib: list[torch.Tensor]) -> IntLlama:
    return IntLlama(model, calibrate(model, calib))


def main() -> None:
    from train import load_checkpoint, load_data, perplexity, val_windows

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--calib", type=int, default=16, help="calibration windows from the training split")
    ap.add_argument("--val", type=int, default=16, help="validation windows for perplexity")
    a = ap.parse_args()
    model, _, ck = load_checkpoint(a.checkpoint)
    c: Config = model.c
    from train import CORPUS_BYTES

    data = load_data(c, CORPUS_BYTES[ck["preset"]])
    im = quantize(model, val_windows(data.train, c.context, a.calib))
    vw = val_windows(data.val, c.context, a.val)
    pf, pi = perplexity(model, vw), int_perplexity(im, vw)
    out = a.checkpoint.with_suffix(".int.pt")
    torch.save(im, out)
    print(f"perplexity on {len(vw)} validation windows: float {pf:.3f}, integer {pi:.3f} -> {out}")


if __name__ == "__main__":
    main()
