"""A work directory a user has mistyped into or edited by hand: one line, nothing lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imac_builder.cli import cli


@pytest.fixture
def work(demo_small, tmp_path) -> Path:
    w = tmp_path / "w"
    shutil.copytree(demo_small, w, symlinks=True)
    return w


def _run(w: Path, *args: str):
    return CliRunner().invoke(cli, ["--workdir", str(w), *args])


def test_an_image_folder_without_the_images_is_refused_and_not_remembered(work, tmp_path):
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    state = (work / "workdir.json").read_text(encoding="utf-8")
    split = (work / "splits" / "split.json").read_bytes()
    res = _run(work, "split", "--image-root", str(empty))
    assert res.exit_code == 1 and "holds none of the" in res.output, res.output
    assert (work / "workdir.json").read_text(encoding="utf-8") == state
    assert (work / "splits" / "split.json").read_bytes() == split
    store = (work / "features" / "images.h5").read_bytes()
    res = _run(work, "features", "--modality", "images", "--force", "--image-root", str(empty))
    assert res.exit_code == 1 and "holds none of the" in res.output, res.output
    assert (work / "features" / "images.h5").read_bytes() == store
    assert json.loads((work / "workdir.json").read_text(encoding="utf-8")) == json.loads(state)
