"""DeeployQuantizer: a torchao PT2E ``Quantizer`` whose annotations the integerizer can turn into deeploy ops.

Activations are symmetric int8 (zero point 0) or, after ReLU/ReLU6 and softmax, zero-based uint8 (softmax
output fixed to the step 1/255 that iSoftmax/ITAMax produce). Weights are symmetric int8 (-127..127), per
output channel (default) or per tensor. Biases stay float: the integerizer quantizes them to the
accumulator step. Annotated patterns (aten ops of ``torch.export``):

conv1d/conv2d/linear [-> batch_norm] [-> relu/relu6/hardtanh], matmul/bmm, add [-> relu], relu/relu6,
max_pool (output shares the input's parameters), adaptive_avg_pool2d/mean, hardswish, gelu, softmax,
layer_norm, rms_norm.

For QAT the fake-quantizers are :class:`DeeployFakeQuantize`: torchao's FakeQuantize, except that under
``torch.compile`` it is one custom op (``torch.ops.deeploy_quant.fake_quant``), so dynamo captures the whole
QAT model as one graph (torch.compile(..., backend="deeploy") then integerizes it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.fx
from torchao.quantization.pt2e import (
    FakeQuantize,
    FixedQParamsObserver,
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    PerChannelMinMaxObserver,
)
from torchao.quantization.pt2e.quantizer import (
    QuantizationAnnotation,
    QuantizationSpec,
    Quantizer,
    SharedQuantizationSpec,
)

aten = torch.ops.aten
SOFTMAX_SCALE = 1.0 / 255.0


@torch.library.custom_op("deeploy_quant::fake_quant", mutates_args=())
def fake_quant(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, quant_min: int, quant_max: int,
               axis: int) -> torch.Tensor:
    """Fake quantization (quantize then dequantize) with the given parameters; axis < 0 means per tensor."""
    if axis < 0:
        return torch.fake_quantize_per_tensor_affine(x, scale.reshape(()).float(), zero_point.reshape(()).int(),
                                                     quant_min, quant_max)
    return torch.fake_quantize_per_channel_affine(x, scale.float(), zero_point.int(), axis, quant_min, quant_max)


@fake_quant.register_fake
def _(x: torch.Tensor, *_: Any) -> torch.Tensor:
    return torch.empty_like(x)


class DeeployFakeQuantize(FakeQuantize):
    """torchao FakeQuantize that is a single traceable op under torch.compile (no data-dependent branches)."""

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_compiling():
            axis = self.ch_axis if self.is_per_channel else -1
            return fake_quant(X, self.scale, self.zero_point, self.activation_post_process.quant_min,
                              self.activation_post_process.quant_max, axis)
        return super().forward(X)


CONVS = {aten.conv1d.default, aten.conv2d.default, aten.linear.default}
RELUS = {aten.relu.default, aten.relu_.default, aten.relu6.default, aten.hardtanh.default}
BNS = {aten.batch_norm.default, aten._native_batch_norm_legit_no_training.default}
SINGLE_IO = {aten.hardswish.default, aten.gelu.default, aten.layer_norm.default, aten.rms_norm.default,
             aten.adaptive_avg_pool2d.default, aten.mean.dim}
SOFTMAX = {aten.softmax.int, aten._softmax.default}
MATMUL = {aten.matmul.default, aten.mm.default, aten.bmm.default}
POOL = {aten.max_pool2d.default, aten.max_pool1d.default}
ADD = {aten.add.Tensor}


class DeeployQuantizer(Quantizer):
    """Annotates a ``torch.export``-ed model for torchao's ``prepare_pt2e`` / ``prepare_qat_pt2e``.

    per_channel: per-output-channel weight scales (else one per tensor). qat: fake-quantizers with moving
    averages (use with prepare_qat_pt2e). histogram: HistogramObserver for PTQ activations (slower, often
    more accurate than min/max).
    """

    def __init__(self, *, per_channel: bool = True, qat: bool = False, histogram: bool = False) -> None:
        super().__init__()
        self.per_channel = per_channel
        self.qat = qat
        self.histogram = histogram

    # ---------------------------------------------------------------- specs
    def _ctr(self, observer: Any) -> Any:
        return DeeployFakeQuantize.with_args(observer=observer) if self.qat else observer

    def act(self, unsigned: bool = False) -> QuantizationSpec:
        obs = MovingAverageMinMaxObserver if self.qat else (HistogramObserver if self.histogram else MinMaxObserver)
        if unsigned:
            return QuantizationSpec(torch.uint8, self._ctr(obs), quant_min=0, quant_max=255,
                                    qscheme=torch.per_tensor_affine)
        return QuantizationSpec(torch.int8, self._ctr(obs), quant_min=-128, quant_max=127,
                                qscheme=torch.per_tensor_symmetric)

    def weight(self) -> QuantizationSpec:
        if self.per_channel:
            obs = MovingAveragePerChannelMinMaxObserver if self.qat else PerChannelMinMaxObserver
            return QuantizationSpec(torch.int8, self._ctr(obs), quant_min=-127, quant_max=127,
                                    qscheme=torch.per_channel_symmetric, ch_axis=0)
        obs = MovingAverageMinMaxObserver if self.qat else MinMaxObserver
        return QuantizationSpec(torch.int8, self._ctr(obs), quant_min=-127, quant_max=127,
                                qscheme=torch.per_tensor_symmetric)

    def softmax_out(self) -> QuantizationSpec:
        obs = FixedQParamsObserver.with_args(scale=SOFTMAX_SCALE, zero_point=0)
        return QuantizationSpec(torch.uint8, self._ctr(obs), quant_min=0, quant_max=255,
                                qscheme=torch.per_tensor_affine)

    # ---------------------------------------------------------------- annotation
    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        done: set[torch.fx.Node] = set()
        rules: list[tuple[set[Any], Callable[[torch.fx.Node, set[torch.fx.Node]], None]]] = [
            (CONVS, self._conv), (MATMUL, self._matmul), (ADD, self._add), (SOFTMAX, self._softmax),
            (SINGLE_IO, self._single), (POOL, self._pool), (RELUS, self._relu),
        ]
        for n in model.graph.nodes:
            if n.op != "call_function" or n in done:
                continue
            for targets, rule in rules:
                if n.target in targets:
                    rule(n, done)
                    break
        return model

    def validate(self, model: torch.fx.GraphModule) -> None:
        return None

    @staticmethod
    def _mark(n: torch.fx.Node, inputs: dict[torch.fx.Node, Any], output: Any) -> None:
        # an input already quantized by its producer (maybe behind reshapes / max pooling) shares its parameters
        inputs = {a: (spec if _producer(a) is None else SharedQuantizationSpec(_producer(a)))
                  for a, spec in inputs.items() if spec is not None}
        n.meta["quantization_annotation"] = QuantizationAnnotation(input_qspec_map=inputs, output_qspec=output,
                                                                   _annotated=True)

    @staticmethod
    def _only_user(n: torch.fx.Node, targets: set[Any]) -> torch.fx.Node | None:
        users = list(n.users)
        if len(users) == 1 and users[0].op == "call_function" and users[0].target in targets:
            return users[0]
        return None

    def _conv(self, n: torch.fx.Node, done: set[torch.fx.Node]) -> None:
        chain = [n]
        bn = self._only_user(n, BNS)
        if bn is not None and n.target != aten.linear.default:
            chain.append(bn)
        relu = self._only_user(chain[-1], RELUS)
        if relu is not None:
            chain.append(relu)
        inputs = {n.args[0]: self.act()}
        if isinstance(n.args[1], torch.fx.Node):
            inputs[n.args[1]] = self.weight()
        self._mark(n, inputs, None if len(chain) > 1 else self.act())
        for m in chain[1:-1]:
            self._mark(m, {}, None)
        if len(chain) > 1:
            self._mark(chain[-1], {}, self.act(unsigned=relu is not None))
        done.update(chain)

    def _matmul(self, n: torch.fx.Node, done: set[torch.fx.Node]) -> None:
        self._mark(n, {a: self.act() for a in n.args[:2] if isinstance(a, torch.fx.Node)}, self.act())
        done.add(n)

    def _add(self, n: torch.fx.Node, done: set[torch.fx.Node]) -> None:
        ins = [a for a in n.args[:2] if isinstance(a, torch.fx.Node)]
        if len(ins) != 2:
            return  # adding a constant folds into the producer's accumulator
        relu = self._only_user(n, RELUS)
        self._mark(n, {a: self.act() for a in ins}, None if relu is not None else self.act())
        done.add(n)
        if relu is not None:
            self._mark(relu, {}, self.act(unsigned=True))
            done.add(relu)

    def _softmax(self, n: torch.fx.Node, done: set[torch.fx.Node]) -> None:
        self._mark(n, {n.args[0]: self.act()}, self.softmax_out())
        done.add(n)

    def _single(self, n: torch.fx.Node, done: set[torch.fx.Node]) -> None:
        self._mark(n, {n.args[0]: self.act()}, self.act())
        done.add(n)

    def _pool(self, n: torch.fx.Node, done: set[torch.fx.Node]) -> None:
        x = n.args[0]
        if _producer(x) is None:  # else max pooling passes the producer's integers and step through
            self._mark(n, {x: self.act()}, SharedQuantizationSpec((x, n)))
        done.add(n)

    def _relu(self, n: torch.fx.Node, done: set[torch.fx.Node]) -> None:
        self._mark(n, {n.args[0]: self.act()}, self.act(unsigned=True))
        done.add(n)


# ops that pass integers through unchanged (same step): an input behind them is already quantized
PASS_THROUGH = {aten.view.default, aten.reshape.default, aten.flatten.using_ints, aten.permute.default,
                aten.transpose.int, aten.unsqueeze.default, aten.squeeze.dim, aten.contiguous.default,
                aten.clone.default, aten.dropout.default, aten.max_pool2d.default, aten.max_pool1d.default,
                aten.t.default}


def _producer(a: torch.fx.Node) -> torch.fx.Node | None:
    """The annotated op whose quantized output a is (possibly behind reshapes / max pooling), else None."""
    while True:
        ann = a.meta.get("quantization_annotation")
        if ann is not None and ann.output_qspec is not None:
            return a
        if a.op == "call_function" and a.target in PASS_THROUGH and isinstance(a.args[0], torch.fx.Node):
            a = a.args[0]
            continue
        return None
