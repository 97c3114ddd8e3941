"""Add: elementwise a + b with numpy broadcasting; exact in integers (two int8 give a wider int)."""

from __future__ import annotations

import numpy as np

from torch_deeploy.ops._elementwise import binary_spec
from torch_deeploy.ops.common import add_ranges

SPEC = binary_spec("Add", np.add, add_ranges, "elementwise a + b, numpy broadcasting, exact")
