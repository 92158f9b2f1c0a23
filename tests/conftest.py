"""Shared test fixtures: where the real development WARCs live (absent on some machines)."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_WARCS = SHARED / "data" / "warc"


@pytest.fixture(scope="session")
def shared_warcs() -> list[Path]:
    paths = sorted(SHARED_WARCS.glob("*.warc.gz"))
    if not paths:
        pytest.skip(f"real WARCs not present at {SHARED_WARCS}")
    return paths
