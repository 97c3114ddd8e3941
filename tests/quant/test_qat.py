"""QAT: prepare_qat -> train -> convert; torch.compile(backend="deeploy") of the QAT model equals convert()."""

from __future__ import annotations

import warnings

import torch
from torch import nn

import torch_deeploy.quant as Q


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c, self.bn, self.fc = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Linear(8 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(nn.functional.max_pool2d(torch.relu(self.bn(self.c(x))), 2).flatten(1))


def test_qat_convert_and_torch_compile_agree_bit_for_bit() -> None:
    torch.manual_seed(0)
    xs = [torch.rand(4, 1, 8, 8) for _ in range(4)]
    qat = Q.prepare_qat(Net(), xs[0])
    opt = torch.optim.SGD(qat.parameters(), lr=0.05)
    Q.qat_train(qat)
    for x in xs:
        loss = qat(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    Q.qat_eval(qat)
    qmodel = Q.convert(qat)
    with torch.no_grad():
        fq, integer = qat(xs[1]), qmodel(xs[1])
    assert (fq - integer).abs().max() < 0.1 * fq.abs().max()  # close, not equal: integer requantization rounds
    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = torch.compile(qat, backend="deeploy", options={"target": "siracusa", "runner": "host"})
        with torch.no_grad():
            for x in xs[:2]:
                assert torch.equal(fast(x), qmodel(x))
