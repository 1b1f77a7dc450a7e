"""A new user's whole path (issue 27): docs examples, rebuild, status after it, doctor,
search stops, and the reference pages, each a defect found by walking the docs."""

from __future__ import annotations

import ast
import csv
import json
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def copy_work(src: Path, dest: Path, *skip: str) -> Path:
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(".lock", *skip))
    return dest


# --------------------------------------------------------------------- 1: docs examples

def python_blocks() -> list[tuple[str, str]]:
    out = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for m in re.finditer(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            out.append((page.name, m.group(1)))
    return out


#: What an example may stop on here: the machine lacks a GPU or a YouTube API key (the
#: example itself is right; a user with either runs it through).
ENVIRONMENT = re.compile(r"no YouTube API key|no CUDA GPU")
#: After such a stop, a later statement may say the stopped one's output is missing.
CONSEQUENCE = re.compile(r"\bfirst\b|not trained|no run")


@pytest.fixture
def example_dir(demo_small, tmp_path, monkeypatch):
    """A folder holding every file the examples name, made from the demo's work directory
    and the built-in sample."""
    from tagdata import write_json_zip, write_track_metadata_db

    from imac_builder.demo import sample_dir

    w = tmp_path / "W"
    (tmp_path / "imac-data").symlink_to(w)
    (tmp_path / "emotion_dataset").symlink_to(w / "demo-media" / "images")
    shutil.copy(sample_dir() / "lastfm_tags.db", tmp_path / "lastfm_tags.db")
    shutil.copy(sample_dir() / "unique_tracks.txt", tmp_path / "unique_tracks.txt")
    songs = read_csv(demo_small / "tags" / "songs.csv")[:6]
    tracks = [(s["track_id"], s["artist_name"], s["title"], [(s["tags"].split("|")[0], 100.0)])
              for s in songs]
    write_json_zip(tmp_path / "lastfm_train.zip", tracks[:3])
    write_json_zip(tmp_path / "lastfm_test.zip", tracks[3:])
    write_track_metadata_db(tmp_path / "track_metadata.db",
                            [(s["track_id"], s["song_id"], s["artist_name"], s["title"], "",
                              200.0, 0) for s in songs])
    (tmp_path / "cookies.txt").write_text("# Netscape HTTP Cookie File\n", encoding="utf-8")
    # the release the release page's examples load (made from a copy: the demo is shared)
    from imac_builder.config import ReleaseConfig
    from imac_builder.release import run_release

    run_release(copy_work(demo_small, tmp_path / "built", "runs"),
                config=ReleaseConfig(name="imac"), version="1.0.0",
                out=tmp_path / "manifests", format="hf", progress=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    return tmp_path


def test_every_python_example_in_the_docs_runs(example_dir, demo_small):
    """Each statement of each example runs on (a fresh copy of) the demo's work directory;
    only a missing GPU or API key (the machine, not the example) may stop one, with its
    one line, and then a later statement may say that one's output is missing."""
    from imac_builder.errors import UserError

    blocks = python_blocks()
    assert len(blocks) >= 8
    for page, code in blocks:
        shutil.rmtree(example_dir / "W", ignore_errors=True)
        copy_work(demo_small, example_dir / "W", "runs")
        ns: dict = {}
        stopped = False
        for node in ast.parse(code).body:
            stmt = ast.get_source_segment(code, node)
            try:
                exec(compile(ast.Module([node], []), f"{page}", "exec"), ns)  # noqa: S102
            except UserError as e:
                ok = ENVIRONMENT.search(str(e)) or (stopped and CONSEQUENCE.search(str(e)))
                assert ok, f"{page}: {stmt!r} failed: {e}"
                stopped = True
            except Exception as e:  # noqa: BLE001 - the test names the example
                pytest.fail(f"{page}: {stmt!r} raised {type(e).__name__}: {e}")


# ------------------------------------------------------------ 2: commands.md, --version

def test_commands_page_lists_release_version():
    from imac_builder.cli.reference import commands_page

    page = commands_page()
    release = page.split("\n## release\n", 1)[1].split("\n## ", 1)[0]
    assert "| `--version` |" in release
    glob = page.split("## Global options", 1)[1].split("\n## ", 1)[0]
    assert "`--version`" in glob


# ------------------------------------------------ 3, 4, 5: rebuild paced, status, protocol

@pytest.fixture(scope="module")
def rebuilt(demo_small, tmp_path_factory):
    """The demo's release rebuilt through the CLI at 7,200 videos an hour (the demo's
    songs served again on the port the release names)."""
    from click.testing import CliRunner

    from imac_builder.cli import cli
    from imac_builder.demo import serve

    rel = demo_small / "manifests" / "imac-demo-0.1.0"
    w2 = tmp_path_factory.mktemp("rebuilt") / "w2"
    with serve(demo_small / "demo-media"):
        res = CliRunner().invoke(cli, ["--json", "rebuild", str(rel), "--workdir", str(w2),
                                       "--rate", "7200", "--jobs", "2",
                                       "--extractor-args", "youtube:player_client=default",
                                       "--proxy", "", "--image-root",
                                       str(demo_small / "demo-media" / "images")])
    assert res.exit_code == 0, res.output
    return w2, rel, json.loads(res.output.strip().splitlines()[-1])


def test_rebuild_is_paced_like_download(rebuilt):
    w2, rel, doc = rebuilt
    n = len({r["track_id"] for r in read_csv(rel / "segments.csv")})
    assert doc["download"]["ok"] == n >= 6
    assert doc["download"]["rate"] == 7200
    # n songs at 7,200 an hour: n - 1 gaps of 0.25-0.75 s between starts, shared by workers
    assert doc["download"]["paced_seconds"] >= (n - 1) * 0.25 * 0.9


def test_rebuild_takes_download_options_and_defaults_to_its_rate():
    from imac_builder.cli import cli
    from imac_builder.config import CONFIGS, field_default

    names = {o for p in cli.commands["rebuild"].params for o in p.opts}
    assert {"--rate", "--js-runtime", "--cookies-from-browser", "--extractor-args",
            "--cookies", "--proxy", "--sleep", "--jobs"} <= names
    download = {f.name: field_default(f) for f in
                __import__("dataclasses").fields(CONFIGS["download"])}
    rebuild = {f.name: field_default(f) for f in
               __import__("dataclasses").fields(CONFIGS["rebuild"])}
    assert rebuild["rate"] == download["rate"] > 0


def test_status_after_rebuild_needs_no_search(rebuilt):
    from imac_builder.status import workdir_status

    w2, rel, _ = rebuilt
    s = workdir_status(w2)
    search = next(x for x in s.stages if x.stage == "search")
    assert search.state == "done" and "rebuilt from imac-demo-0.1.0" in search.detail
    assert "new songs" not in search.detail
    assert "songs_to_search" not in s.plan and "search_days" not in s.plan
    assert " search" not in s.next_step
    assert not any("search" in line for line in s.plan_lines())


def test_rebuild_keeps_the_pair_protocol(demo_small, rebuilt):
    from imac_builder.train.split import read_protocol
    from imac_builder.workdir import Workdir

    w2, rel, _ = rebuilt
    built = read_protocol(Workdir(demo_small))
    assert built == "balanced"  # the demo's split
    assert json.loads((rel / "manifest.json").read_text())["split"]["protocol"] == built
    assert read_protocol(Workdir(w2)) == built


# ------------------------------------------------------ 6: what a release needs

def test_release_needs_segments_and_says_so(demo_small, tmp_path, runner):
    from imac_builder.cli import cli

    w = tmp_path / "w"
    (w / "tags").mkdir(parents=True)
    shutil.copy(demo_small / "tags" / "songs.csv", w / "tags")
    (w / "search").mkdir()
    shutil.copy(demo_small / "search" / "matches.csv", w / "search")
    res = runner.invoke(cli, ["--workdir", str(w), "release", "--out", str(tmp_path / "m")])
    assert res.exit_code == 1
    out = res.output.strip()
    assert len(out.splitlines()) == 1 and "segments.csv" in out and "download" in out
    assert "Traceback" not in out
    doc = (REPO / "docs" / "release.md").read_text(encoding="utf-8")
    assert "only the first three" not in doc
    assert "`download/segments.csv` are required" in doc


# ----------------------------------------------------- 7: doctor --for search, api key

def test_doctor_for_search_needs_a_key_with_the_api_backend(runner, tmp_path, monkeypatch):
    from imac_builder.cli import cli

    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "doctor", "--for", "search"])
    assert res.exit_code == 1, res.output
    assert re.search(r"missing\s+api_key", res.output) and "not ready for search" in res.output
    # a pipeline file choosing ytdlp needs none
    toml = tmp_path / "p.toml"
    toml.write_text('[search]\nbackend = "ytdlp"\n', encoding="utf-8")
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "--config", str(toml),
                              "doctor", "--for", "search"])
    assert "api_key" not in [ln.split()[1] for ln in res.output.splitlines()
                             if ln.startswith("missing")]
    monkeypatch.setenv("YOUTUBE_API_KEY", "AIza" + "Q" * 35)
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "doctor", "--for", "search"])
    assert not re.search(r"missing\s+api_key", res.output)


