"""Subsets (imac_builder.subset): search and download keep to the songs chosen by
--per-class, --classes, --tracks (ids, CSV or the authors' score file) and --offset; the
choice is recorded in workdir.json, status and the release."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("googleapiclient")

from imac_builder.cli import cli  # noqa: E402

KEY = "AIza" + "Q" * 35


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def searched_queries(log: Path) -> list[str]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def mock_api(monkeypatch, tmp_path):
    """The api backend's real client, answered by an HttpMockSequence from the query; the
    queries asked land in the returned log."""
    from search_driver import QueryMock

    from imac_builder.search import stage

    log = tmp_path / "queries.log"
    real = stage._make_searcher

    def make(backend, ledger, results, key_file, http, backoff, access=None):
        return real(backend, ledger, results, key_file, QueryMock(log, 0), backoff, access)

    monkeypatch.setattr(stage, "_make_searcher", make)
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    return log


def fresh_tags(demo: Path, dest: Path) -> Path:
    (dest / "tags").mkdir(parents=True)
    shutil.copy(demo / "tags" / "songs.csv", dest / "tags")
    return dest


def test_per_class_searches_five_songs_of_each_label(demo_small, tmp_path, runner, mock_api):
    w = fresh_tags(demo_small, tmp_path / "w")
    songs = {r["track_id"]: r for r in read_csv(w / "tags" / "songs.csv")}
    assert min(Counter(r["label"] for r in songs.values()).values()) > 5
    res = runner.invoke(cli, ["--workdir", str(w), "search", "--backend", "api",
                              "--per-class", "5", "--seed", "0"])
    assert res.exit_code == 0, res.output
    queries = searched_queries(mock_api)
    assert len(queries) == 15
    matches = read_csv(w / "search" / "matches.csv")
    searched = [m["track_id"] for m in matches if not m["reason"].startswith("not_searched")]
    assert len(searched) == 15
    assert Counter(songs[t]["label"] for t in searched) == {"positive": 5, "neutral": 5,
                                                            "negative": 5}
    state = json.loads((w / "workdir.json").read_text())["subset"]
    assert state["per_class"] == 5 and state["seed"] == 0
    assert sorted(state["track_ids"]) == sorted(searched)
    # the same seed draws the same songs; another seed others
    from imac_builder.subset import SubsetSpec, select

    rows = list(songs.values())
    assert select(rows, SubsetSpec(per_class=5, seed=0))[0] == sorted(searched)
    assert select(rows, SubsetSpec(per_class=5, seed=1))[0] != sorted(searched)
    # the plain rerun keeps to the recorded subset: nothing left to search, status agrees
    res = runner.invoke(cli, ["--workdir", str(w), "search", "--backend", "api"])
    assert res.exit_code == 0 and len(searched_queries(mock_api)) == 15
    res = runner.invoke(cli, ["--workdir", str(w), "status"])
    search_line = next(x for x in res.output.splitlines() if x.strip().startswith("search"))
    assert "done" in search_line and "subset of 15 songs" in res.output
    # --classes and --offset narrow it; --no-subset forgets it
    from imac_builder.subset import in_effect

    neg = in_effect(w, SubsetSpec(classes=("negative",), per_class=5, offset=2))
    assert len(neg) == 3 and {songs[t]["label"] for t in neg} == {"negative"}
    assert in_effect(w, no_subset=True) is None
    assert "subset" not in json.loads((w / "workdir.json").read_text()) or \
        json.loads((w / "workdir.json").read_text())["subset"] is None


def test_a_refused_run_leaves_the_recorded_subset(demo_small, tmp_path, runner, mock_api,
                                                  monkeypatch):
    """A search the missing API key refuses, or a download with no ffmpeg, does not record
    (nor forget) a subset: workdir.json is as before."""
    w = fresh_tags(demo_small, tmp_path / "w")
    res = runner.invoke(cli, ["--workdir", str(w), "search", "--backend", "api",
                              "--per-class", "2", "--seed", "0", "--limit", "0"])
    assert res.exit_code == 0, res.output
    before = json.loads((w / "workdir.json").read_text())["subset"]
    assert before["per_class"] == 2
    for opts in (["--no-subset"], ["--per-class", "5", "--seed", "1"]):
        res = runner.invoke(cli, ["--workdir", str(w), "search", "--backend", "api",
                                  "--daily-quota", "50", *opts])
        assert res.exit_code == 1 and "--daily-quota 50 is below" in res.output, res.output
        assert json.loads((w / "workdir.json").read_text())["subset"] == before
    monkeypatch.delenv("YOUTUBE_API_KEY")
    for opts in (["--no-subset"], ["--per-class", "5", "--seed", "1"]):
        res = runner.invoke(cli, ["--workdir", str(w), "search", "--backend", "api",
                                  "--limit", "1", *opts])
        assert res.exit_code == 1 and "API key" in res.output, res.output
        assert json.loads((w / "workdir.json").read_text())["subset"] == before
    # a download refused before it starts (here: no ffmpeg) does not either
    from imac_builder.download import stage as download_stage
    from imac_builder.errors import UserError

    def no_ffmpeg() -> str:
        raise UserError("ffmpeg not found")

    (w / "search").mkdir(exist_ok=True)
    shutil.copy(demo_small / "search" / "matches.csv", w / "search")
    monkeypatch.setattr(download_stage, "ffmpeg_binary", no_ffmpeg)
    for opts in (["--no-subset"], ["--classes", "positive"]):
        res = runner.invoke(cli, ["--workdir", str(w), "download", *opts])
        assert res.exit_code == 1 and "ffmpeg not found" in res.output, res.output
        assert json.loads((w / "workdir.json").read_text())["subset"] == before


def write_score_file(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(["song name", "artist name", "posScore", "neuScore", "negScore"])
        for r in rows:
            w.writerow([r["title"].upper(), r["artist_name"], 3, 1, 0])  # case differs
    return path


def test_a_score_file_limits_search_and_download(demo_small, tmp_path, runner, mock_api):
    from imac_builder.config import ReleaseConfig
    from imac_builder.demo import serve
    from imac_builder.release import run_release

    w = tmp_path / "w"
    top = {"runs", ".lock", "audio", "download", "manifests"}
    shutil.copytree(demo_small, w, ignore=lambda d, names: [
        n for n in names if Path(d) == demo_small and n in top])
    (w / "workdir.json").unlink()  # no demo subset: every song
    matches = read_csv(w / "search" / "matches.csv")
    matched = [m for m in matches if m["status"] == "matched"]
    unsearched = [m for m in matches if m["reason"].startswith("not_searched")]
    songs = {r["track_id"]: r for r in read_csv(w / "tags" / "songs.csv")}
    chosen = [songs[m["track_id"]] for m in matched[:2] + unsearched[:2]]
    scores = write_score_file(tmp_path / "Song Emotion Score File.tsv", chosen)

    res = runner.invoke(cli, ["--workdir", str(w), "search", "--backend", "api",
                              "--tracks", str(scores)])
    assert res.exit_code == 0, res.output
    assert len(searched_queries(mock_api)) == 2
    after = {m["track_id"]: m for m in read_csv(w / "search" / "matches.csv")}
    now = [t for t, m in after.items() if not m["reason"].startswith("not_searched")]
    assert sorted(now) == sorted([m["track_id"] for m in matched] +
                                 [m["track_id"] for m in unsearched[:2]])
    assert "subset" in res.output and "score file" in res.output
    # the mock's videos are not served: put back the demo's matches to download them
    shutil.copy(demo_small / "search" / "matches.csv", w / "search" / "matches.csv")
    with serve(w / "demo-media"):
        res = runner.invoke(cli, ["--workdir", str(w), "download", "--rate", "0"])
    assert res.exit_code == 0, res.output
    ledger = read_csv(w / "download" / "ledger.csv")
    assert sorted(r["track_id"] for r in ledger) == sorted(m["track_id"] for m in matched[:2])
    assert {r["status"] for r in ledger} == {"ok"}
    # the release records the subset
    rel = run_release(w, config=ReleaseConfig(name="sub"), version="1.0.0",
                      out=tmp_path / "m", progress=False)
    meta = json.loads((Path(rel.folder) / "manifest.json").read_text())
    assert meta["subset"]["songs"] == 4 and meta["subset"]["tracks"]["file"] == scores.name
    assert "track_ids" not in meta["subset"] and len(meta["subset"]["track_ids_sha256"]) == 64


def test_track_lists_and_bad_ids(tmp_path, demo_small):
    from imac_builder.errors import UserError
    from imac_builder.subset import SubsetSpec, select

    rows = read_csv(demo_small / "tags" / "songs.csv")
    ids = [r["track_id"] for r in rows[:3]]
    plain = tmp_path / "ids.txt"
    plain.write_text("# my songs\n" + "\n".join(ids) + "\n", encoding="utf-8")
    assert select(rows, SubsetSpec(tracks=plain))[0] == sorted(ids)
    table = tmp_path / "ids.csv"
    table.write_text("note,track_id\nx," + "\nx,".join(ids[:2]) + "\n", encoding="utf-8")
    assert select(rows, SubsetSpec(tracks=table))[0] == sorted(ids[:2])
    bad = tmp_path / "bad.txt"
    bad.write_text("TRnot-an-id\n", encoding="utf-8")
    with pytest.raises(UserError, match="not an MSD track id"):
        select(rows, SubsetSpec(tracks=bad))


def test_a_new_subset_keeps_nothing_of_the_old_record(tmp_path, demo_small):
    from imac_builder.subset import SubsetSpec, in_effect
    from imac_builder.workdir import read_state, update_state

    w = fresh_tags(demo_small, tmp_path / "w")
    update_state(w, subset={"track_ids": ["TRAAAAA128F00000AA"], "source": "demo: old"})
    in_effect(w, SubsetSpec(per_class=1, seed=0))
    rec = read_state(w)["subset"]
    assert rec["per_class"] == 1 and "source" not in rec


def test_rerank_refuses_subset_options(demo_small, tmp_path, runner):
    """--rerank chooses again for every searched song: a subset option given with it
    would be silently ignored, so it is refused in one line."""
    w = tmp_path / "w"
    shutil.copytree(demo_small, w)
    before = (w / "workdir.json").read_text()
    for opts in (["--per-class", "1"], ["--no-subset"]):
        res = runner.invoke(cli, ["--workdir", str(w), "search", "--rerank", *opts])
        assert res.exit_code == 1 and "do not apply" in res.output, res.output
    assert (w / "workdir.json").read_text() == before
    res = runner.invoke(cli, ["--workdir", str(w), "search", "--rerank"])
    assert res.exit_code == 0, res.output


def test_rerank_takes_a_pipeline_file_with_subset_options(demo_small, tmp_path, runner):
    """Subset keys in the pipeline file's [search] table are for searching: --rerank
    (typed without subset options) runs, remembered pipeline or not."""
    w = tmp_path / "w"
    shutil.copytree(demo_small, w)
    toml = tmp_path / "p.toml"
    toml.write_text("[search]\nper_class = 1\nseed = 5\n", encoding="utf-8")
    for args in (["--config", str(toml)], []):
        res = runner.invoke(cli, ["--workdir", str(w), *args, "search", "--rerank"])
        assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["--workdir", str(w), "--config", str(toml), "search",
                              "--rerank", "--seed", "2"])
    assert res.exit_code == 1 and "leave out --seed" in res.output, res.output


@pytest.mark.parametrize("field, value", [("by_label", [1]), ("classes", [1]),
                                          ("classes", "neutral"), ("source", "a\x1bb\nc")])
def test_a_hand_edited_subset_record_is_described_in_one_line(tmp_path, field, value):
    from imac_builder.subset import describe
    from imac_builder.workdir import update_state

    update_state(tmp_path, subset={"track_ids": ["TRAAAAA128F00000AA"], field: value})
    text = describe(tmp_path)
    assert text.startswith("subset of 1 songs") and text.isprintable()


@pytest.mark.parametrize("value", ["TRAAAAA128F00000AA", {"a": 1}, [1, 2], None])
def test_a_subset_whose_track_ids_are_no_list_is_one_line_not_forgotten(tmp_path, runner,
                                                                         value):
    import json

    (tmp_path / "workdir.json").write_text(json.dumps({"subset": {"track_ids": value}}))
    for args in (["status"], ["search", "--rerank"], ["plan"]):
        res = runner.invoke(cli, ["--workdir", str(tmp_path), *args])
        assert res.exit_code == 1 and "'subset.track_ids' is not a list" in res.output, \
            (args, res.output)


def test_a_tracks_fifo_is_named_not_called_missing(tmp_path):
    import os

    from imac_builder.errors import UserError
    from imac_builder.subset import read_tracks

    os.mkfifo(tmp_path / "ids")
    with pytest.raises(UserError, match="is a FIFO"):
        read_tracks(tmp_path / "ids", [])
    with pytest.raises(UserError, match="no such file"):
        read_tracks(tmp_path / "absent", [])
