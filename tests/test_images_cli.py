"""``imac-build images`` end to end: options, summary, config file, user errors."""

from __future__ import annotations

import csv
import json

import pytest
from images_support import folder_layout, photos

from imac_builder.cli import cli

pytest.importorskip("PIL")


def _statuses(workdir) -> dict[str, str]:
    with (workdir / "images" / "images.csv").open(newline="", encoding="utf-8") as fh:
        return {r["image_id"]: r["status"] for r in csv.DictReader(fh)}


def test_cli_folder_and_flat_layouts(tmp_path, runner):
    root = tmp_path / "root"
    ids = folder_layout(root, per_emotion=1)
    for i, im in enumerate(photos(len(ids) + 2)[len(ids):]):
        im.save(root / f"contentment_flat{i}.jpg")
    wd = tmp_path / "W"
    res = runner.invoke(cli, ["--workdir", str(wd), "--json", "images", "--root", str(root),
                              "--jobs", "2", "--min-size", "32"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["command"] == "images"
    assert summary["images_listed"] == len(ids) + 2
    assert summary["ok_per_label"] == {"positive": 3, "neutral": 3, "negative": 4}
    assert summary["jobs"] == 2
    assert set(_statuses(wd).values()) == {"ok"}
    res = runner.invoke(cli, ["--workdir", str(wd), "images", "--root", str(root)])
    assert res.exit_code == 0
    assert "10 images listed; 10 usable (3 positive, 3 neutral, 4 negative)" in res.output
    assert "10 earlier checks reused" in res.output


def test_cli_options_from_a_config_file(tmp_path, runner):
    root = tmp_path / "root"
    folder_layout(root, per_emotion=1)
    cfg = tmp_path / "p.toml"
    cfg.write_text(f'[images]\nroot = "{root}"\nmin_size = 5000\njobs = 1\n')
    wd = tmp_path / "W"
    res = runner.invoke(cli, ["--workdir", str(wd), "--config", str(cfg), "-q", "images"])
    assert res.exit_code == 0, res.output
    assert set(_statuses(wd).values()) == {"too_small"}


@pytest.mark.parametrize("args,message", [
    ([], "give --root"),
    (["--root", "ROOT", "--verified-only"], "--verified-only needs --votes"),
    (["--root", "NOPE"], "is not a folder"),
    (["--votes", "ROOT"], "no <emotion>_*.csv files"),
    (["--urls", "NOPE"], "is not a file"),
    (["--root", "EMPTY"], "no images found"),
])
def test_cli_user_errors_are_one_line(tmp_path, runner, args, message):
    (tmp_path / "root").mkdir()
    (tmp_path / "empty").mkdir()
    args = [{"ROOT": str(tmp_path / "root"), "NOPE": str(tmp_path / "nope"),
             "EMPTY": str(tmp_path / "empty")}.get(a, a) for a in args]
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "W"), "images", *args])
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output


EMOTION6 = ("anger", "disgust", "fear", "joy", "sadness", "surprise")


def _emotion6_tree(root, per_folder: int = 2) -> None:
    """An Emotion6-style tree (its 6 folders of real photos) and a stray text file."""
    from images_support import write_jpeg

    ims = photos(len(EMOTION6) * per_folder)
    for i, im in enumerate(ims):
        folder = EMOTION6[i % len(EMOTION6)]
        write_jpeg(root / folder / f"{i:02d}.jpg", im)
    (root / "README.txt").write_text("Emotion6\n")


def test_emotion6_tree_is_refused_naming_the_layout_and_what_was_ignored(tmp_path, runner):
    root = tmp_path / "Emotion6" / "images"
    _emotion6_tree(root)
    wd = tmp_path / "W"
    res = runner.invoke(cli, ["--workdir", str(wd), "images", "--root", str(root), "--offline",
                              "--jobs", "1"])
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    line = lines[0]
    assert "layout: FI folders" in line and "looks like Emotion6" in line
    # anger, disgust, fear and sadness are FI emotions (negative); joy and surprise are not
    for folder in ("ignored 2 folders", "joy: 2 files", "surprise: 2 files", "README.txt"):
        assert folder in line
    assert "anger:" not in line and "sadness:" not in line
    assert "no image of class positive, neutral;" in line
    assert "--allow-missing-classes" in line
    assert not (wd / "images" / "images.csv").exists()


