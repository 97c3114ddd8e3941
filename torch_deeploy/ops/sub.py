"""Sub: elementwise a - b with numpy broadcasting; exact in integers."""

from __future__ import annotations

import numpy as np

from torch_deeploy.ops._elementwise import binary_spec
from torch_deeploy.ops.common import sub_ranges

SPEC = binary_spec("Sub", np.subtract, sub_ranges, "elementwise a - b, numpy broadcasting, exact", symbol="-")