# ------------------------------------------- 8, 9: search stops that cannot be told apart

SONGS = [(f"TRAAAAA128F00000{i:02d}", f"Artist {i}", f"Song {i}", "200") for i in range(8)]


def test_search_stopped_by_failures_in_a_row(tmp_path, runner, monkeypatch):
    from tagdata import write_songs_csv

    from imac_builder.cli import cli
    from imac_builder.cli import search as search_cli
    from imac_builder.search import stage
    from imac_builder.search.backend import SearchError

    write_songs_csv(tmp_path, SONGS)

    class Down:
        name, uses_quota = "ytdlp", False
        queries: list[str] = []

        def __init__(self, *a, **k):
            pass

        def search(self, query):
            Down.queries.append(query)
            raise SearchError("network: ConnectionError after 6 attempts")

        def units_per_search(self):
            return 0

        def close(self):
            pass

    monkeypatch.setattr(stage, "_make_searcher", lambda *a, **k: Down())
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "search", "--backend", "ytdlp"])
    assert res.exit_code == search_cli.FAILURES_STOP_EXIT != search_cli.QUOTA_STOP_EXIT != 0
    assert res.exit_code != 1  # not a user error either
    assert f"imac-build --workdir {tmp_path} search" in res.output
    assert len(Down.queries) == 5
    # the default rerun picks the five songs up again (and the three never tried)
    Down.queries.clear()
    runner.invoke(cli, ["--workdir", str(tmp_path), "search", "--backend", "ytdlp"])
    assert Down.queries[:5] == [f"Artist {i} Song {i}" for i in range(5)]
    doc = (REPO / "docs" / "search.md").read_text(encoding="utf-8") + \
        (REPO / "docs" / "scaling.md").read_text(encoding="utf-8")
    assert f"**{search_cli.FAILURES_STOP_EXIT}**" in doc and "**75**" in doc


