"""The contract of every registered stage, checked on one demo work directory.

For each stage in the registry: its declared outputs exist after the demo ran it, a
rerun with the same inputs changes none of them, and in a work directory without its
inputs it stops with one line that names the stage to run first.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from imac_builder import stages, tables
from imac_builder.cli import cli

#: What the demo ran each stage with (the sample's inputs inside the demo work directory).
RERUN = {
    "tags": lambda w, sample: ["tags", "--lastfm", str(sample / "lastfm_tags.db"),
                               "--metadata", str(sample / "unique_tracks.txt")],
    "search": lambda w, sample: ["search", "--rerank"],
    "download": lambda w, sample: ["download"],
    "images": lambda w, sample: ["images", "--image-root", str(w / "demo-media/images")],
    "features": lambda w, sample: ["features", "--modality", "all", "--image-root",
                                   str(w / "demo-media/images")],
}
#: The least a stage needs on its command line, for the "run X first" check.
BARE = {"features": ["features", "--modality", "music"],
        "release": ["release", "--name", "x", "--version", "1.0.0"]}


def _fingerprint(path: Path) -> str:
    if path.suffix == ".h5":
        from imac_builder.features.store import FeatureStore

        s = FeatureStore.open(path)
        h = hashlib.sha256(s.features.tobytes())
        h.update("\0".join(s.ids).encode())
        return h.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _outputs(w: Path, stage: str) -> dict[str, str]:
    return {f.path: _fingerprint(f.at(w)) for f in stages.get(stage).outputs
            if "<" not in f.path and f.at(w).suffix != ".md"}


def test_declared_outputs_exist_after_the_demo(demo_small: Path) -> None:
    for stage in stages.STAGES:
        for f in stage.outputs:
            if "<" in f.path or (stage.name == "search" and f is tables.QUOTA):
                continue
            assert f.at(demo_small).exists(), (stage.name, f.path)


@pytest.mark.parametrize("stage", list(RERUN))
def test_a_rerun_changes_no_declared_output(demo_small: Path, runner, stage: str) -> None:
    from imac_builder.demo import sample_dir

    before = _outputs(demo_small, stage)
    assert before
    args = RERUN[stage](demo_small, sample_dir())
    result = runner.invoke(cli, ["--workdir", str(demo_small), *args])
    assert result.exit_code == 0, result.output
    assert _outputs(demo_small, stage) == before


@pytest.mark.parametrize("stage", [s.name for s in stages.STAGES if s.inputs])
def test_a_missing_input_names_the_stage_to_run(tmp_path: Path, runner, stage: str) -> None:
    w = tmp_path / "w"
    w.mkdir()
    args = BARE.get(stage, [stage])
    result = runner.invoke(cli, ["--workdir", str(w), *args])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    writers = {f.writer for f in stages.get(stage).inputs} | {"features", "train"}
    named = set(re.findall(r"imac-build (\w+)", lines[0]))
    assert named & writers, lines[0]
