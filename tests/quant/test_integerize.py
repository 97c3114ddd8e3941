"""Integerized models: close to the float model, built from integer ops only, and bit-exact in C."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import torch_deeploy
import torch_deeploy.quant as Q

F = nn.functional


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1, self.bn = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.max_pool2d(F.relu6(self.bn(self.c1(x))), 2)
        h = torch.relu(self.c2(h)) + h  # residual add
        h = F.hardswish(h)
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class Block(nn.Module):
    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.ln, self.rms = nn.LayerNorm(d), nn.RMSNorm(d)
        self.q, self.k, self.fc = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.ln(x)
        att = torch.softmax(self.q(a) @ self.k(a).transpose(-1, -2) * 0.25, dim=-1)
        h = x + att @ a
        return h + self.fc(F.gelu(self.rms(h)))


def _calib(shape: tuple[int, ...], n: int = 6) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randn(shape, generator=g) for _ in range(n)]


def _init(model: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
        if isinstance(m, nn.LayerNorm | nn.RMSNorm):
            nn.init.uniform_(m.weight, 0.5, 1.5)
    return model.eval()


def _integer_ops(qmodel: Q.QuantizedModel) -> set[str]:
    return {str(n.target) for n in qmodel.core.graph.nodes if n.op == "call_function"}


@pytest.mark.parametrize("per_channel", [True, False])
def test_cnn_ptq_close_to_float_and_integer(per_channel: bool) -> None:
    model = _init(ConvNet())
    calib = _calib((4, 1, 8, 8))
    q = Q.quantize(model, calib, per_channel=per_channel)
    x = calib[0]
    with torch.no_grad():
        ref, out = model(x), q(x)
    assert (out - ref).abs().max() < 0.1 * ref.abs().max()
    ops = _integer_ops(q)
    assert "deeploy.requant_shift.default" in ops and "deeploy.i_hardswish.default" in ops
    (qi,) = q.quantize_inputs(x)
    y = q.core(qi)
    assert torch.equal(y, torch.round(y)) and y.abs().max() <= 128


@pytest.mark.parametrize("softmax", ["isoftmax", "itamax"])
def test_transformer_block_ptq(softmax: str) -> None:
    model = _init(Block())
    calib = _calib((2, 8, 16))
    q = Q.quantize(model, calib, softmax=softmax)
    with torch.no_grad():
        ref, out = model(calib[1]), q(calib[1])
    assert (out - ref).abs().max() < 0.15 * ref.abs().max()
    ops = _integer_ops(q)
    expected = {"i_layer_norm", "i_rms_norm", "i_gelu", "i_softmax" if softmax == "isoftmax" else "ita_max"}
    assert {f"deeploy.{o}.default" for o in expected} <= ops


def test_deployed_c_is_bit_exact() -> None:
    for model, shape in ((_init(ConvNet()), (2, 1, 8, 8)), (_init(Block()), (2, 8, 16))):
        calib = _calib(shape)
        q = Q.quantize(model, calib)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            deployed = torch_deeploy.compile(q, (calib[0],))
        for x in calib[1:3]:
            (qi,) = q.quantize_inputs(x)
            assert torch.equal(torch.from_numpy(deployed.run([qi])[0]).float(), q.core(qi))
            assert torch.equal(deployed(x), q(x))  # float in / float out through the same edges


def test_zero_point_must_be_zero() -> None:
    from torch_deeploy.quant.integerize import IntegerizeError, Integerizer

    gm = torch.fx.symbolic_trace(nn.Identity())
    with pytest.raises(IntegerizeError, match="zero point"):
        Integerizer(gm)._quantize(None, torch.ones(2), 0.1, 3, -128, 127, None)  # type: ignore[arg-type]