def test_a_daily_quota_below_one_song_is_said_once_and_plainly(tmp_path, runner,
                                                              monkeypatch):
    from tagdata import write_songs_csv

    from imac_builder.cli import cli
    from imac_builder.status import workdir_status

    write_songs_csv(tmp_path, SONGS)
    monkeypatch.setenv("YOUTUBE_API_KEY", "AIza" + "Q" * 35)
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "search", "--backend", "api",
                              "--daily-quota", "50"])
    assert res.exit_code == 1, res.output
    line = res.output.strip()
    assert len(line.splitlines()) == 1 and "can never" in line and "--daily-quota" in line
    assert "run the same command again" not in line
    plan = "\n".join(workdir_status(tmp_path).plan_lines())
    assert "ytdlp backend" not in plan and "api backend" in plan and "50" in plan


# -------------------------------------------------------------------- 10: the list

def test_status_finds_releases_where_release_wrote_them(demo_small, tmp_path, monkeypatch):
    from imac_builder.config import ReleaseConfig
    from imac_builder.release import run_release
    from imac_builder.status import workdir_status

    w = copy_work(demo_small, tmp_path / "w")
    shutil.rmtree(w / "manifests")
    monkeypatch.chdir(tmp_path)
    # ./manifests by default
    run_release(w, config=ReleaseConfig(name="mine"), version="1.0.0", progress=False)
    assert (tmp_path / "manifests" / "mine-1.0.0").is_dir()
    s = workdir_status(w)
    assert "mine-1.0.0" in s.next_step and "everything is done" in s.next_step


def test_formats_page_lists_search_reasons_and_download_advice_agrees():
    from imac_builder import vocab
    from imac_builder.reference import formats_page

    page = formats_page()
    for word in vocab.SEARCH_REASONS:
        assert f"`{word}`" in page
    assert "--sleep" not in vocab.DOWNLOAD_STATUSES["rate_limited"].advice
    assert "--rate" in vocab.DOWNLOAD_STATUSES["rate_limited"].advice


def test_spectrogram_store_is_described_one_way():
    from imac_builder import tables

    assert "mel" not in tables.SPECTROGRAM_STORE.description
    for page in (REPO / "docs").glob("*.md"):
        text = page.read_text(encoding="utf-8")
        assert "log-mel spectrogram" not in text, page.name


