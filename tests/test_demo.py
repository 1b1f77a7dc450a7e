"""The README's main job: ``imac-build demo`` end to end on the built-in sample."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from imac_builder.cli import cli


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_demo_small_runs_every_stage_and_writes_what_it_promises(demo_small: Path,
                                                                   runner) -> None:
    w = demo_small
    out = (w / "demo-output.txt").read_text(encoding="utf-8")
    assert "Traceback" not in out
    assert "smoke test" in out and "not a result" in out and "next, on real data:" in out

    songs = rows(w / "tags/songs.csv")
    assert {r["label"] for r in songs} == {"positive", "neutral", "negative"}
    matched = [r for r in rows(w / "search/matches.csv") if r["status"] == "matched"]
    assert len(matched) == 9  # three songs a class have media in the sample catalogue
    assert all("Topic" in r["channel_title"] for r in matched)  # not the live/karaoke ones
    ledger = rows(w / "download/ledger.csv")
    assert [r["status"] for r in ledger] == ["ok"] * 9
    segs = rows(w / "download/segments.csv")
    assert len(segs) == 9 and all((w / r["path"]).is_file() for r in segs)
    images = rows(w / "images/images.csv")
    assert len(images) == 48 and {r["status"] for r in images} == {"ok"}

    from imac_builder.features.store import FeatureStore

    music = FeatureStore.open(w / "features/music.h5")
    pics = FeatureStore.open(w / "features/images.h5")
    assert music.features.shape == (9, 193) and pics.features.shape == (48, 2048)
    split = rows(w / "splits/splits.csv")
    assert {r["split"] for r in split} == {"train", "val", "test"}
    # the split looked at the demo's images for near-duplicates (pHash)
    assert "pHash, images in" in out and "no image folder found" not in out
    metrics = json.loads((w / "runs/demo/metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["epochs"] >= 1
    # the balanced protocol works on the demo's few items (every class on both sides of
    # every split); that training learns is shown by seeded small runs in test_train.py
    assert metrics["protocol"] == "balanced"
    report = (w / "runs/demo/report.md").read_text()
    assert "Table 4" in report and "61.67%" in report
    for name in ("model.pt", "curves.png", "cells.png"):
        assert (w / "runs/demo" / name).stat().st_size > 0
    for line in out.splitlines():  # every output it names exists
        parts = line.split()
        if line.startswith("  ") and parts and parts[-1].startswith(str(w)):
            assert Path(parts[-1]).exists(), line

    manifest = w / "manifests/imac-demo-0.1.0"
    assert (manifest / "croissant.json").is_file() and (manifest / "segments.csv").is_file()
    assert "[verify]" in out
    again = runner.invoke(cli, ["--workdir", str(w), "verify", str(manifest)])
    assert again.exit_code == 0, again.output

    status = runner.invoke(cli, ["--workdir", str(w), "status", "--json"])
    assert status.exit_code == 0, status.output
    states = {s["stage"]: s["state"] for s in json.loads(status.output)["stages"]}
    assert states["download"] == "done" and states["evaluate"] == "done"
