"""Kill a stage's CLI with SIGKILL at random points, rerun it, and compare with a clean run.

``KillHarness(cmd, workdir).run(...)`` starts ``cmd`` (``python -m imac_builder --workdir W
...`` or a small driver script) in a subprocess, waits until a progress probe reaches a
seeded random target plus a random extra delay, kills it with SIGKILL, and repeats for each
kill point; then reruns to completion. The tests compare the result with an uninterrupted
run (tables byte for byte, stores by content), look for orphan temporaries and count
what was fetched twice.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Names a finished run must not leave behind anywhere under the work directory.
ORPHAN_SUFFIXES = (".tmp", ".part")
ORPHAN_DIRS = ("incoming", ".incoming", "staging", "parts-staging")


def env(**extra: str) -> dict[str, str]:
    """The environment of a stage subprocess: this checkout first, one BLAS thread."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")]),
            "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
            **extra}


def cli(workdir: Path, *args: str) -> list[str]:
    """``python -m imac_builder --workdir W -q ARGS``."""
    return [sys.executable, "-m", "imac_builder", "--workdir", str(workdir), "-q", *args]


@dataclass
class KillReport:
    """What one harness run did: kills that landed mid-run, and the final run's result."""

    stage: str
    kills: int = 0
    progress_at_kill: list[int] = field(default_factory=list)
    final_rc: int | None = None
    final_stderr: str = ""

    def line(self) -> str:
        if not self.kills:
            return f"[reliability] {self.stage}: run without kills, exit {self.final_rc}"
        return (f"[reliability] {self.stage}: {self.kills} SIGKILLs survived at progress "
                f"{self.progress_at_kill}; rerun exit {self.final_rc}")


@dataclass
class KillHarness:
    """Runs ``cmd`` in ``cwd`` and kills it at seeded random points of ``probe()``."""

    stage: str
    cmd: Sequence[str]
    probe: Callable[[], int]
    total: int  # the probe's value when the stage is done
    environ: dict[str, str] = field(default_factory=env)
    timeout: float = 90.0

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(list(self.cmd), env=self.environ, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)

    def targets(self, kills: int, seed: int) -> list[int]:
        """``kills`` increasing progress values in ``[0, total)`` (seeded)."""
        rng = random.Random(seed)
        pool = range(0, max(self.total - 1, 1))
        return sorted(rng.sample(pool, min(kills, len(pool))))

    def run(self, kills: int, seed: int, jitter: float = 0.3) -> KillReport:
        """Kill at ``kills`` random points, then rerun to completion."""
        rng = random.Random(seed + 1)
        report = KillReport(self.stage)
        for target in self.targets(kills, seed):
            proc = self._start()
            deadline = time.monotonic() + self.timeout
            while (self.probe() < target and proc.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.01)
            extra = time.monotonic() + rng.uniform(0, jitter)
            while proc.poll() is None and time.monotonic() < extra:
                time.sleep(0.005)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the stage and any worker processes
                report.kills += 1
                report.progress_at_kill.append(self.probe())
            proc.wait()
            if proc.stderr:
                err = proc.stderr.read().decode(errors="replace")
                assert proc.returncode in (0, -signal.SIGKILL), err
                proc.stderr.close()
        res = subprocess.run(list(self.cmd), env=self.environ, cwd=REPO, capture_output=True,
                             timeout=self.timeout * 3)
        report.final_rc = res.returncode
        report.final_stderr = res.stderr.decode(errors="replace")
        print(report.line())
        return report


def interrupt(cmd: Sequence[str], ready: Callable[[], bool], timeout: float = 60.0
              ) -> subprocess.CompletedProcess:
    """Send SIGINT (Ctrl-C) once ``ready()``; return the finished process."""
    proc = subprocess.Popen(list(cmd), env=env(), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode())


def orphans(root: Path) -> list[str]:
    """Temporary files and staging folders left anywhere under ``root``."""
    found = []
    for p in root.rglob("*"):
        rel = str(p.relative_to(root))
        if p.is_file() and p.name.endswith(ORPHAN_SUFFIXES):
            found.append(rel)
        elif p.is_dir() and p.name in ORPHAN_DIRS and any(p.iterdir()):
            found.append(rel + "/")
    return sorted(found)


_CLIPS: list[Path] = []


@pytest.fixture(scope="session", name="clips")
def clips_fixture(tmp_path_factory) -> list[Path]:
    """Six distinct 61-125 s MP3 clips of real music (import into a test module to use)."""
    pytest.importorskip("yt_dlp")
    pytest.importorskip("soundfile")
    from release_support import make_clips

    if not _CLIPS:  # once per session, though two modules import the fixture
        _CLIPS.extend(make_clips(tmp_path_factory.mktemp("clips"))[:6])
    return list(_CLIPS)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def count_files(folder: Path, pattern: str = "*") -> int:
    return sum(1 for p in folder.rglob(pattern) if p.is_file()) if folder.is_dir() else 0


def store_content(path: Path) -> dict:
    """A feature store's dataset content (ids, labels, extras, features) for comparison."""
    from imac_builder.features.store import FeatureStore

    s = FeatureStore.open(path)
    return {"ids": list(s.ids), "labels": list(s.labels),
            "extra": {k: list(v) for k, v in s.extra.items()},
            "features": s.features[:].tolist()}