def test_emotion6_tree_with_allow_missing_classes_reports_what_was_ignored(tmp_path, runner):
    root = tmp_path / "images"
    _emotion6_tree(root)
    wd = tmp_path / "W"
    res = runner.invoke(cli, ["--workdir", str(wd), "images", "--root", str(root), "--offline",
                              "--jobs", "1", "--allow-missing-classes"])
    assert res.exit_code == 0, res.output
    assert ("ignored 2 folders not named after an emotion (joy: 2 files, surprise: 2 files) "
            "and 1 file not an <emotion>_... image (README.txt)") in res.output
    assert "warning: no image of class positive, neutral" in res.output
    assert "8 images listed; 8 usable (0 positive, 0 neutral, 8 negative)" in res.output
    statuses = _statuses(wd)
    assert sorted(statuses) == sorted(f"{EMOTION6[i % 6]}_{i:02d}" for i in range(12)
                                      if EMOTION6[i % 6] not in ("joy", "surprise"))
    report = (wd / "images" / "report.md").read_text(encoding="utf-8")
    section = report.split("## Layout and what was ignored", 1)[1].split("\n## ", 1)[0]
    assert "Layout recognised under the image root: FI folders" in section
    assert "This looks like Emotion6" in section
    assert "no image of class positive, neutral" in section
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in section.splitlines()
            if ln.startswith("|") and not set(ln) <= set("|-: ")]
    assert ["joy", "2"] in rows and ["surprise", "2"] in rows
    assert ["README.txt"] in rows
    assert ["anger", "2"] not in rows and ["sadness", "2"] not in rows


def test_fi_tree_missing_an_emotion_is_refused(tmp_path, runner):
    import shutil

    root = tmp_path / "root"
    folder_layout(root, per_emotion=1)
    shutil.rmtree(root / "awe")
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "W"), "images", "--root", str(root),
                              "--offline", "--jobs", "1"])
    assert res.exit_code == 1
    assert "no image of emotion awe (layout: FI folders" in res.output
    assert "Emotion6" not in res.output


def test_sentiment_folders_are_recognised(tmp_path):
    from images_support import write_jpeg

    from imac_builder.images.layout import recognise_layout, scan_root

    for i, (folder, im) in enumerate(zip(("positive", "negative"), photos(2), strict=True)):
        write_jpeg(tmp_path / folder / f"{i}.jpg", im)
    layout, other = recognise_layout(scan_root(tmp_path))
    assert layout == "none under the image root"
    assert other.startswith("this looks like binary sentiment")
    folder_layout(tmp_path / "fi", per_emotion=1)
    assert recognise_layout(scan_root(tmp_path / "fi")) == ("FI folders (<emotion>/*.jpg)", "")


@pytest.mark.parametrize("command", [["images"], ["features"], ["split"], ["verify", "m"]])
def test_an_empty_image_root_is_refused_not_read_as_the_current_folder(tmp_path, command):
    from click.testing import CliRunner

    from imac_builder.cli import cli

    res = CliRunner().invoke(cli, ["--workdir", str(tmp_path), *command, "--image-root", ""])
    assert res.exit_code == 2 and "an empty path names no folder" in res.output, res.output


def test_a_blank_image_root_is_refused_unless_a_folder_has_that_name(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from imac_builder.cli import cli

    monkeypatch.chdir(tmp_path)
    args = ["--workdir", str(tmp_path / "w"), "images", "--image-root", " "]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "an empty path names no folder" in res.output, res.output
    (tmp_path / " ").mkdir()
    res = CliRunner().invoke(cli, args)
    assert "names no folder" not in res.output and "no images" in res.output.lower(), res.output


def test_an_image_root_in_a_symlink_loop_is_one_line(tmp_path):
    from click.testing import CliRunner

    from imac_builder.cli import cli

    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    res = CliRunner().invoke(cli, ["--workdir", str(tmp_path / "w"), "split",
                                   "--image-root", str(tmp_path / "loop")])
    assert res.exit_code in (1, 2) and "internal error" not in res.output, res.output
    assert "loop" in res.output.splitlines()[-1]
