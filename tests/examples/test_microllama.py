"""MicroLlama end to end on the tiny preset: train (a few steps, fixed seed), quantize, compile prefill and decode
for Siracusa, generate tokens with the deployed C (host runner) and compare with the torch integer model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("torchao")

HERE = Path(__file__).resolve().parents[2] / "examples" / "microllama"
sys.path.insert(0, str(HERE))

from export import compile_programs  # noqa: E402
from generate import generate  # noqa: E402
from quantize import int_perplexity, quantize  # noqa: E402
from train import perplexity, train, val_windows  # noqa: E402


@pytest.fixture(scope="module")
def tiny():  # type: ignore[no-untyped-def]
    torch.set_num_threads(2)
    model, data, stats = train("tiny", 80, seed=0, batch=8, corpus_bytes=60_000, log_every=0)
    im = quantize(model, val_windows(data.train, model.c.context, 4))
    return model, data, im


def test_training_is_deterministic_and_learns(tiny) -> None:  # type: ignore[no-untyped-def]
    model, data, _ = tiny
    again, _, _ = train("tiny", 2, seed=0, batch=8, corpus_bytes=60_000, log_every=0)
    ref, _, _ = train("tiny", 2, seed=0, batch=8, corpus_bytes=60_000, log_every=0)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), ref.state_dict().values(), strict=True))
    assert perplexity(model, val_windows(data.val, model.c.context, 4)) < 40  # 256 bytes: uniform is 256


def test_integer_model_is_close_to_float(tiny) -> None:  # type: ignore[no-untyped-def]
    model, data, im = tiny
    vw = val_windows(data.val, model.c.context, 4)
    pf, pi = perplexity(model, vw), int_perplexity(im, vw)
    assert pi < pf * 1.1


def test_deployed_c_generates_identical_tokens(tiny) -> None:  # type: ignore[no-untyped-def]
    model, data, im = tiny
    prompt = data.tokenizer.encode(b"def __init__(self")[:6]
    progs = compile_programs(im, len(prompt), runner="host")
    for top_k in (1, 5):
        gen = generate(im, progs, prompt, 8, top_k=top_k, seed=1)
        assert len(gen.tokens) == 8
        assert gen.identical
        assert gen.tokens == gen.reference_tokens
    rep = progs.decode.report["memory"]
    assert rep["L2"]["used"] <= rep["L2"]["budget"]
