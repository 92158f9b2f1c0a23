"""Shared test fixtures: the real development WARCs (absent on some machines), a Ray session per module."""

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


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray session per test module (2 CPUs, no dashboard, no progress bars)."""
    import ray
    import ray.data

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()
