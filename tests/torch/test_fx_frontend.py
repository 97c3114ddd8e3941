"""FX frontend: torch.export programs of integerized models -> IR, checked bit for bit against eager torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import torch_deeploy
from torch_deeploy.errors import DeeployError, OpError
from torch_deeploy.frontend.fx import export, import_exported, input_type
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.runners.reference import run_reference


def _int_params(m: torch.nn.Module, lo: int = -4, hi: int = 4, seed: int = 0) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randint(lo, hi + 1, p.shape, generator=gen).float())
    return m.eval()


def _rq(x: torch.Tensor, div: int = 64, signed: bool = True) -> torch.Tensor:
    return torch.ops.deeploy.requant_shift(x, torch.tensor(3.0), torch.tensor(5.0), div, 256, signed)


class ConvNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.dw = torch.nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
        self.c1d = torch.nn.Conv1d(4, 6, 2, stride=1)
        self.fc = torch.nn.Linear(18, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _rq(self.c1(x))
        y = _rq(self.dw(y), 16)
        y = F.max_pool2d(torch.relu(y), 2)  # (1, 4, 2, 2)
        y = y.reshape(1, 4, 4)
        y = _rq(self.c1d(y), 8)  # (1, 6, 3)
        y = F.max_pool1d(y, 1)
        y = torch.clamp(y.flatten(1), -100, 100)
        return _rq(self.fc(y), 32, signed=False)


class Mixer(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("w", torch.randint(-3, 4, (2, 8, 8), generator=torch.Generator().manual_seed(1)).float())
        self.register_buffer("norm_w", torch.randint(50, 100, (8,), generator=torch.Generator().manual_seed(2)).float())

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.bmm(x, self.w)  # (2, 4, 8)
        b = torch.matmul(x, y.transpose(1, 2))  # (2, 4, 4)
        s = torch.ops.deeploy.i_softmax(_rq(b, 256), 1, 50, 3000, 20)
        t = torch.cat([a[:, :2], a[:, 2:]], dim=1).permute(0, 2, 1).unsqueeze(0).squeeze(0)
        u = torch.ops.deeploy.i_rms_norm(_rq(t.transpose(1, 2) * 2 + 1 - a, 64), self.norm_w, 256)
        return s, u.sum(dim=-1) + u.mean(dim=1)[:, :4].sum(1, keepdim=True) + u[:, 0, 1:5]


def _run_both(m: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
    imp = import_exported(export(m, args))
    got = run_reference(imp.graph, [a.numpy() for a in args])
    with torch.no_grad():
        want = m(*args)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w, d in zip(got, want, imp.output_dtypes, strict=True):
        assert d == w.dtype
        np.testing.assert_array_equal(np.asarray(g, dtype=np.float64), w.double().numpy())


def test_conv_pool_linear_model_matches_eager() -> None:
    x = torch.randint(0, 256, (1, 2, 8, 8)).float()
    _run_both(_int_params(ConvNet()), (x,))


def test_matmul_data_movement_and_reductions_match_eager() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randint(-20, 21, (2, 4, 8), generator=g).float()
    y = torch.randint(-20, 21, (2, 4, 8), generator=g).float()
    _run_both(Mixer().eval(), (x, y))


def test_integer_tensors_and_scalar_ops() -> None:
    class M(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ops.deeploy.i_hardswish(3 * x - 2 + x * x, 20, 40, 7)

    x = torch.arange(-6, 6, dtype=torch.int32).reshape(3, 4)
    _run_both(M(), (x,))


def test_input_types_come_from_the_examples() -> None:
    assert str(input_type(np.array([0.0, 255.0]))).startswith("uint8")
    assert str(input_type(np.array([-3.0, 300.0]))).startswith("int16")
    assert input_type(np.array([0.5])).is_float
    assert str(input_type(np.array([1, 2], dtype=np.int32))).startswith("int8")


def test_unsupported_op_names_the_aten_op_the_source_line_and_the_supported_ops() -> None:
    class M(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = _rq(x)
            return torch.sin(y)  # the line the error must show

    with pytest.raises(OpError) as e:
        import_exported(export(M(), (torch.ones(2, 3),)))
    msg = str(e.value)
    assert "aten.sin" in msg and "test_fx_frontend.py" in msg and "torch.sin(y)" in msg
    assert "Supported ops:" in msg and "aten.conv2d" in msg and "deeploy.requant_shift" in msg


def test_float_model_is_refused_with_a_pointer_to_quant() -> None:
    m = torch.nn.Linear(4, 2).eval()
    with pytest.raises(DeeployError, match="float model.*torch_deeploy.quant"):
        import_exported(export(m, (torch.randn(1, 4),)))


def test_compile_torch_model_runs_c_and_is_a_drop_in_replacement(tmp_path: Path) -> None:
    m = _int_params(ConvNet())
    x = torch.randint(0, 256, (1, 2, 8, 8)).float()
    deployed = torch_deeploy.compile(m, (x,), target="siracusa", runner="host")
    for seed in range(3):
        xi = torch.randint(0, 256, (1, 2, 8, 8), generator=torch.Generator().manual_seed(seed)).float()
        y = deployed(xi)
        assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
        assert torch.equal(y, m(xi).detach())
    path = deployed.to_onnx(tmp_path / "convnet.onnx")
    g = import_onnx(path, [x.numpy()])
    np.testing.assert_array_equal(run_reference(g, [x.numpy()])[0].astype(np.float32), m(x).detach().numpy())



def test_compile_accepts_an_exported_program() -> None:
    class M(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ops.deeploy.ita_max(_rq(x @ x.transpose(0, 1), 128))

    x = torch.randint(-128, 128, (4, 8)).float()
    ep = torch.export.export(M(), (x,))
    deployed = torch_deeploy.compile(ep, (x,))
    assert torch.equal(deployed(x), M()(x))


def test_float32_accumulators_beyond_2_pow_24_are_reported() -> None:
    class M(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(64, 2)
            with torch.no_grad():
                self.fc.weight.fill_(3000.0)
                self.fc.bias.zero_()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return _rq(self.fc(x), 1 << 14)

    with pytest.warns(UserWarning, match="2\\^24.*linear"):
        import_exported(export(M().eval(), (torch.full((1, 64), 127.0),)))
