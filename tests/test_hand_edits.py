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


def test_an_interrupted_fresh_run_is_a_new_run_not_the_old_ones_metrics(work, monkeypatch):
    pytest.importorskip("torch")
    from imac_builder.config import TrainConfig
    from imac_builder.train import trainer

    run = next(p.parent.name for p in (work / "runs").glob("*/metrics.json"))
    real_step = trainer.train_step

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "train_step", interrupted)
    cfg = TrainConfig(epochs=2, min_epochs=1)
    with pytest.raises(KeyboardInterrupt):
        trainer.run_train(work, config=cfg, run=run, device="cpu", fresh=True, progress=False)
    assert not (work / "runs" / run / "metrics.json").exists()
    assert not (work / "runs" / run / "evaluation.json").exists()
    res = _run(work, "status")
    assert f"train done {run}" not in " ".join(res.output.split()), res.output
    monkeypatch.setattr(trainer, "train_step", real_step)
    # the same command again (no --fresh) trains the new configuration
    summary = trainer.run_train(work, config=cfg, run=run, device="cpu", progress=False)
    assert summary.epochs == 2


def test_a_run_that_never_finished_is_not_evaluated(work):
    pytest.importorskip("torch")
    run = next(p.parent for p in (work / "runs").glob("*/metrics.json"))
    (run / "metrics.json").unlink()
    res = _run(work, "evaluate", "--run", run.name, "--device", "cpu")
    assert res.exit_code == 1 and "has not finished training" in res.output, res.output


@pytest.mark.parametrize("edit, says", [
    ("header only", "holds no pairs"),
    ("a test item moved to train", "puts in train"),
])
def test_hand_edited_pairs_are_refused_in_one_line(work, edit, says):
    pytest.importorskip("torch")
    pairs = work / "splits" / "pairs_test.csv"
    lines = pairs.read_text(encoding="utf-8").splitlines(keepends=True)
    if edit == "header only":
        pairs.write_text(lines[0], encoding="utf-8")
    else:
        segment = lines[1].split(",")[1]
        splits = work / "splits" / "splits.csv"
        text = splits.read_text(encoding="utf-8")
        assert f"{segment},music,test" in text
        splits.write_text(text.replace(f"{segment},music,test", f"{segment},music,train"),
                          encoding="utf-8")
    run = next(p.parent.name for p in (work / "runs").glob("*/metrics.json"))
    for args in (["train", "--run", "x", "--epochs", "1", "--device", "cpu"],
                 ["evaluate", "--run", run, "--device", "cpu"]):
        res = _run(work, *args)
        assert res.exit_code == 1 and says in res.output and "internal error" not in res.output, \
            (args, res.output)


def test_where_a_stage_ran_does_not_make_it_stale_but_what_it_made_does(work):
    pytest.importorskip("torch")
    run = next(p.parent.name for p in (work / "runs").glob("*/metrics.json"))

    def evaluate_line(*options: str) -> str:
        res = _run(work, "evaluate", "--run", run, *options)
        assert res.exit_code == 0, res.output
        status = _run(work, "status").output
        return next(line for line in status.splitlines() if line.split()[:1] == ["evaluate"])

    assert " done " in evaluate_line("--device", "cpu")
    line = evaluate_line("--device", "cpu", "--retrieval-images", "7")
    assert "stale" in line and "retrieval_images 7 -> None" in line and "device" not in line


def test_an_emptied_image_table_keeps_the_store_and_a_partial_folder_is_reported(
        work, tmp_path):
    import shutil as sh

    images = work / "images" / "images.csv"
    full = images.read_text(encoding="utf-8")
    store = (work / "features" / "images.h5").read_bytes()
    images.write_text(full.splitlines(keepends=True)[0], encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    res = _run(work, "split", "--image-root", str(empty))
    assert res.exit_code == 1 and "holds none of the" in res.output, res.output
    res = _run(work, "features", "--modality", "images")
    assert res.exit_code == 1 and "lists no usable image" in res.output, res.output
    assert (work / "features" / "images.h5").read_bytes() == store
    # a folder holding some of the images: split says how many it compared
    images.write_text(full, encoding="utf-8")
    root = json.loads((work / "workdir.json").read_text(encoding="utf-8"))["image_root"]
    part = tmp_path / "part"
    first = sorted(p for p in Path(root).iterdir() if p.is_dir())[0]
    sh.copytree(first, part / first.name)
    res = _run(work, "split", "--image-root", str(part))
    n = sum(1 for _ in first.iterdir())
    assert res.exit_code == 0 and f"pHash compared {n} of the " in res.output, res.output


def test_a_setting_written_as_the_default_it_resolves_to_is_no_change(work, tmp_path):
    res = _run(work, "features")  # recorded by the command (nothing to recompute)
    assert res.exit_code == 0, res.output
    status = _run(work, "status").output
    assert any(line.split()[:2] == ["features", "done"] for line in status.splitlines()), status
    same = tmp_path / "same.toml"
    same.write_text('[features]\nengine = "fast"\n', encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text('[features]\nengine = "reference"\n', encoding="utf-8")

    def features_line(config: Path) -> str:
        out = _run(work, "--config", str(config), "status").output
        return next(line for line in out.splitlines() if line.split()[:1] == ["features"])

    assert " done " in features_line(same)
    assert "engine 'fast' -> 'reference'" in features_line(other)


@pytest.mark.parametrize("header, note, says", [
    ("track_id,video_id,note", "too, many", "line 2: more fields than the header's 3"),
    ("track_id,video_id,note", "dropped by hand,", ""),  # a spreadsheet's trailing comma
    ("track_id ,video_id, note", "spaces typed in the header", ""),
    ("track_id,video_id,note", '"don\'t, live', "not a readable CSV"),  # a quote left open
])
def test_hand_written_overrides_rows(work, header, note, says):
    tracks = [line.split(",")[0] for line in
              (work / "search" / "matches.csv").read_text(encoding="utf-8").splitlines()[1:3]]
    (work / "search" / "overrides.csv").write_text(
        f"{header}\n{tracks[0]},skip,{note}\n{tracks[1]},skip,second\n", encoding="utf-8")
    res = _run(work, "search", "--rerank")
    if not says:
        assert res.exit_code == 0 and "applied 2 overrides" in res.output, res.output
        return
    assert res.exit_code == 1 and says in res.output, res.output
    assert "fix it by hand" in res.output and "rerun the stage" not in res.output, res.output


def test_a_recorded_setting_this_version_no_longer_knows_is_no_change(work):
    res = _run(work, "features")
    assert res.exit_code == 0, res.output
    state = json.loads((work / "workdir.json").read_text(encoding="utf-8"))
    from imac_builder.config import config_hash

    rec = state["configs"]["features"]
    rec["values"]["old_removed_key"] = 3  # as an older imac-build recorded it
    rec["hash"] = config_hash(rec["values"])
    (work / "workdir.json").write_text(json.dumps(state), encoding="utf-8")
    out = _run(work, "status").output
    assert next(line for line in out.splitlines()
                if line.split()[:1] == ["features"]).split()[1] == "done", out
