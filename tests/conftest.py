"""Shared fixtures: the read-only ../shared/ data, CLI runner, loopback server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile librosa's numba kernels once, before any test starts feature workers
    or CLI runs side by side (numba issue #10128; see features.music.warm_up)."""
    from imac_builder.features.music import warm_up

    warm_up()


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test saying why."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs ../shared/data/{'/'.join(parts)} beside the checkout "
                    "(the project's shared test data); not present here")
    return p


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def loopback():
    from loopback import LoopbackServer

    with LoopbackServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory) -> Path:
    """One ``imac-build demo --small`` work directory shared by the tests that read it."""
    import shutil

    if shutil.which("ffmpeg") is None:
        pytest.skip("the demo needs ffmpeg (scripts/setup.sh installs it)")
    pytest.importorskip("torch")
    from imac_builder.cli import cli

    w = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(cli, ["--workdir", str(w), "demo", "--small"])
    assert result.exit_code == 0, result.output
    (w / "demo-output.txt").write_text(result.output, encoding="utf-8")
    return w
