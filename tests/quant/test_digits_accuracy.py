"""Reduced run of examples/digits/quant_accuracy.py: accuracy bounds of issue 7 and C == torch integer model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits" / "quant_accuracy.py"


@pytest.mark.slow
def test_digits_quantized_accuracy_bounds() -> None:
    spec = importlib.util.spec_from_file_location("quant_accuracy", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    res = mod.main(quick=True)
    cnn, tr = res["cnn"], res["transformer"]
    assert cnn["float"] > 90 and cnn["ptq"] >= cnn["float"] - 1.0 and cnn["qat"] >= cnn["float"] - 0.5
    assert tr["ptq"] >= tr["float"] - 2.0 and tr["qat"] >= tr["float"] - 2.0
    for row in (cnn, tr):
        assert row["mismatch"] == 0 and row["c"] == row["qat"]
