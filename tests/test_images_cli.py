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
