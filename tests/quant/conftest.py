import pytest

pytest.importorskip("torchao")
