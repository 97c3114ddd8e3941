"""torch.compile(model, backend="deeploy"): equals eager bit for bit, honours weight updates, no eager fallback."""

from __future__ import annotations

import pytest
import torch

import torch_deeploy.torch_ops  # noqa: F401  (registers torch.ops.deeploy.*)
from torch_deeploy.dynamo import DeployedGraph, created_graphs


class Block(torch.nn.Module):
    """linear -> requant -> iSoftmax -> matmul -> requant, weights integer-valued float32 (QuantLib style)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(8, 8)
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            self.fc.weight.copy_(torch.randint(-8, 9, (8, 8), generator=g).float())
            self.fc.bias.copy_(torch.randint(-50, 51, (8,), generator=g).float())
        self.register_buffer("mul", torch.tensor(5.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.ops.deeploy.requant_shift(self.fc(x), self.mul, torch.tensor(0.0), 256, 256, True)
        p = torch.ops.deeploy.i_softmax(h, 1, 40, 2000, 16)
        return torch.ops.deeploy.requant_shift(p @ h.transpose(0, 1), torch.tensor(1.0), torch.tensor(0.0), 16)


def _x(seed: int, lo: int = -128, hi: int = 128) -> torch.Tensor:
    return torch.randint(lo, hi, (4, 8), generator=torch.Generator().manual_seed(seed)).float()


def _graphs(fast: torch.nn.Module) -> list[DeployedGraph]:
    """The DeployedGraph objects the backend created that are alive (for build counts)."""
    return created_graphs()


def test_torch_compile_equals_eager_and_follows_weight_updates() -> None:
    torch._dynamo.reset()
    m = Block()
    fast = torch.compile(m, backend="deeploy", options={"target": "siracusa", "runner": "host"})
    with torch.no_grad():
        for seed in range(3):
            assert torch.equal(fast(_x(seed)), m(_x(seed)))
        graph = _graphs(fast)[-1]
        assert graph.builds == 1  # same weights, same input types: one program
        # a training step changes the weights in place: the next call must use them
        opt = torch.optim.SGD(m.parameters(), lr=1.0)
    m.fc.weight.grad = torch.ones_like(m.fc.weight)
    m.fc.bias.grad = torch.ones_like(m.fc.bias)
    opt.step()
    with torch.no_grad():
        y = fast(_x(0))
        assert torch.equal(y, m(_x(0)))
        assert graph.builds == 2
        # wider inputs than the first example: recompiled with a wider input type, not refused
        x = _x(1, -300, 300)
        assert torch.equal(fast(x), m(x))
        # restoring the original weights finds their program again (content-addressed)
        m.fc.weight += 1.0
        m.fc.bias += 1.0
        builds = graph.builds
        assert torch.equal(fast(_x(2)), m(_x(2)))
        assert graph.builds == builds


def test_integer_tensor_model_keeps_dtypes() -> None:
    torch._dynamo.reset()

    def f(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.ops.deeploy.i_gelu(x * y + 3, -40, 1743)

    x = torch.randint(-20, 20, (3, 5), dtype=torch.int32)
    y = torch.randint(-5, 5, (3, 5), dtype=torch.int32)
    fast = torch.compile(f, backend="deeploy")
    got = fast(x, y)
    assert got.dtype == torch.int32
    assert torch.equal(got, f(x, y))
    # another batch size: dynamo passes a dynamic-shape graph, one program per concrete shape
    assert torch.equal(fast(x[:2], y[:2]), f(x[:2], y[:2]))


def test_graph_break_is_an_error_not_an_eager_fallback() -> None:
    torch._dynamo.reset()

    class Breaks(Block):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.ops.deeploy.requant_shift(self.fc(x), self.mul, torch.tensor(0.0), 256, 256, True)
            torch._dynamo.graph_break()
            return torch.ops.deeploy.ita_max(h)

    fast = torch.compile(Breaks(), backend="deeploy")
    with pytest.raises(Exception, match="graph break.*never falls back to eager"):
        fast(_x(0))


def test_graph_break_before_any_op_is_an_error() -> None:
    torch._dynamo.reset()

    def f(x: torch.Tensor) -> torch.Tensor:
        torch._dynamo.graph_break()
        return torch.ops.deeploy.ita_max(x)

    with pytest.raises(Exception, match="graph break in f.*never falls back to eager"):
        torch.compile(f, backend="deeploy")(_x(0))


def test_float_model_points_at_quant() -> None:
    torch._dynamo.reset()
    m = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU())
    with pytest.raises(Exception, match="float model.*torch_deeploy.quant"), torch.no_grad():
        torch.compile(m, backend="deeploy")(torch.randn(2, 8))


def test_unsupported_op_names_the_op_and_line() -> None:
    torch._dynamo.reset()

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.ops.deeploy.ita_max(torch.abs(x))  # unsupported here

    with pytest.raises(Exception, match=r"aten\.abs.*test_dynamo\.py.*torch\.abs\(x\).*Supported ops"):
        torch.compile(f, backend="deeploy")(_x(0))
