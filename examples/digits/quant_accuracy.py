"""Float / PTQ / QAT / deployed-C accuracy of a small CNN and a small transformer on scikit-learn's digits.

    python examples/digits/quant_accuracy.py            # full run (a few minutes on 2 cores)
    python examples/digits/quant_accuracy.py --quick    # reduced (tests use it)

PTQ: torch_deeploy.quant.quantize(model, calib); QAT: prepare_qat -> fine-tune -> convert. The QAT integer
model is compiled with torch_deeploy.compile and run as C on every test sample; its integer outputs must
equal the torch integer model's (qmodel.core) exactly.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import BATCH, SmallCNN, TinyTransformer, accuracy, batches, load_digits, seed_all, train  # noqa: E402

import torch_deeploy  # noqa: E402
import torch_deeploy.quant as Q  # noqa: E402


def deployed_accuracy(qmodel: Q.QuantizedModel, x: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
    """Accuracy of the deployed C program and the number of test batches whose integer outputs differ from
    the torch integer model's."""
    deployed = torch_deeploy.compile(qmodel, (x[:BATCH],))
    correct, mismatches = 0, 0
    for xb, yb in batches(x, y, BATCH):
        (qi,) = qmodel.quantize_inputs(xb)
        c_out = torch.from_numpy(deployed.run([qi])[0]).to(torch.float32)
        mismatches += int(not torch.equal(c_out, qmodel.core(qi)))
        correct += int((qmodel.dequantize_outputs(c_out).argmax(-1) == yb).sum())
    return 100.0 * correct / (len(y) // BATCH * BATCH), mismatches


def run(name: str, make: type[torch.nn.Module], epochs: int, qat_epochs: int, data: tuple) -> dict[str, float]:
    xtr, ytr, xte, yte = data
    seed_all(0)
    model = make()
    t0 = time.perf_counter()
    train(model.train(), xtr, ytr, epochs)
    model.eval()
    row: dict[str, float] = {"float": accuracy(model, xte, yte)}
    calib = [xb for xb, _ in batches(xtr, ytr, 64)][:8]
    row["ptq"] = accuracy(Q.quantize(copy.deepcopy(model), calib), xte, yte)
    qat = Q.prepare_qat(copy.deepcopy(model), xtr[:32])
    train(Q.qat_train(qat), xtr, ytr, qat_epochs, lr=5e-4, seed=100)
    qmodel = Q.convert(qat)
    row["qat"] = accuracy(qmodel, xte, yte)
    row["c"], row["mismatch"] = deployed_accuracy(qmodel, xte, yte)
    row["seconds"] = time.perf_counter() - t0
    print(f"{name:12} float {row['float']:6.2f}  PTQ {row['ptq']:6.2f}  QAT {row['qat']:6.2f}  "
          f"deployed C {row['c']:6.2f}  (C vs torch integer mismatching batches: {int(row['mismatch'])}, "
          f"{row['seconds']:.0f} s)", flush=True)
    return row


def main(quick: bool = False) -> dict[str, dict[str, float]]:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    data = load_digits()
    cnn_epochs, tr_epochs, qat_epochs = (6, 12, 1) if quick else (15, 40, 3)
    return {"cnn": run("SmallCNN", SmallCNN, cnn_epochs, qat_epochs, data),
            "transformer": run("Transformer", TinyTransformer, tr_epochs, qat_epochs, data)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer epochs (the test's reduced run)")
    main(ap.parse_args().quick)
