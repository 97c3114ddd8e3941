"""Mul: elementwise a * b with numpy broadcasting; exact in integers."""

from __future__ import annotations

import numpy as np

from torch_deeploy.ops._elementwise import binary_spec
from torch_deeploy.ops.common import mul_ranges

SPEC = binary_spec("Mul", np.multiply, mul_ranges, "elementwise a * b, numpy broadcasting, exact", symbol="*")