def test_troubleshooting_quotes_real_messages_and_one_advice_for_unavailable():
    text = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    assert "quota exhausted" not in text
    assert "the YouTube API answered quotaExceeded" in text  # what youtube_api raises
    rows = [ln for ln in text.splitlines() if ln.startswith("|") and "`unavailable`" in ln]
    assert rows and all("search --rematch" in r and "--retry-failed" not in r for r in rows)


def test_images_retries_is_described_as_retries():
    from imac_builder.config import ImagesConfig

    text = ImagesConfig.help("retries")
    assert text.lower().startswith("retries") and not re.search(r"\btries per", text)


def test_every_option_has_help():
    import click

    from imac_builder.cli import cli

    bare = [f"{name} {'/'.join(p.opts)}" for name, cmd in cli.commands.items()
            for p in cmd.params
            if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()]
    assert bare == []


def test_failures_after_an_empty_rematch_list_the_song_once(tmp_path):
    from tagdata import write_songs_csv

    from imac_builder import tables
    from imac_builder.status import workdir_status

    tid = SONGS[0][0]
    wd = write_songs_csv(tmp_path, SONGS[:1])
    tables.write_table(tmp_path, tables.MATCHES, [(
        tid, "", "", "", "", "", "", "no_match",
        "no_candidates_left: all 1 stored candidates failed to download for good")])
    (tmp_path / "download").mkdir()
    with (tmp_path / "download" / "ledger.csv").open("w", encoding="utf-8") as fh:
        fh.write("track_id,video_id,status,reason,segments,attempts,updated\n"
                 f"{tid},gone0000001,unavailable,Video unavailable,0,1,2026-01-01\n")
    s = workdir_status(wd)
    assert [f.item.split()[0] for f in s.failures] == [tid]
    assert s.failures[0].stage == "search" and s.failures[0].word == "no_candidates_left"


def test_imac_scores_keeps_the_unreadable_row(demo_small, tmp_path):
    from imac_builder.tags.imac_scores import compare_imac_scores

    w = tmp_path / "w"
    (w / "tags").mkdir(parents=True)
    shutil.copy(demo_small / "tags" / "songs.csv", w / "tags")
    song = read_csv(w / "tags" / "songs.csv")[0]
    f = tmp_path / "scores.csv"
    f.write_text("song name,artist name,posScore,neuScore,negScore\n"
                 f"{song['title']},{song['artist_name']},3,1,0\n"
                 "Broken Song,Broken Artist,not-a-number,1,0\n", encoding="utf-8")
    s = compare_imac_scores(w, f, progress=False)
    rows = read_csv(w / "tags" / "imac_scores.csv")
    assert s.bad_rows == 1 and len(rows) == 2
    broken = next(r for r in rows if r["song_name"] == "Broken Song")
    assert broken["agree"] == "unreadable" and broken["track_id"] == ""


def test_status_after_the_demo_suggests_no_search(demo_small):
    from imac_builder.status import workdir_status

    s = workdir_status(demo_small)
    assert " search" not in s.next_step
    assert "songs_to_search" not in s.plan or s.plan["songs_to_search"] == 0
    search = next(x for x in s.stages if x.stage == "search")
    assert search.state == "done"


# --------------------------------------------------------- 11: doctor's disk estimate

def test_doctor_disk_counts_unsearched_songs(tmp_path):
    from tagdata import write_songs_csv

    from imac_builder.doctor import check_disk

    write_songs_csv(tmp_path, SONGS)
    c = check_disk(tmp_path)
    assert "8 songs" in c.detail and "not searched" in c.detail
    m = re.search(r"need about ([\d.]+) GB", c.detail)
    assert m and float(m.group(1)) > 0.2


# ------------------------------------------------------- the demo's music on every core

def test_shards_are_sized_to_the_work():
    from imac_builder.features.stage import SHARD_SIZE, fitted_shard_size

    assert fitted_shard_size(32, 30, 2, "local") == 15  # the demo: two shards, two cores
    assert fitted_shard_size(32, 9, 4, "local") == 3
    assert fitted_shard_size(32, 4000, 2, "local") == SHARD_SIZE["music"]  # real runs
    assert fitted_shard_size(32, 30, 1, "local") == 32
    assert fitted_shard_size(32, 30, 2, "dask") == 32


def test_the_demo_computes_music_on_every_core(demo_small):
    import math

    from imac_builder.cores import available_cores

    text = (demo_small / "demo-output.txt").read_text(encoding="utf-8")
    m = re.search(r"\[features\] music: (\d+) items in (\d+) shards", text)
    assert m, text
    items, shards = map(int, m.groups())
    jobs = available_cores()
    assert shards == math.ceil(items / math.ceil(items / jobs)) == min(items, jobs)
