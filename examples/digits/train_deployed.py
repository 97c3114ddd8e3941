"""Train a small CNN on scikit-learn's 8x8 digits (bundled, no download) with quantization-aware training and
report, every epoch, the accuracy of the torch model and of the deployed C program (torch.compile, backend
"deeploy": the fake-quant model is integerized, compiled to C and run on the host).

    python examples/digits/train_deployed.py [--epochs 8]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import SmallCNN, accuracy, load_digits, seed_all, train  # noqa: E402

import torch_deeploy.quant as Q  # noqa: E402


def main(epochs: int = 8) -> list[tuple[float, float]]:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    seed_all(0)
    xtr, ytr, xte, yte = load_digits()
    qat = Q.prepare_qat(SmallCNN(), xtr[:32])
    fast = torch.compile(qat, backend="deeploy", options={"target": "siracusa", "runner": "host"})
    history = []

    def report(ep: int) -> None:
        Q.qat_eval(qat)  # frozen scales, BN running statistics: evaluation does not change the model
        acc_torch = accuracy(qat, xte, yte)
        acc_c = accuracy(fast, xte, yte)  # rebuilt when the weights changed (cached by content)
        Q.qat_train(qat)
        history.append((acc_torch, acc_c))
        print(f"epoch {ep + 1:2d}  torch (fake-quant) {acc_torch:6.2f}%  deployed C {acc_c:6.2f}%", flush=True)

    train(Q.qat_train(qat), xtr, ytr, epochs, after_epoch=report)
    return history


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    main(ap.parse_args().epochs)
