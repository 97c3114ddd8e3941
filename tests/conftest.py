"""Shared fixtures: where ../shared/conformance lives, and a guard that fails (not skips) without it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CONFORMANCE = SHARED / "conformance" / "deeploy"


def conformance_dir() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.fail(f"the conformance networks are expected at {CONFORMANCE} (the project's ../shared); "
                    "check out ../shared beside the project to run these tests")
    return CONFORMANCE


def network_dirs() -> list[Path]:
    return sorted(p.parent for p in CONFORMANCE.rglob("network.onnx")) if CONFORMANCE.is_dir() else []


def network_id(p: Path) -> str:
    return str(p.relative_to(CONFORMANCE)) if CONFORMANCE.is_dir() else str(p)


@pytest.fixture
def conformance() -> Path:
    return conformance_dir()


# Deterministic property tests everywhere (CI must not depend on random draws or on wall-clock deadlines).
try:
    from hypothesis import settings

    settings.register_profile("deeploy", derandomize=True, deadline=None, print_blob=True)
    settings.load_profile("deeploy")
except ImportError:  # hypothesis is part of the test extra; without it the property tests cannot run anyway
    pass
